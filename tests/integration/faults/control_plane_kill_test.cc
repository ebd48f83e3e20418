// The control plane killed with SIGKILL in the middle of a burst of writes:
// after a restart on the same database every write it acknowledged is there,
// and SQLite's own integrity check passes.
#include <signal.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/process.h"

namespace certgate {
namespace {

using ::certgate::testing::Authorize;
using ::certgate::testing::ControlPlaneProcess;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::NewTenant;
using ::certgate::testing::ReadFile;
using ::certgate::testing::RunCommand;
using ::certgate::testing::WaitFor;

constexpr int kWrites = 1000;
constexpr int kWriters = 4;
constexpr int kKillAfterAcks = 300;
constexpr char kZone[] = "burst.example";

class ControlPlaneKillTest : public ::testing::Test {
 protected:
  void StartControl() {
    std::string error;
    ASSERT_TRUE(control_.Start(&error)) << error;
    tenant_ = control_.Tenant();
  }

  void CreateTenantAndZone(const std::string& hostname = kZone) {
    token_ = NewTenant(control_, "burst");
    v1::CreateZoneRequest zone;
    zone.set_hostname(hostname);
    zone.set_origin("http://127.0.0.1:8080");
    v1::ZoneResponse zone_response;
    grpc::ClientContext zone_context;
    Authorize(&zone_context, token_);
    grpc::Status status = tenant_->CreateZone(&zone_context, zone, &zone_response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  ControlPlaneProcess control_{MakeTempDir("certgate-cp-kill")};
  std::unique_ptr<v1::TenantService::Stub> tenant_;
  std::string token_;
};

TEST_F(ControlPlaneKillTest, AcknowledgedWritesSurviveKill9MidBurst) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone());

  // Four writers revoke serials 1..1000 (each a committed change with its own
  // config version); the control plane is killed once 300 are acknowledged.
  absl::Mutex mu;
  std::set<std::string> acked;  // serials, as the API spells them
  std::atomic<int> acks{0};
  std::atomic<int> next{1};
  std::vector<std::thread> writers;
  std::shared_ptr<grpc::Channel> channel = control_.Channel();
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      auto stub = v1::TenantService::NewStub(channel);
      int i;
      while ((i = next.fetch_add(1)) <= kWrites) {
        v1::RevokeRequest request;
        request.set_hostname(kZone);
        request.set_serial_hex(absl::StrCat(absl::Hex(i)));
        v1::RevokeResponse response;
        grpc::ClientContext context;
        Authorize(&context, token_);
        if (!stub->Revoke(&context, request, &response).ok()) {
          return;  // the control plane is gone
        }
        absl::MutexLock lock(&mu);
        acked.insert(response.revocation().serial_hex());
        acks.fetch_add(1);
      }
    });
  }
  bool reached = WaitFor([&] { return acks.load() >= kKillAfterAcks; }, absl::Seconds(120));
  EXPECT_EQ(control_.Stop(SIGKILL), 128 + SIGKILL);
  for (std::thread& t : writers) {
    t.join();
  }
  ASSERT_TRUE(reached) << "only " << acks.load() << " writes acknowledged in 2 minutes";
  ASSERT_LT(acks.load(), kWrites) << "the kill came after the burst";

  // SQLite's own check of the file the killed process left (WAL included).
  auto integrity = RunCommand({"sqlite3", control_.db_path(), "PRAGMA integrity_check;"});
  ASSERT_EQ(integrity.exit_code, 0) << integrity.err;
  EXPECT_EQ(absl::StripAsciiWhitespace(integrity.out), "ok");

  ASSERT_NO_FATAL_FAILURE(StartControl());
  v1::ListRevocationsRequest list;
  list.set_hostname(kZone);
  v1::ListRevocationsResponse listed;
  grpc::ClientContext context;
  Authorize(&context, token_);
  grpc::Status status = tenant_->ListRevocations(&context, list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> stored;
  for (const v1::Revocation& revocation : listed.revocations()) {
    stored.insert(revocation.serial_hex());
  }
  absl::MutexLock lock(&mu);
  int missing = 0;
  for (const std::string& serial : acked) {
    if (stored.count(serial) == 0) {
      ++missing;
      ADD_FAILURE() << "acknowledged revocation of serial " << serial << " lost";
    }
  }
  EXPECT_EQ(missing, 0);
  // At most the writes in flight at the kill may have committed without an
  // acknowledgement.
  EXPECT_LE(stored.size(), acked.size() + kWriters);
  std::printf("%zu acknowledged before the kill, %zu stored after restart\n", acked.size(),
              stored.size());

  // The restarted control plane takes writes again.
  v1::RevokeRequest more;
  more.set_hostname(kZone);
  more.set_serial_hex("abcdef");
  v1::RevokeResponse more_response;
  grpc::ClientContext more_context;
  Authorize(&more_context, token_);
  status = tenant_->Revoke(&more_context, more, &more_response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Found by the upload_validation fuzz target: a server certificate whose
// dNSName SAN holds a byte that is not UTF-8 (0xA5) passes
// ValidateServerCertificate, lands in ServerCertificateInfo.dns_names (a
// proto3 string) inside the stored zone blob, and protobuf then refuses to
// parse that blob or any reply carrying it. The control plane now refuses
// DNS names that are not printable ASCII.
TEST_F(ControlPlaneKillTest, ServerCertificateWithNonUtf8DnsNameIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone("x.auth.pizza"));
  std::string input = ReadFile(std::string(CERTGATE_FUZZ_REGRESSIONS_DIR) +
                               "/upload_validation/server-certificate-non-utf8-dns-name");
  // The fuzz input: a selector byte, then chain, key and hostname.
  std::vector<std::string> parts = absl::StrSplit(input.substr(1), "\n%%%%\n");
  ASSERT_EQ(parts.size(), 3u);
  v1::SetServerCertificateRequest set;
  set.set_hostname("x.auth.pizza");
  set.set_chain_pem(parts[0]);
  set.set_key_pem(parts[1]);
  v1::ZoneResponse set_response;
  grpc::ClientContext set_context;
  Authorize(&set_context, token_);
  grpc::Status status = tenant_->SetServerCertificate(&set_context, set, &set_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  // Whatever the answer, the zone must still be readable.
  v1::GetZoneRequest get;
  get.set_hostname("x.auth.pizza");
  v1::ZoneResponse get_response;
  grpc::ClientContext get_context;
  Authorize(&get_context, token_);
  status = tenant_->GetZone(&get_context, get, &get_response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace certgate
