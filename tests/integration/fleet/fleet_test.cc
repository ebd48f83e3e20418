// End to end: one control plane, three edges, one origin, all real processes
// on loopback, driven through the gRPC API and checked with curl.
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/process.h"
#include "tests/support/test_network.h"
#include "tests/support/test_pki.h"

namespace certgate {
namespace {

using ::certgate::testing::Authorize;
using ::certgate::testing::BinPath;
using ::certgate::testing::ControlPlaneProcess;
using ::certgate::testing::FreePort;
using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
using ::certgate::testing::MakeLeaf;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::NewTenant;
using ::certgate::testing::ReadFile;
using ::certgate::testing::RunCommand;
using ::certgate::testing::Subprocess;
using ::certgate::testing::TestNetwork;
using ::certgate::testing::WaitFor;
using ::certgate::testing::WaitForPort;
using ::certgate::testing::WriteFile;

constexpr int kEdges = 3;

// A certificate authority and one device certificate, written as PEM files.
struct TestPki {
  std::string ca_pem;
  std::string device_cert;
  std::string device_key;
};

TestPki MakePki(const std::string& dir) {
  KeyAndCert ca = MakeCa("Fleet Devices CA");
  KeyAndCert device = MakeLeaf("device-7", ca);
  TestPki pki{dir + "/ca.pem", dir + "/device.pem", dir + "/device.key"};
  WriteFile(pki.ca_pem, ca.cert_pem());
  WriteFile(pki.device_cert, device.cert_pem());
  WriteFile(pki.device_key, device.key_pem(), 0600);
  return pki;
}

// FakeControlPlane answers every edge's Hello with a snapshot that cannot be
// applied (a server key that is not a key) and records what the edge answers.
class FakeControlPlane final : public v1::EdgeConfigService::Service {
 public:
  grpc::Status Subscribe(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControlMessage, v1::EdgeMessage>* stream) override {
    v1::EdgeMessage hello;
    if (!stream->Read(&hello) || !hello.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected hello");
    }
    v1::ControlMessage message;
    v1::Snapshot* snapshot = message.mutable_snapshot();
    snapshot->set_version(hello.hello().version() + 1000);
    v1::EdgeZone* zone = snapshot->add_zones();
    zone->set_id(424242);
    zone->set_hostname("auth.pizza");
    zone->set_mode(v1::MODE_REPORT);
    zone->set_origin("http://127.0.0.1:1");
    zone->set_server_chain_pem("-----BEGIN CERTIFICATE-----\nnot a certificate\n");
    zone->set_server_key_pem("not a key");
    zone->set_trust_version(1);
    // Listing the zone twice makes the message unreadable as a whole (a zone
    // that merely fails to build would be ACKed as a failure instead).
    *snapshot->add_zones() = *zone;
    stream->Write(message);
    v1::EdgeMessage answer;
    while (stream->Read(&answer)) {
      absl::MutexLock lock(&mu_);
      if (answer.has_nack()) {
        nacks_.push_back(answer.nack());
      }
      if (answer.has_ack()) {
        acks_.push_back(answer.ack().version());
      }
    }
    return grpc::Status::OK;
  }

  std::vector<v1::Nack> nacks() {
    absl::MutexLock lock(&mu_);
    return nacks_;
  }
  std::vector<uint64_t> acks() {
    absl::MutexLock lock(&mu_);
    return acks_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::Nack> nacks_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> acks_ ABSL_GUARDED_BY(mu_);
};

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-fleet");
    origin_port_ = FreePort();
    for (int i = 0; i < kEdges; ++i) {
      edge_ports_.push_back(FreePort());
      metrics_ports_.push_back(FreePort());
    }
    pki_ = MakePki(dir_);
  }

  // Where the control plane and the origin listen: the host side of the test
  // network, or loopback.
  std::string HostIp() const { return network_ ? network_->HostAddress() : "127.0.0.1"; }
  std::string EdgeIp(int i) const { return network_ ? network_->NodeAddress(i) : "127.0.0.1"; }

  // UseOwnNetworks puts every edge in its own network namespace with its own
  // address, where the test runs as root and `ip netns` works.
  void UseOwnNetworks() {
    network_ = TestNetwork::Create(kEdges);
    std::cout << "fleet network: "
              << (network_ ? "one network namespace per edge, host side " + HostIp()
                           : std::string("loopback ports (no netns here)"))
              << std::endl;
  }

