// Hostname ownership against real processes: certgate-control verifying
// hostnames against a local DNS server (dnsmasq on loopback), a real
// certgate-edge, curl and the certgate CLI. A new zone is pending (not
// served, no certificate) until DNS holds its challenge or an admin approves
// it; a hostile tenant can neither take over nor block a verified name.
#include <signal.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/cli/cli_runner.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/local_dns_server.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

using grpc::StatusCode;

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

class HostnameVerificationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!LocalDnsServer::Available()) {
      GTEST_SKIP() << "dnsmasq is not installed (deploy/install-deps.sh installs it)";
    }
    dir_ = MakeTempDir("cp-hostnames");
    dns_ = std::make_unique<LocalDnsServer>(dir_);
    std::string error;
    ASSERT_TRUE(dns_->SetTxtRecords({}, &error)) << error;
    cli_ = std::make_unique<CliRunner>(dir_);
  }

  void TearDown() override {
    if (edge_ != nullptr) {
      edge_->Signal(SIGTERM);
      edge_->Wait();
    }
    if (control_ != nullptr) {
      control_->Stop(SIGTERM);
    }
  }

  // StartControl: certgate-control asking the local DNS server, with `mode`.
  void StartControl(const std::string& mode, std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--insecure",    "--verify-hostnames", mode, "--dns-server",
                                      dns_->address(), "--dns-timeout",      "5"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    control_ = std::make_unique<ControlPlaneProcess>(dir_, flags);
    std::string error;
    ASSERT_TRUE(control_->Start(&error)) << error;
    owner_ = NewTenant(*control_, "owner");
    hostile_ = NewTenant(*control_, "hostile");
  }

  // StartEdge (re)starts the edge as a new node with empty state, so it
  // starts from a full snapshot.
  void StartEdge() {
    if (edge_ != nullptr) {
      edge_->Signal(SIGTERM);
      edge_->Wait();
    }
    edge_port_ = FreePort();
    edge_node_ = absl::StrCat("edge-", ++edge_starts_);
    auto process =
        Subprocess::Start({BinPath("certgate-edge"), "--control", control_->address(),
                           "--token-file", dir_ + "/edge.token", "--node-id", edge_node_,
                           "--listen", absl::StrCat("127.0.0.1:", edge_port_), "--state-dir",
                           dir_ + "/" + edge_node_, "--metrics-listen",
                           absl::StrCat("127.0.0.1:", FreePort()), "--insecure", "--workers", "1"},
                          dir_ + "/" + edge_node_ + ".log");
    ASSERT_TRUE(process.ok()) << process.status();
    edge_ = std::move(*process);
    ASSERT_TRUE(WaitFor([&] { return absl::StrContains(edge_->ReadLog(), "listening on"); },
                        absl::Seconds(20)))
        << edge_->ReadLog();
  }

  // EdgeHolds: the edge acknowledged the current config version.
  bool EdgeHolds() {
    uint64_t want = ConfigVersion(*control_);
    return WaitFor(
        [&] {
          grpc::ClientContext context;
          Authorize(&context, control_->admin_token());
          v1::StatusResponse status;
          if (!control_->Admin()
                   ->GetFleetStatus(&context, v1::GetFleetStatusRequest(), &status)
                   .ok()) {
            return false;
          }
          for (const v1::EdgeStatus& edge : status.edges()) {
            if (edge.node_id() == edge_node_ && edge.acked_version() >= want) {
              return true;
            }
          }
          return false;
        },
        absl::Seconds(20));
  }

  // Curl: GET https://host/ through the edge (no client certificate: a
  // served enforce-mode zone answers 403 itself).
  CommandResult Curl(const std::string& host) {
    std::string port = std::to_string(edge_port_);
    return RunCommand({"curl", "-sSk", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
                       "--resolve", host + ":" + port + ":127.0.0.1",
                       "https://" + host + ":" + port + "/"});
  }

  // Cli runs `certgate args... --server --token --insecure`.
  CommandResult Cli(const std::string& token, std::vector<std::string> args) {
    args.insert(args.end(), {"--server", control_->address(), "--token", token, "--insecure"});
    return cli_->Run(args);
  }

  v1::Zone Create(const std::string& token, const std::string& host) {
    CommandResult created =
        Cli(token, {"zone", "create", host, "--origin", "http://127.0.0.1:9", "--json"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    return ParseJson<v1::ZoneResponse>(created.out).zone();
  }

  grpc::Status Get(const std::string& token, const std::string& host, v1::Zone* zone) {
    grpc::ClientContext context;
    Authorize(&context, token);
    v1::GetZoneRequest request;
    request.set_hostname(host);
    v1::ZoneResponse response;
    grpc::Status status = control_->Tenant()->GetZone(&context, request, &response);
    *zone = response.zone();
    return status;
  }

  void SetTxt(const std::vector<std::pair<std::string, std::string>>& records) {
    std::string error;
    ASSERT_TRUE(dns_->SetTxtRecords(records, &error)) << error;
  }

  std::string dir_;
  std::unique_ptr<LocalDnsServer> dns_;
  std::unique_ptr<CliRunner> cli_;
  std::unique_ptr<ControlPlaneProcess> control_;
  std::unique_ptr<Subprocess> edge_;
  int edge_port_ = 0;
  int edge_starts_ = 0;
  std::string edge_node_;
  std::string owner_;
  std::string hostile_;
};

TEST_F(HostnameVerificationTest, PendingZoneIsNotServedUntilItsTxtRecordHoldsTheValue) {
  StartControl("dns");
  StartEdge();

  // zone create prints the state and the record to publish.
  CommandResult created =
      Cli(owner_, {"zone", "create", "x.test", "--origin", "http://127.0.0.1:9"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(absl::StrContains(created.out, "pending")) << created.out;
  EXPECT_TRUE(absl::StrContains(created.out, "_certgate-challenge.x.test")) << created.out;
  CommandResult shown = Cli(owner_, {"zone", "show", "x.test", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  v1::Zone zone = ParseJson<v1::ZoneResponse>(shown.out).zone();
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_PENDING);
  EXPECT_EQ(zone.challenge().record_name(), "_certgate-challenge.x.test");
  EXPECT_EQ(zone.challenge().record_type(), "TXT");
  const std::string value = zone.challenge().value();
  EXPECT_GE(value.size(), 32u);
  EXPECT_TRUE(absl::StrContains(created.out, value)) << created.out;
  CommandResult human = Cli(owner_, {"zone", "show", "x.test"});
  EXPECT_TRUE(absl::StrContains(human.out, value)) << human.out;
  EXPECT_TRUE(absl::StrContains(human.out, "certgate zone verify x.test")) << human.out;
  // No certificate issued for a name nobody proved.
  EXPECT_TRUE(zone.server_certificate().chain_pem().empty());
  // Asking for the edge-CA certificate again issues nothing either.
  CommandResult reset = Cli(owner_, {"cert", "reset", "x.test"});
  EXPECT_EQ(reset.exit_code, 0) << reset.err;
  ASSERT_TRUE(Get(owner_, "x.test", &zone).ok());
  EXPECT_TRUE(zone.server_certificate().chain_pem().empty());
  // Nor an origin client certificate (the edge CA would vouch for x.test to
  // origins): refused with one line, and none appears.
  EXPECT_TRUE(zone.origin_client_certificate().chain_pem().empty());
  CommandResult origin_reset = Cli(owner_, {"origin-cert", "reset", "x.test"});
  EXPECT_EQ(origin_reset.exit_code, 1) << origin_reset.out;
  EXPECT_TRUE(IsOneErrorLine(origin_reset.err)) << origin_reset.err;
  EXPECT_TRUE(absl::StrContains(origin_reset.err, "pending")) << origin_reset.err;
  ASSERT_TRUE(Get(owner_, "x.test", &zone).ok());
  EXPECT_TRUE(zone.origin_client_certificate().chain_pem().empty());
  // The tenant may upload its own certificate meanwhile: the zone is then
  // complete, and only its state keeps it off the edges.
  ASSERT_EQ(cli_->Run({"pki", "init-ca", "--cn", "Owner CA", "--out", dir_ + "/ca"}).exit_code, 0);
  ASSERT_EQ(cli_->Run({"pki", "issue", "--ca", dir_ + "/ca", "--cn", "x.test", "--san-dns",
                       "x.test", "--server-auth", "--out", dir_ + "/server"})
                .exit_code,
            0);
  CommandResult uploaded =
      Cli(owner_, {"cert", "set", "x.test", "--cert", dir_ + "/server/chain.pem", "--key",
                   dir_ + "/server/key.pem"});
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.err;

  // The edge holds the version with the zone in it and still does not serve it.
  ASSERT_TRUE(EdgeHolds());
  CommandResult refused = Curl("x.test");
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_EQ(refused.out, "000");
  EXPECT_TRUE(absl::StrContains(refused.err, "unrecognized name")) << refused.err;
  // Nor does a new edge, which starts from a full snapshot.
  StartEdge();
  ASSERT_TRUE(EdgeHolds());
  refused = Curl("x.test");
  EXPECT_EQ(refused.out, "000");
  EXPECT_TRUE(absl::StrContains(refused.err, "unrecognized name")) << refused.err;

  // No record: verify says so, and the zone stays pending.
  CommandResult none = Cli(owner_, {"zone", "verify", "x.test"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(none.err)) << none.err;
  EXPECT_TRUE(absl::StrContains(none.err, "no TXT record at _certgate-challenge.x.test"))
      << none.err;

  // A wrong value (another tenant's, a stale one): refused, naming what it found.
  SetTxt({{"_certgate-challenge.x.test", "not-the-value"}});
  CommandResult wrong = Cli(owner_, {"zone", "verify", "x.test"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(wrong.err)) << wrong.err;
  EXPECT_TRUE(absl::StrContains(wrong.err, "holds \"not-the-value\"")) << wrong.err;
  ASSERT_TRUE(Get(owner_, "x.test", &zone).ok());
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_PENDING);

  // The right value: active, served by the edge with the uploaded certificate.
  SetTxt({{"_certgate-challenge.x.test", "not-the-value"}, {"_certgate-challenge.x.test", value}});
  CommandResult verified = Cli(owner_, {"zone", "verify", "x.test"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_TRUE(absl::StrContains(verified.out, "active")) << verified.out;
  ASSERT_TRUE(Get(owner_, "x.test", &zone).ok());
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_ACTIVE);
  EXPECT_EQ(zone.verified_by(), "dns");
  EXPECT_GT(zone.verified_unix(), 0);
  EXPECT_FALSE(zone.server_certificate().issued_by_edge_ca());
  // Proved: now the edge CA issues its origin client certificate.
  EXPECT_TRUE(zone.origin_client_certificate().issued_by_edge_ca());
  EXPECT_FALSE(zone.origin_client_certificate().chain_pem().empty());
  ASSERT_TRUE(EdgeHolds());
  CommandResult served = Curl("x.test");
  EXPECT_EQ(served.out, "403") << served.err;
}

TEST_F(HostnameVerificationTest, WildcardChallengeIsAtItsParentAndADnsFailureIsNamed) {
  StartControl("dns");
  StartEdge();
  v1::Zone zone = Create(owner_, "*.wild.test");
  EXPECT_EQ(zone.challenge().record_name(), "_certgate-challenge.wild.test");
  // The record at the wildcard's own name does not count.
  SetTxt({{"_certgate-challenge.a.wild.test", zone.challenge().value()}});
  CommandResult misplaced = Cli(owner_, {"zone", "verify", "*.wild.test"});
  EXPECT_EQ(misplaced.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(misplaced.err, "_certgate-challenge.wild.test")) << misplaced.err;

  SetTxt({{"_certgate-challenge.wild.test", zone.challenge().value()}});
  ASSERT_EQ(Cli(owner_, {"zone", "verify", "*.wild.test"}).exit_code, 0);
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("a.wild.test").out, "403");

  // A DNS server that does not answer: the error says the lookup failed.
  v1::Zone other = Create(owner_, "y.test");
  dns_->Stop();
  CommandResult failed = Cli(owner_, {"zone", "verify", "y.test"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(failed.err)) << failed.err;
  EXPECT_TRUE(absl::StrContains(failed.err, "DNS lookup of TXT _certgate-challenge.y.test failed"))
      << failed.err;
  ASSERT_TRUE(Get(owner_, "y.test", &other).ok());
  EXPECT_EQ(other.state(), v1::ZONE_STATE_PENDING);
}

TEST_F(HostnameVerificationTest, PeriodicRecheckActivatesAPendingZoneWithoutACall) {
  StartControl("dns", {"--verify-interval", "0.5"});
  StartEdge();
  v1::Zone zone = Create(owner_, "later.test");
  ASSERT_EQ(zone.state(), v1::ZONE_STATE_PENDING);
  SetTxt({{"_certgate-challenge.later.test", zone.challenge().value()}});
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::Zone now;
        return Get(owner_, "later.test", &now).ok() && now.state() == v1::ZONE_STATE_ACTIVE;
      },
      absl::Seconds(30)))
      << control_->log();
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("later.test").out, "403");
}

TEST_F(HostnameVerificationTest, AdminApprovalNeedsTheAdminToken) {
  StartControl("dns");
  StartEdge();
  Create(owner_, "approved.test");

  // A tenant token cannot approve, not even its own zone.
  CommandResult as_tenant = Cli(owner_, {"admin", "zone", "approve", "approved.test"});
  EXPECT_EQ(as_tenant.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(as_tenant.err)) << as_tenant.err;
  v1::Zone zone;
  ASSERT_TRUE(Get(owner_, "approved.test", &zone).ok());
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_PENDING);

  CommandResult listed = Cli(control_->admin_token(), {"admin", "zone", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(absl::StrContains(listed.out, "approved.test")) << listed.out;
  EXPECT_TRUE(absl::StrContains(listed.out, "owner")) << listed.out;

  CommandResult approved =
      Cli(control_->admin_token(), {"admin", "zone", "approve", "approved.test"});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  ASSERT_TRUE(Get(owner_, "approved.test", &zone).ok());
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_ACTIVE);
  EXPECT_EQ(zone.verified_by(), "admin");
  // The edge CA signs only now that the name is approved.
  EXPECT_FALSE(zone.server_certificate().chain_pem().empty());
  EXPECT_TRUE(zone.server_certificate().issued_by_edge_ca());
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("approved.test").out, "403");
}

TEST_F(HostnameVerificationTest, AdminModeTakesNoDnsProof) {
  StartControl("admin");
  StartEdge();
  v1::Zone zone = Create(owner_, "manual.test");
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_PENDING);
  EXPECT_TRUE(zone.challenge().record_name().empty());
  // Even a TXT record holding the value does not activate it.
  SetTxt({{"_certgate-challenge.manual.test", "whatever"}});
  CommandResult verify = Cli(owner_, {"zone", "verify", "manual.test"});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(verify.err, "admin")) << verify.err;
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("manual.test").out, "000");

  ASSERT_EQ(Cli(control_->admin_token(), {"admin", "zone", "approve", "manual.test"}).exit_code, 0);
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("manual.test").out, "403");
}

