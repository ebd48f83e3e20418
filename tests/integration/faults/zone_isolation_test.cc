// A zone that fails to build breaks only itself: real certgate-edge
// processes fed by the in-process fake control plane, which sends what a
// real control plane refuses at upload (a DSA server key), with curl as the
// client. Also the bound on config message size.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "openssl/dsa.h"
#include "openssl/evp.h"
#include "tests/integration/faults/edge_process.h"
#include "tests/integration/faults/fake_control_plane.h"
#include "tests/integration/faults/test_origin.h"
#include "tests/support/process.h"

namespace certgate::faults {
namespace {

using ::certgate::testing::FreePort;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::RunCommand;
using ::certgate::testing::WaitFor;
using ::certgate::testing::WriteFile;

constexpr char kShop[] = "shop.auth.pizza";  // another tenant's zone
constexpr char kEvil[] = "evil.auth.pizza";  // the unbuildable one
constexpr char kKeep[] = "keep.auth.pizza";
constexpr uint64_t kShopId = 1;
constexpr uint64_t kEvilId = 2;
constexpr uint64_t kKeepId = 3;

// DsaServer: a DSA key and a certificate for it from the fault CA. The edge's
// TLS stack cannot serve it (BoringSSL: UNKNOWN_CERTIFICATE_TYPE).
struct DsaServer {
  std::string chain_pem;
  std::string key_pem;
};

DsaServer MakeDsaServer(const std::string& hostname) {
  bssl::UniquePtr<DSA> dsa(DSA_new());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  DsaServer out;
  if (!dsa || !DSA_generate_parameters_ex(dsa.get(), 2048, nullptr, 0, nullptr, nullptr, nullptr) ||
      !DSA_generate_key(dsa.get()) || !EVP_PKEY_assign_DSA(key.get(), dsa.release())) {
    ADD_FAILURE() << "cannot make a DSA key";
    return out;
  }
  const FaultPki& pki = GetFaultPki();
  CertificateSpec spec;
  spec.common_name = hostname;
  spec.dns_names = {hostname};
  spec.server_auth = true;
  auto cert = IssueCertificate(spec, key.get(), pki.ca.get(), pki.ca_key.get());
  if (!cert.ok()) {
    ADD_FAILURE() << cert.status();
    return out;
  }
  out.chain_pem = CertificateToPem(cert->get());
  out.key_pem = PrivateKeyToPem(key.get());
  return out;
}

const DsaServer& Dsa() {
  static const DsaServer* const kDsa = new DsaServer(MakeDsaServer(kEvil));
  return *kDsa;
}

// Device: a client certificate from the fault CA, written for curl.
struct Device {
  std::string cert_path;
  std::string key_path;
  std::string serial_hex;
};

Device MakeDevice(const std::string& dir, const std::string& name) {
  const FaultPki& pki = GetFaultPki();
  auto key = GenerateKey(KeyType::kEcP256);
  CertificateSpec spec;
  spec.common_name = name;
  spec.client_auth = true;
  auto cert = IssueCertificate(spec, key->get(), pki.ca.get(), pki.ca_key.get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  Device device;
  device.cert_path = absl::StrCat(dir, "/", name, ".pem");
  device.key_path = absl::StrCat(dir, "/", name, ".key");
  WriteFile(device.cert_path, CertificateToPem(cert->get()), 0600);
  WriteFile(device.key_path, PrivateKeyToPem(key->get()), 0600);
  device.serial_hex = SerialHex(cert->get());
  return device;
}

// Curl: the status `port` answers for https://host/ with `device`'s
// certificate (null: none); 0 when no response (the handshake failed).
int Curl(int port, const std::string& host, const Device* device) {
  std::vector<std::string> argv = {
      "curl",      "-sk", "--max-time",   "5",         "-o",
      "/dev/null", "-w",  "%{http_code}", "--resolve", absl::StrCat(host, ":", port, ":127.0.0.1")};
  if (device != nullptr) {
    argv.insert(argv.end(), {"--cert", device->cert_path, "--key", device->key_path});
  }
  argv.push_back(absl::StrCat("https://", host, ":", port, "/"));
  int status = 0;
  return absl::SimpleAtoi(RunCommand(argv).out, &status) ? status : 0;
}

class ZoneIsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-zone-isolation");
    auto origin = TestOrigin::Start(TestOrigin::Behavior::kEcho);
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = std::move(*origin);
    control_port_ = FreePort();
    ASSERT_TRUE(control_.Start(control_port_));
  }

  void TearDown() override {
    edges_.clear();
    control_.Stop();
  }

  v1::EdgeZone Zone(uint64_t id, const std::string& hostname, v1::Mode mode) {
    return MakeZone(id, hostname, mode, origin_->port());
  }

  v1::EdgeZone EvilZone(uint64_t id, const std::string& hostname, v1::Mode mode) {
    v1::EdgeZone zone = Zone(id, hostname, mode);
    zone.set_server_chain_pem(Dsa().chain_pem);
    zone.set_server_key_pem(Dsa().key_pem);
    zone.set_tenant_id("tenant-evil");
    return zone;
  }