  std::unique_ptr<Subprocess> StartOrigin() {
    auto origin = Subprocess::Start(
        {BinPath("certgate-echo-origin"), "--listen", absl::StrCat(HostIp(), ":", origin_port_)},
        dir_ + "/origin.log");
    EXPECT_TRUE(origin.ok()) << origin.status();
    EXPECT_TRUE(WaitForPort(HostIp(), origin_port_));
    return std::move(*origin);
  }

  // StartControl starts the control plane, or restarts it on the same
  // address and database.
  void StartControl() {
    if (control_ == nullptr) {
      // Made at the first start, after the test picked its network.
      // The origin listens on the host side (a private address with a
      // network): allow it besides loopback.
      control_ = std::make_unique<ControlPlaneProcess>(
          dir_, std::vector<std::string>{"--insecure", "--origin-allow", HostIp() + "/32"},
          HostIp());
    }
    std::string error;
    ASSERT_TRUE(control_->Start(&error)) << error;
    tenant_stub_ = control_->Tenant();
  }

  std::unique_ptr<Subprocess> StartEdge(int i, const std::string& control_address) {
    std::vector<std::string> argv = {BinPath("certgate-edge"),
                                     "--control",
                                     control_address,
                                     "--insecure",
                                     "--token-file",
                                     dir_ + "/edge.token",
                                     "--node-id",
                                     absl::StrCat("edge-", i + 1),
                                     "--listen",
                                     absl::StrCat(EdgeIp(i), ":", edge_ports_[i]),
                                     "--state-dir",
                                     absl::StrCat(dir_, "/edge-", i + 1),
                                     "--metrics-listen",
                                     absl::StrCat("127.0.0.1:", metrics_ports_[i]),
                                     "--workers",
                                     "1",
                                     "--origin-allow",
                                     "127.0.0.0/8",
                                     "--origin-allow",
                                     HostIp() + "/32"};
    if (network_) {
      argv = network_->Wrap(i, argv);
    }
    auto edge = Subprocess::Start(argv, absl::StrCat(dir_, "/edge-", i + 1, ".log"));
    EXPECT_TRUE(edge.ok()) << edge.status();
    EXPECT_TRUE(WaitForPort(EdgeIp(i), edge_ports_[i])) << (*edge)->ReadLog();
    return std::move(*edge);
  }

  // Creates the tenant and auth.pizza (enforce) with the test CA as its root.
  void SetUpTenant() {
    tenant_token_ = NewTenant(*control_, "fleet-pizza");

    v1::CreateZoneRequest zone;
    zone.set_hostname("auth.pizza");
    zone.set_origin(absl::StrCat("http://", HostIp(), ":", origin_port_));
    zone.set_mode(v1::MODE_ENFORCE);
    v1::ZoneResponse zone_response;
    grpc::ClientContext zone_context;
    Authorize(&zone_context, tenant_token_);
    grpc::Status status = tenant_stub_->CreateZone(&zone_context, zone, &zone_response);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::AddCaCertificatesRequest roots;
    roots.set_hostname("auth.pizza");
    roots.set_data(ReadFile(pki_.ca_pem));
    v1::AddCaCertificatesResponse roots_response;
    grpc::ClientContext roots_context;
    Authorize(&roots_context, tenant_token_);
    status = tenant_stub_->AddRoots(&roots_context, roots, &roots_response);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::GetEdgeCaResponse edge_ca;
    grpc::ClientContext ca_context;
    Authorize(&ca_context, tenant_token_);
    status = tenant_stub_->GetEdgeCa(&ca_context, v1::GetEdgeCaRequest(), &edge_ca);
    ASSERT_TRUE(status.ok()) << status.error_message();
    WriteFile(dir_ + "/edge-ca.pem", edge_ca.certificate_pem());
  }

  uint64_t SetMode(v1::Mode mode) {
    v1::UpdateZoneRequest request;
    request.set_hostname("auth.pizza");
    request.set_mode(mode);
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, tenant_token_);
    grpc::Status status = tenant_stub_->UpdateZone(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config_version();
  }