TEST_F(HostnameVerificationTest, AHostileTenantCanNeitherTakeOverNorBlockAVerifiedName) {
  StartControl("dns");
  StartEdge();

  // The hostile tenant claims the owner's names first.
  Create(hostile_, "www.acme.test");
  Create(hostile_, "*.acme.test");
  Create(hostile_, "deep.www.acme.test");
  Create(hostile_, "elsewhere.test");
  // Pending claims block nothing: the owner creates the very same name.
  v1::Zone owner_zone = Create(owner_, "www.acme.test");
  ASSERT_EQ(owner_zone.state(), v1::ZONE_STATE_PENDING);
  v1::Zone hostile_zone;
  ASSERT_TRUE(Get(hostile_, "www.acme.test", &hostile_zone).ok());
  EXPECT_NE(hostile_zone.challenge().value(), owner_zone.challenge().value());

  // The owner's record does not verify the hostile claim.
  SetTxt({{"_certgate-challenge.www.acme.test", owner_zone.challenge().value()}});
  CommandResult stolen = Cli(hostile_, {"zone", "verify", "www.acme.test"});
  EXPECT_EQ(stolen.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(stolen.err, "not this zone's value")) << stolen.err;

  // The owner's verification wins and drops the conflicting pending claims.
  ASSERT_EQ(Cli(owner_, {"zone", "verify", "www.acme.test"}).exit_code, 0);
  EXPECT_EQ(Get(hostile_, "www.acme.test", &hostile_zone).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(hostile_, "*.acme.test", &hostile_zone).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(hostile_, "deep.www.acme.test", &hostile_zone).error_code(), StatusCode::NOT_FOUND);
  // A claim that does not conflict stays.
  EXPECT_TRUE(Get(hostile_, "elsewhere.test", &hostile_zone).ok());
  EXPECT_TRUE(absl::StrContains(control_->log(), "dropped 3 conflicting pending claim"))
      << control_->log();

  // Nor can it claim them again; the refusal names only what it typed.
  for (std::string host :
       {"www.acme.test", "*.acme.test", "deep.www.acme.test", "*.www.acme.test"}) {
    CommandResult again = Cli(hostile_, {"zone", "create", host, "--origin", "http://127.0.0.1:9"});
    EXPECT_EQ(again.exit_code, 1) << host;
    EXPECT_TRUE(IsOneErrorLine(again.err)) << again.err;
    EXPECT_TRUE(absl::StrContains(again.err, "already taken")) << again.err;
    std::string rest = again.err;
    rest.erase(rest.find(host), host.size());
    EXPECT_FALSE(absl::StrContains(rest, "www.acme.test")) << again.err;
  }

  // A sibling is not "under" www.acme.test: it may be claimed, but it is
  // pending, gets no certificate and is not served.
  v1::Zone sibling = Create(hostile_, "api.acme.test");
  EXPECT_EQ(sibling.state(), v1::ZONE_STATE_PENDING);
  EXPECT_TRUE(sibling.server_certificate().chain_pem().empty());
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("api.acme.test").out, "000");
  EXPECT_EQ(Curl("www.acme.test").out, "403");
}