  // StartEdge: one more edge, with a directory (log, state) of its own.
  EdgeProcess* StartEdge(const std::vector<std::string>& flags = {}) {
    std::string dir = absl::StrCat(dir_, "/edge-", edges_.size() + 1);
    testing::RunCommand({"mkdir", "-p", dir});
    auto edge =
        EdgeProcess::Start(dir, absl::StrCat("127.0.0.1:", control_port_), dir + "/state", flags);
    EXPECT_TRUE(edge.ok()) << edge.status();
    if (!edge.ok()) {
      return nullptr;
    }
    edges_.push_back(std::move(*edge));
    return edges_.back().get();
  }

  // LastAck: the latest Ack for `version`, or an empty one.
  v1::Ack LastAck(uint64_t version) {
    v1::Ack found;
    for (const v1::Ack& ack : control_.ack_messages()) {
      if (ack.version() == version) {
        found = ack;
      }
    }
    return found;
  }

  std::string dir_;
  int control_port_ = 0;
  FakeControlPlane control_;
  std::unique_ptr<TestOrigin> origin_;
  std::vector<std::unique_ptr<EdgeProcess>> edges_;
};

TEST_F(ZoneIsolationTest, AnUnbuildableZoneNeitherStopsARevocationNorANewEdge) {
  ASSERT_FALSE(Dsa().key_pem.empty());
  Device stolen = MakeDevice(dir_, "stolen");
  Device kept = MakeDevice(dir_, "kept");

  v1::Snapshot first;
  first.set_version(1);
  *first.add_zones() = Zone(kShopId, kShop, v1::MODE_ENFORCE);
  *first.add_zones() = EvilZone(kEvilId, kEvil, v1::MODE_ENFORCE);
  control_.Publish(first);
  std::vector<EdgeProcess*> edges = {StartEdge(), StartEdge()};
  for (EdgeProcess* edge : edges) {
    ASSERT_NE(edge, nullptr);
    ASSERT_TRUE(edge->WaitForVersion(1)) << edge->ReadLog();
    EXPECT_EQ(Curl(edge->port(), kShop, &stolen), 200);
    EXPECT_EQ(Curl(edge->port(), kEvil, nullptr), 0) << "the DSA zone is not served";
    EXPECT_EQ(edge->Metric("certgate_zones_failed"), 1);
    EXPECT_EQ(edge->Metric("certgate_zone_build_failures_total"), 1);
    EXPECT_TRUE(absl::StrContains(edge->ReadLog(), absl::StrCat("zone \"", kEvil, "\"")))
        << edge->ReadLog();
  }
  v1::Ack ack = LastAck(1);
  ASSERT_EQ(ack.failures_size(), 1) << ack.DebugString();
  EXPECT_EQ(ack.failures(0).zone_id(), kEvilId);
  EXPECT_TRUE(absl::StrContains(ack.failures(0).error(), "DSA")) << ack.failures(0).error();
  EXPECT_TRUE(control_.nacks().empty());

  // The shop's tenant revokes the stolen device, as a delta: the evil zone
  // is still in the config, and still unbuildable.
  v1::ControlMessage delta;
  delta.mutable_delta()->set_from_version(1);
  delta.mutable_delta()->set_version(2);
  v1::EdgeZone revoked = Zone(kShopId, kShop, v1::MODE_ENFORCE);
  revoked.add_revoked()->set_serial_hex(stolen.serial_hex);
  revoked.set_trust_version(2);
  *delta.mutable_delta()->add_upserted() = revoked;
  absl::Time published = absl::Now();
  control_.PublishMessage(delta);
  for (EdgeProcess* edge : edges) {
    ASSERT_TRUE(
        WaitFor([&] { return Curl(edge->port(), kShop, &stolen) == 403; }, absl::Seconds(5)))
        << edge->ReadLog();
  }
  absl::Duration reached = absl::Now() - published;
  std::printf("revocation refused on both edges %.0f ms after it was sent\n",
              absl::ToDoubleMilliseconds(reached));
  EXPECT_LT(reached, absl::Seconds(1));
  for (EdgeProcess* edge : edges) {
    EXPECT_EQ(Curl(edge->port(), kShop, &kept), 200);
    EXPECT_EQ(edge->Metric("certgate_zones_failed"), 1) << "still reported after the delta";
  }
  ASSERT_TRUE(WaitFor([&] { return LastAck(2).version() == 2; }, absl::Seconds(5)));
  EXPECT_EQ(LastAck(2).failures_size(), 1);

  // A brand-new edge gets the whole version 2 and serves every other zone.
  v1::Snapshot second;
  second.set_version(2);
  *second.add_zones() = revoked;
  *second.add_zones() = EvilZone(kEvilId, kEvil, v1::MODE_ENFORCE);
  control_.Publish(second);
  EdgeProcess* fresh = StartEdge();
  ASSERT_NE(fresh, nullptr);
  ASSERT_TRUE(fresh->WaitForVersion(2)) << fresh->ReadLog();
  EXPECT_EQ(Curl(fresh->port(), kShop, &kept), 200);
  EXPECT_EQ(Curl(fresh->port(), kShop, &stolen), 403);
  EXPECT_EQ(Curl(fresh->port(), kShop, nullptr), 403);
  EXPECT_EQ(Curl(fresh->port(), kEvil, nullptr), 0);
  EXPECT_EQ(fresh->Metric("certgate_zones_failed"), 1);
  EXPECT_TRUE(control_.nacks().empty());
}

TEST_F(ZoneIsolationTest, AZoneThatStopsBuildingKeepsItsLastGoodBuildAcrossARestart) {
  v1::Snapshot first;
  first.set_version(1);
  *first.add_zones() = Zone(kShopId, kShop, v1::MODE_REPORT);
  *first.add_zones() = Zone(kKeepId, kKeep, v1::MODE_REPORT);
  control_.Publish(first);
  EdgeProcess* edge = StartEdge();
  ASSERT_NE(edge, nullptr);
  ASSERT_TRUE(edge->WaitForVersion(1)) << edge->ReadLog();
  EXPECT_EQ(Curl(edge->port(), kKeep, nullptr), 200);  // report mode: no certificate needed

  // Version 2 turns keep.auth.pizza enforce with a DSA key, and the shop
  // enforce: the shop changes, keep.auth.pizza stays as it was.
  v1::Snapshot second;
  second.set_version(2);
  *second.add_zones() = Zone(kShopId, kShop, v1::MODE_ENFORCE);
  *second.add_zones() = EvilZone(kKeepId, kKeep, v1::MODE_ENFORCE);
  control_.Publish(second);
  ASSERT_TRUE(edge->WaitForVersion(2)) << edge->ReadLog();
  EXPECT_EQ(Curl(edge->port(), kShop, nullptr), 403);
  EXPECT_EQ(Curl(edge->port(), kKeep, nullptr), 200) << "the last good build serves";
  ASSERT_TRUE(WaitFor([&] { return LastAck(2).version() == 2; }, absl::Seconds(5)));
  ASSERT_EQ(LastAck(2).failures_size(), 1);
  EXPECT_EQ(LastAck(2).failures(0).zone_id(), kKeepId);

  // Restarted from its state file, the edge serves and reports the same.
  size_t hellos = control_.hellos().size();
  edges_.clear();
  edge = StartEdge();
  ASSERT_NE(edge, nullptr);
  ASSERT_TRUE(edge->WaitForVersion(2)) << edge->ReadLog();
  EXPECT_EQ(Curl(edge->port(), kKeep, nullptr), 200);
  EXPECT_EQ(Curl(edge->port(), kShop, nullptr), 403);
  EXPECT_EQ(edge->Metric("certgate_zones_failed"), 1);
  ASSERT_TRUE(WaitFor([&] { return control_.hellos().size() > hellos; }, absl::Seconds(10)));
  v1::Hello hello = control_.hellos().back();
  EXPECT_EQ(hello.version(), 2u);
  ASSERT_EQ(hello.failures_size(), 1);
  EXPECT_EQ(hello.failures(0).zone_id(), kKeepId);
  EXPECT_TRUE(absl::StrContains(hello.failures(0).error(), "DSA")) << hello.failures(0).error();
}

TEST_F(ZoneIsolationTest, AConfigMessageAboveTheSizeBoundIsRefusedBeforeItIsRead) {
  v1::Snapshot small;
  small.set_version(1);
  *small.add_zones() = Zone(kShopId, kShop, v1::MODE_REPORT);
  control_.Publish(small);
  EdgeProcess* edge = StartEdge({"--max-config-message-bytes", "65536"});
  ASSERT_NE(edge, nullptr);
  ASSERT_TRUE(edge->WaitForVersion(1)) << edge->ReadLog();

  v1::Snapshot big;
  big.set_version(2);
  *big.add_zones() = Zone(kShopId, kShop, v1::MODE_ENFORCE);
  for (int i = 0; i < 100; ++i) {
    *big.add_zones() = Zone(100 + i, absl::StrCat("z", i, ".auth.pizza"), v1::MODE_REPORT);
  }
  ASSERT_GT(big.ByteSizeLong(), 65536u * 2);
  control_.Publish(big);
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(edge->ReadLog(),
                                 "exceeded the limit of 65536 bytes (--max-config-message-bytes)");
      },
      absl::Seconds(10)))
      << edge->ReadLog();
  // Nothing of it applied; the held version serves; no ACK for it.
  EXPECT_EQ(edge->Metric("certgate_config_version"), 1);
  EXPECT_EQ(Curl(edge->port(), kShop, nullptr), 200);
  for (uint64_t acked : control_.acks()) {
    EXPECT_NE(acked, 2u);
  }

  // A message within the bound is taken again once the edge reconnects.
  v1::Snapshot next;
  next.set_version(3);
  *next.add_zones() = Zone(kShopId, kShop, v1::MODE_ENFORCE);
  control_.Publish(next);
  ASSERT_TRUE(edge->WaitForVersion(3)) << edge->ReadLog();
  EXPECT_EQ(Curl(edge->port(), kShop, nullptr), 403);
}

}  // namespace
}  // namespace certgate::faults