  v1::StatusResponse FleetStatus() {
    v1::StatusResponse response;
    grpc::ClientContext context;
    Authorize(&context, tenant_token_);
    grpc::Status status = tenant_stub_->GetStatus(&context, v1::GetStatusRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // AllEdgesAt: every edge acknowledged `version` (status says N of N).
  bool AllEdgesAt(uint64_t version, int edges = kEdges) {
    v1::StatusResponse status = FleetStatus();
    int at_version = 0;
    for (const auto& edge : status.edges()) {
      if (edge.acked_version() == version) {
        ++at_version;
      }
    }
    return status.config_version() == version && at_version == edges;
  }

  // Curl returns "<http code> <body>" for GET https://auth.pizza/ on edge i.
  std::string Curl(int i, bool with_certificate) {
    std::vector<std::string> argv = {
        "curl",       "-sS",
        "--max-time", "10",
        "--cacert",   dir_ + "/edge-ca.pem",
        "--resolve",  absl::StrCat("auth.pizza:", edge_ports_[i], ":", EdgeIp(i)),
        "-w",         " %{http_code}"};
    if (with_certificate) {
      argv.insert(argv.end(), {"--cert", pki_.device_cert, "--key", pki_.device_key});
    }
    argv.push_back(absl::StrCat("https://auth.pizza:", edge_ports_[i], "/"));
    auto result = RunCommand(argv);
    std::string out = result.out;
    size_t space = out.rfind(' ');
    if (result.exit_code != 0 || space == std::string::npos) {
      return absl::StrCat("curl failed (", result.exit_code, "): ", result.err);
    }
    return absl::StrCat(out.substr(space + 1), " ", out.substr(0, space));
  }

  bool Serves(int i, bool with_certificate, const std::string& code) {
    return Curl(i, with_certificate).rfind(code + " ", 0) == 0;
  }

  std::unique_ptr<TestNetwork> network_;  // declared first: torn down last
  std::string dir_;
  int origin_port_ = 0;
  std::vector<int> edge_ports_;
  std::vector<int> metrics_ports_;
  TestPki pki_;
  std::unique_ptr<ControlPlaneProcess> control_;
  std::unique_ptr<v1::TenantService::Stub> tenant_stub_;
  std::string tenant_token_;
};

TEST_F(FleetTest, ChangesReachEveryEdgeThroughControlPlaneAndEdgeRestarts) {
  UseOwnNetworks();
  ASSERT_NO_FATAL_FAILURE(StartControl());
  auto origin = StartOrigin();
  ASSERT_NO_FATAL_FAILURE(SetUpTenant());

  std::vector<std::unique_ptr<Subprocess>> edges;
  for (int i = 0; i < kEdges; ++i) {
    edges.push_back(StartEdge(i, control_->address()));
  }
  uint64_t version = FleetStatus().config_version();
  ASSERT_TRUE(WaitFor([&] { return AllEdgesAt(version); }, absl::Seconds(20)))
      << FleetStatus().DebugString();
  for (int i = 0; i < kEdges; ++i) {
    EXPECT_TRUE(Serves(i, /*with_certificate=*/true, "200")) << Curl(i, true);
    EXPECT_TRUE(Serves(i, /*with_certificate=*/false, "403")) << Curl(i, false);
  }

  // A change reaches all three: status 3/3 at the new version, and the new
  // mode is what every edge does.
  version = SetMode(v1::MODE_REPORT);
  ASSERT_TRUE(WaitFor([&] { return AllEdgesAt(version); }, absl::Seconds(10)))
      << FleetStatus().DebugString();
  for (int i = 0; i < kEdges; ++i) {
    EXPECT_TRUE(Serves(i, /*with_certificate=*/false, "200")) << Curl(i, false);
  }

  // The control plane killed: all three keep serving.
  control_->Stop(SIGKILL);
  for (int i = 0; i < kEdges; ++i) {
    EXPECT_TRUE(Serves(i, /*with_certificate=*/true, "200")) << Curl(i, true);
    EXPECT_TRUE(Serves(i, /*with_certificate=*/false, "200")) << Curl(i, false);
  }

  // Restarted on the same database: a change made now reaches all three.
  ASSERT_NO_FATAL_FAILURE(StartControl());
  version = SetMode(v1::MODE_ENFORCE);
  ASSERT_TRUE(WaitFor([&] { return AllEdgesAt(version); }, absl::Seconds(20)))
      << FleetStatus().DebugString();
  for (int i = 0; i < kEdges; ++i) {
    EXPECT_TRUE(Serves(i, /*with_certificate=*/false, "403")) << Curl(i, false);
  }

  // One edge killed; a change made while it is down; restarted, it rejoins
  // at the current version.
  edges[2]->Signal(SIGKILL);
  edges[2]->Wait();
  version = SetMode(v1::MODE_REPORT);
  ASSERT_TRUE(WaitFor(
      [&] {
        int running_at_version = 0;
        v1::StatusResponse status = FleetStatus();
        for (const auto& edge : status.edges()) {
          if (edge.node_id() != "edge-3" && edge.acked_version() == version) {
            ++running_at_version;
          }
        }
        return running_at_version == kEdges - 1;
      },
      absl::Seconds(10)));
  edges[2] = StartEdge(2, control_->address());
  ASSERT_TRUE(WaitFor([&] { return AllEdgesAt(version); }, absl::Seconds(20)))
      << FleetStatus().DebugString();
  EXPECT_TRUE(Serves(2, /*with_certificate=*/false, "200")) << Curl(2, false);
}

TEST_F(FleetTest, MalformedSnapshotIsNackedAndTheOldConfigKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  auto origin = StartOrigin();
  ASSERT_NO_FATAL_FAILURE(SetUpTenant());
  uint64_t version = FleetStatus().config_version();
  {
    auto edge = StartEdge(0, control_->address());
    ASSERT_TRUE(WaitFor([&] { return AllEdgesAt(version, 1); }, absl::Seconds(20)));
    ASSERT_TRUE(Serves(0, /*with_certificate=*/false, "403"));
  }

  // The same edge, restarted against a control plane that sends garbage.
  FakeControlPlane fake;
  int fake_port = FreePort();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", fake_port),
                           grpc::InsecureServerCredentials());
  builder.RegisterService(&fake);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto edge = StartEdge(0, absl::StrCat("127.0.0.1:", fake_port));
  ASSERT_TRUE(WaitFor([&] { return !fake.nacks().empty(); }, absl::Seconds(20))) << edge->ReadLog();
  v1::Nack nack = fake.nacks().front();
  EXPECT_EQ(nack.version(), version + 1000);
  EXPECT_EQ(nack.error(), "snapshot lists zone id 424242 twice");
  EXPECT_TRUE(fake.acks().empty());
  // Still the old config (enforce, from the state dir): no certificate, 403;
  // the device certificate, 200.
  EXPECT_TRUE(Serves(0, /*with_certificate=*/false, "403")) << Curl(0, false);
  EXPECT_TRUE(Serves(0, /*with_certificate=*/true, "200")) << Curl(0, true);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace certgate

namespace certgate {
namespace {

// Issue 5's promise: a device keeps its private key. `openssl req -new` makes
// the key and CSR, `certgate pki sign-csr` signs it, and the certificate gets
// through an edge.
TEST_F(FleetTest, CertificateFromSignCsrWorksThroughAnEdge) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  auto origin = StartOrigin();
  ASSERT_NO_FATAL_FAILURE(SetUpTenant());

  const std::string ca_dir = dir_ + "/cli-ca";
  auto init = RunCommand(
      {BinPath("certgate"), "pki", "init-ca", "--cn", "CLI Devices CA", "--out", ca_dir});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto req = RunCommand({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir_ + "/csr-device.key",
                         "-subj", "/CN=csr-device-9", "-out", dir_ + "/csr-device.csr"});
  ASSERT_EQ(req.exit_code, 0) << req.err;
  auto sign = RunCommand({BinPath("certgate"), "pki", "sign-csr", "--ca", ca_dir, "--csr",
                          dir_ + "/csr-device.csr", "--out", dir_ + "/csr-device"});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;

  v1::AddCaCertificatesRequest roots;
  roots.set_hostname("auth.pizza");
  roots.set_data(ReadFile(ca_dir + "/ca.pem"));
  v1::AddCaCertificatesResponse roots_response;
  grpc::ClientContext context;
  Authorize(&context, tenant_token_);
  grpc::Status status = tenant_stub_->AddRoots(&context, roots, &roots_response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  auto edge = StartEdge(0, control_->address());
  ASSERT_TRUE(
      WaitFor([&] { return AllEdgesAt(roots_response.config_version(), 1); }, absl::Seconds(20)));
  auto curl =
      RunCommand({"curl", "-sS", "--max-time", "10", "--cacert", dir_ + "/edge-ca.pem", "--resolve",
                  absl::StrCat("auth.pizza:", edge_ports_[0], ":127.0.0.1"), "--cert",
                  dir_ + "/csr-device/cert.pem", "--key", dir_ + "/csr-device.key", "-w",
                  " %{http_code}", absl::StrCat("https://auth.pizza:", edge_ports_[0], "/")});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_NE(curl.out.find("\"X-Client-Cert-Status\":\"valid\""), std::string::npos) << curl.out;
  EXPECT_EQ(curl.out.substr(curl.out.size() - 3), "200") << curl.out;
}

}  // namespace
}  // namespace certgate