TEST_F(HostnameVerificationTest, AVerifiedDomainKeepsOtherTenantsOutOfEverythingBelowIt) {
  StartControl("dns");
  v1::Zone apex = Create(owner_, "corp.test");
  // Claims made while the owner was still pending.
  Create(hostile_, "*.corp.test");
  Create(hostile_, "vpn.corp.test");
  SetTxt({{"_certgate-challenge.corp.test", apex.challenge().value()}});
  ASSERT_EQ(Cli(owner_, {"zone", "verify", "corp.test"}).exit_code, 0);
  v1::Zone gone;
  EXPECT_EQ(Get(hostile_, "*.corp.test", &gone).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(hostile_, "vpn.corp.test", &gone).error_code(), StatusCode::NOT_FOUND);
  for (std::string host : {"mail.corp.test", "*.corp.test", "a.b.corp.test"}) {
    CommandResult refused =
        Cli(hostile_, {"zone", "create", host, "--origin", "http://127.0.0.1:9"});
    EXPECT_EQ(refused.exit_code, 1) << host;
    EXPECT_TRUE(absl::StrContains(refused.err, "another tenant has proved control")) << refused.err;
  }
  // Another tenant's zone is "not found" to verify, as to everything else.
  CommandResult foreign = Cli(hostile_, {"zone", "verify", "corp.test"});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(foreign.err, "zone corp.test not found")) << foreign.err;
  // The owner itself may add names below its domain.
  EXPECT_EQ(Create(owner_, "mail.corp.test").state(), v1::ZONE_STATE_PENDING);
}

TEST_F(HostnameVerificationTest, OffServesZonesAtOnce) {
  StartControl("off");
  StartEdge();
  v1::Zone zone = Create(owner_, "now.test");
  EXPECT_EQ(zone.state(), v1::ZONE_STATE_ACTIVE);
  EXPECT_EQ(zone.verified_by(), "off");
  EXPECT_FALSE(zone.server_certificate().chain_pem().empty());
  ASSERT_TRUE(EdgeHolds());
  EXPECT_EQ(Curl("now.test").out, "403");
}

}  // namespace
}  // namespace certgate::testing
