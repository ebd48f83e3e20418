// Expiry warnings end to end: a zone whose root expires in ten days, shown by
// `certgate status` and `zone show`, scraped from the control plane's
// /metrics with curl, and POSTed once to a tenant's webhook (a Python
// receiver) - not again after a retry, more scans or a control plane
// restart. Hostile cases: another tenant sees none of it, a webhook into an
// internal address or with credentials is refused, a tenant cannot set one.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "certgate/v1/admin.pb.h"
#include "certgate/v1/tenant.pb.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "openssl/x509.h"
#include "tests/integration/cli/cli_runner.h"
#include "tests/support/local_dns_server.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

namespace v1 = ::certgate::v1;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

// SelfSignedRoot: a CA certificate (PEM) valid until `not_after_unix`.
std::string SelfSignedRoot(const std::string& name, int64_t not_after_unix) {
  auto key = GenerateKey(KeyType::kEcP256);
  EXPECT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = name;
  spec.is_ca = true;
  spec.not_after_unix = not_after_unix;
  auto cert = IssueCertificate(spec, key->get(), nullptr, key->get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  return CertificateToPem(cert->get());
}

class ExpiryWarningTest : public ::testing::Test {
 protected:
  ExpiryWarningTest()
      : dir_(MakeTempDir("expiry-warning")),
        port_(FreePort()),
        metrics_port_(FreePort()),
        receiver_port_(FreePort()),
        cli_(dir_) {}

  void SetUp() override {
    auto receiver = Subprocess::Start(
        {"python3", CERTGATE_WEBHOOK_RECEIVER_PY, "--port", std::to_string(receiver_port_), "--out",
         dir_ + "/events", "--attempts", dir_ + "/attempts", "--fail-first", "1"},
        dir_ + "/receiver.log");
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = std::move(*receiver);
    ASSERT_TRUE(WaitForPort(receiver_port_)) << receiver_->ReadLog();
    StartControlPlane();
    admin_token_ = std::string(absl::StripAsciiWhitespace(ReadFile(dir_ + "/admin.token")));
    acme_token_ = CreateTenant("acme");
    rival_token_ = CreateTenant("rival");
  }

  // StartControlPlane: `extra` flags are appended (--verify-hostnames and
  // its companions, --webhook-ca).
  void StartControlPlane(std::vector<std::string> extra = {"--verify-hostnames", "off"}) {
    std::vector<std::string> argv = {BinPath("certgate-control"),
                                     "--db",
                                     dir_ + "/certgate.db",
                                     "--listen",
                                     absl::StrCat("127.0.0.1:", port_),
                                     "--admin-token-file",
                                     dir_ + "/admin.token",
                                     "--edge-token-file",
                                     dir_ + "/edge.token",
                                     "--insecure",
                                     "--origin-allow",
                                     "127.0.0.0/8",
                                     "--metrics-listen",
                                     absl::StrCat("127.0.0.1:", metrics_port_),
                                     "--webhook-scan-interval",
                                     "0.2",
                                     "--webhook-retry",
                                     "0.2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto process = Subprocess::Start(argv, absl::StrCat(dir_, "/control-", ++starts_, ".log"));
    ASSERT_TRUE(process.ok()) << process.status();
    server_ = std::move(*process);
    ASSERT_TRUE(WaitFor([this] { return absl::StrContains(server_->ReadLog(), "listening on"); },
                        absl::Seconds(20)))
        << server_->ReadLog();
  }

  void StopControlPlane() {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->Wait(), 0) << server_->ReadLog();
  }

  std::string CreateTenant(const std::string& name) {
    CommandResult result = Admin({"admin", "tenant", "create", name, "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return ParseJson<v1::CreateTenantResponse>(result.out).token();
  }

  CommandResult As(const std::string& token, std::vector<std::string> args) {
    return cli_.RunAs(absl::StrCat("127.0.0.1:", port_), token, std::move(args));
  }
  CommandResult Acme(const std::vector<std::string>& args) { return As(acme_token_, args); }
  CommandResult Rival(const std::vector<std::string>& args) { return As(rival_token_, args); }
  CommandResult Admin(const std::vector<std::string>& args) { return As(admin_token_, args); }

  // ZoneWithRoots: `host` of acme with a root expiring in ten days (and an
  // hour, so the day count reads 10) and one expiring in 400 days.
  void ZoneWithRoots(const std::string& host) {
    ASSERT_EQ(Acme({"zone", "create", host, "--origin", "http://127.0.0.1:9"}).exit_code, 0);
    int64_t now = absl::ToUnixSeconds(absl::Now());
    std::string soon = dir_ + "/soon.pem";
    std::string later = dir_ + "/later.pem";
    WriteFile(soon, SelfSignedRoot("Soon Root", now + 10 * 86400 + 3600));
    WriteFile(later, SelfSignedRoot("Later Root", now + 400 * 86400));
    CommandResult added = Acme({"root", "add", host, soon});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    added = Acme({"root", "add", host, later});
    ASSERT_EQ(added.exit_code, 0) << added.err;
  }

  std::string Events() { return ReadFile(dir_ + "/events"); }

  std::string dir_;
  int port_;
  int metrics_port_;
  int receiver_port_;
  int starts_ = 0;
  CliRunner cli_;
  std::unique_ptr<Subprocess> receiver_;
  std::unique_ptr<Subprocess> server_;
  std::string admin_token_, acme_token_, rival_token_;
};

TEST_F(ExpiryWarningTest, StatusAndZoneShowWarnOnlyTheOwner) {
  ZoneWithRoots("soon.example");
  ASSERT_EQ(Rival({"zone", "create", "rival.example", "--origin", "http://127.0.0.1:9"}).exit_code,
            0);

  CommandResult status = Acme({"status", "soon.example"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(absl::StrContains(status.out, "warning: root \"CN=Soon Root\"") &&
              absl::StrContains(status.out, "of soon.example expires in 10 days"))
      << status.out;
  EXPECT_FALSE(absl::StrContains(status.out, "Later Root")) << status.out;

  // Without a hostname: every zone of the caller.
  status = Acme({"status"});
  EXPECT_TRUE(absl::StrContains(status.out, "of soon.example expires in 10 days")) << status.out;

  CommandResult json = Acme({"status", "soon.example", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  v1::StatusResponse parsed = ParseJson<v1::StatusResponse>(json.out);
  ASSERT_EQ(parsed.expiring_size(), 1) << json.out;
  EXPECT_EQ(parsed.expiring(0).kind(), "root");
  EXPECT_EQ(parsed.expiring(0).hostname(), "soon.example");
  EXPECT_FALSE(parsed.expiring(0).expired());
  EXPECT_NEAR(parsed.expiring(0).seconds_left(), 10 * 86400 + 3600, 120);
  EXPECT_EQ(parsed.warn_days(), 30);

  CommandResult show = Acme({"zone", "show", "soon.example"});
  EXPECT_TRUE(absl::StrContains(show.out, "warning: root \"CN=Soon Root\"")) << show.out;
  // The window per call: 5 days hides it, 500 shows both roots.
  show = Acme({"zone", "show", "soon.example", "--warn-days", "5"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_FALSE(absl::StrContains(show.out, "warning:")) << show.out;
  // 500 days: both roots, and the edge CA's server and origin certificates.
  show = Acme({"zone", "show", "soon.example", "--warn-days", "500", "--json"});
  std::vector<std::string> kinds;
  v1::ZoneResponse wide = ParseJson<v1::ZoneResponse>(show.out);
  for (const v1::ExpiringItem& item : wide.expiring()) {
    kinds.push_back(item.kind());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"root", "origin_client_certificate",
                                             "server_certificate", "root"}))
      << show.out;
  // The tenant's own window, set by the admin, is the default of its calls.
  ASSERT_EQ(Admin({"admin", "tenant", "set", "acme", "--warn-days", "3"}).exit_code, 0);
  show = Acme({"zone", "show", "soon.example"});
  EXPECT_FALSE(absl::StrContains(show.out, "warning:")) << show.out;
  ASSERT_EQ(Admin({"admin", "tenant", "set", "acme", "--warn-days", "default"}).exit_code, 0);
  show = Acme({"zone", "show", "soon.example"});
  EXPECT_TRUE(absl::StrContains(show.out, "warning:")) << show.out;

  // A bad window is a one-line usage error.
  CommandResult bad = Acme({"status", "--warn-days", "-4"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;

  // The other tenant: no warning of acme's zone, in either form, and no way to ask.
  CommandResult rival = Rival({"status"});
  ASSERT_EQ(rival.exit_code, 0) << rival.err;
  EXPECT_FALSE(absl::StrContains(rival.out, "warning:")) << rival.out;
  EXPECT_FALSE(absl::StrContains(rival.out, "soon.example")) << rival.out;
  // With the widest window it sees its own zone's certificates only.
  rival = Rival({"status", "--json", "--warn-days", "3650"});
  v1::StatusResponse rival_status = ParseJson<v1::StatusResponse>(rival.out);
  EXPECT_EQ(rival_status.expiring_size(), 2) << rival.out;
  for (const v1::ExpiringItem& item : rival_status.expiring()) {
    EXPECT_EQ(item.hostname(), "rival.example") << rival.out;
  }
  rival = Rival({"status", "soon.example"});
  EXPECT_EQ(rival.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(rival.err)) << rival.err;
  EXPECT_FALSE(absl::StrContains(rival.out, "Soon Root"));
}

TEST_F(ExpiryWarningTest, MetricsScrapedWithCurl) {
  ZoneWithRoots("soon.example");
  CommandResult scrape = RunCommand(
      {"curl", "-sS", "--fail", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
  std::string prefix =
      "certgate_control_expiry_seconds{tenant=\"acme\",zone=\"soon.example\",kind=\"root\","
      "subject=\"CN=Soon Root\",id=\"";
  int64_t seconds = 0;
  for (const std::string& line : Lines(scrape.out)) {
    if (absl::StartsWith(line, prefix)) {
      ASSERT_TRUE(absl::SimpleAtoi(line.substr(line.rfind(' ') + 1), &seconds)) << line;
    }
  }
  EXPECT_NEAR(seconds, 10 * 86400 + 3600, 120) << scrape.out;
  EXPECT_TRUE(absl::StrContains(scrape.out, "certgate_control_tenants 2\n")) << scrape.out;
  EXPECT_TRUE(absl::StrContains(scrape.out, "certgate_control_zones{state=\"active\"} 1\n"))
      << scrape.out;
  EXPECT_TRUE(absl::StrContains(scrape.out, "certgate_control_edges_connected 0\n")) << scrape.out;
  // A second scrape at the same config version reads nothing from the store
  // again; a change makes it read once more.
  CommandResult again = RunCommand(
      {"curl", "-sS", "--fail", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  EXPECT_TRUE(absl::StrContains(again.out, "certgate_control_expiry_cache_reloads 1\n"))
      << again.out;
  ASSERT_EQ(Acme({"zone", "create", "two.example", "--origin", "http://127.0.0.1:9"}).exit_code, 0);
  again = RunCommand(
      {"curl", "-sS", "--fail", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  EXPECT_TRUE(absl::StrContains(again.out, "certgate_control_expiry_cache_reloads 2\n"))
      << again.out;
  EXPECT_TRUE(absl::StrContains(again.out, "certgate_control_zones{state=\"active\"} 2\n"));
  CommandResult missing = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                      absl::StrCat("http://127.0.0.1:", metrics_port_, "/other")});
  EXPECT_EQ(missing.out, "404");
}

TEST_F(ExpiryWarningTest, OneWebhookPostAcrossRetriesScansAndRestart) {
  ZoneWithRoots("soon.example");
  std::string url = absl::StrCat("http://127.0.0.1:", receiver_port_, "/hook/s3cret-path");
  CommandResult set = Admin({"admin", "tenant", "set", "acme", "--webhook", url});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(absl::StrContains(set.out, url)) << set.out;

  ASSERT_TRUE(WaitFor([this] { return Lines(Events()).size() >= 1; }, absl::Seconds(20)))
      << server_->ReadLog();
  std::vector<std::string> events = Lines(Events());
  google::protobuf::Struct event = ParseJson<google::protobuf::Struct>(events[0]);
  const auto& fields = event.fields();
  EXPECT_EQ(fields.at("type").string_value(), "certificate_expiring");
  EXPECT_EQ(fields.at("tenant").string_value(), "acme");
  EXPECT_EQ(fields.at("hostname").string_value(), "soon.example");
  EXPECT_FALSE(fields.at("time").string_value().empty());
  const auto& details = fields.at("details").struct_value().fields();
  EXPECT_EQ(details.at("kind").string_value(), "root");
  EXPECT_EQ(details.at("subject").string_value(), "CN=Soon Root");
  EXPECT_FALSE(details.at("expired").bool_value());
  // The receiver refused the first attempt: the event came on a retry.
  std::vector<std::string> attempts = Lines(ReadFile(dir_ + "/attempts"));
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0], "/hook/s3cret-path application/json");
  EXPECT_TRUE(absl::StrContains(server_->ReadLog(), "answered HTTP 503")) << server_->ReadLog();
  // The URL's path may hold a secret: logs show only its origin.
  EXPECT_FALSE(absl::StrContains(server_->ReadLog(), "s3cret")) << server_->ReadLog();

  // Many scans later, and after a restart, still one.
  absl::SleepFor(absl::Seconds(1.5));
  EXPECT_EQ(Lines(Events()).size(), 1u) << Events();
  StopControlPlane();
  StartControlPlane();
  absl::SleepFor(absl::Seconds(1.5));
  EXPECT_EQ(Lines(Events()).size(), 1u) << Events();
  EXPECT_EQ(Lines(ReadFile(dir_ + "/attempts")).size(), 2u);

  // A new item crossing the threshold is a new event.
  std::string third = dir_ + "/third.pem";
  WriteFile(third, SelfSignedRoot("Third Root", absl::ToUnixSeconds(absl::Now()) + 5 * 86400));
  ASSERT_EQ(Acme({"root", "add", "soon.example", third}).exit_code, 0);
  ASSERT_TRUE(WaitFor([this] { return Lines(Events()).size() >= 2; }, absl::Seconds(20)));
  EXPECT_TRUE(absl::StrContains(Lines(Events())[1], "Third Root")) << Events();
}

// A certificate subject is the uploader's to choose: quotes and backslashes
// in it (and a newline, which the subject's RFC 2253 form spells \0A) stay
// inside the metrics label and the webhook's JSON string, and cannot add a
// line, a series or a field of their own.
TEST_F(ExpiryWarningTest, HostileSubjectsStayInsideLabelsAndJson) {
  ASSERT_EQ(Acme({"zone", "create", "evil.example", "--origin", "http://127.0.0.1:9"}).exit_code,
            0);
  std::string evil = dir_ + "/evil.pem";
  WriteFile(evil, SelfSignedRoot("Evil \"Root\"} 1\ninjected_metric{a=\"b\\\"} 2 \", \"x\": \"",
                                 absl::ToUnixSeconds(absl::Now()) + 5 * 86400));
  CommandResult added = Acme({"root", "add", "evil.example", evil});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  v1::Zone zone =
      ParseJson<v1::ZoneResponse>(Acme({"zone", "show", "evil.example", "--json"}).out).zone();
  ASSERT_EQ(zone.roots_size(), 1);
  const std::string subject = zone.roots(0).subject();
  ASSERT_TRUE(absl::StrContains(subject, "\"")) << subject;

  CommandResult scrape = RunCommand(
      {"curl", "-sS", "--fail", absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
  int evil_lines = 0;
  for (const std::string& line : Lines(scrape.out)) {
    EXPECT_TRUE(absl::StartsWith(line, "#") || absl::StartsWith(line, "certgate_control_")) << line;
    if (absl::StrContains(line, "Evil")) {
      ++evil_lines;
      // The label value ends at the last unescaped quote: the rest is the value.
      int64_t seconds = 0;
      EXPECT_TRUE(absl::SimpleAtoi(line.substr(line.rfind("} ") + 2), &seconds)) << line;
      EXPECT_NEAR(seconds, 5 * 86400, 120) << line;
    }
  }
  EXPECT_EQ(evil_lines, 1) << scrape.out;

  std::string url = absl::StrCat("http://127.0.0.1:", receiver_port_, "/hook");
  ASSERT_EQ(Admin({"admin", "tenant", "set", "acme", "--webhook", url}).exit_code, 0);
  ASSERT_TRUE(WaitFor([this] { return Lines(Events()).size() >= 1; }, absl::Seconds(20)))
      << server_->ReadLog();
  ASSERT_EQ(Lines(Events()).size(), 1u) << Events();
  google::protobuf::Struct event = ParseJson<google::protobuf::Struct>(Lines(Events())[0]);
  const auto& details = event.fields().at("details").struct_value().fields();
  EXPECT_EQ(details.at("subject").string_value(), subject);
  EXPECT_EQ(details.count("x"), 0u);
}

TEST_F(ExpiryWarningTest, ZoneVerificationEvents) {
  if (!LocalDnsServer::Available()) {
    GTEST_SKIP() << "dnsmasq is not installed";
  }
  LocalDnsServer dns(dir_);
  std::string error;
  ASSERT_TRUE(dns.SetTxtRecords({}, &error)) << error;
  StopControlPlane();
  StartControlPlane({"--verify-hostnames", "dns", "--dns-server", dns.address(), "--dns-timeout",
                     "2", "--verify-interval", "3600"});
  std::string url = absl::StrCat("http://127.0.0.1:", receiver_port_, "/hook");
  ASSERT_EQ(Admin({"admin", "tenant", "set", "acme", "--webhook", url}).exit_code, 0);
  ASSERT_EQ(Acme({"zone", "create", "pending.test", "--origin", "http://127.0.0.1:9"}).exit_code,
            0);

  // No record yet: the check fails, and the tenant hears it once however
  // often it retries with the same result.
  EXPECT_EQ(Acme({"zone", "verify", "pending.test"}).exit_code, 1);
  EXPECT_EQ(Acme({"zone", "verify", "pending.test"}).exit_code, 1);
  ASSERT_TRUE(WaitFor([this] { return Lines(Events()).size() >= 1; }, absl::Seconds(20)))
      << server_->ReadLog();
  google::protobuf::Struct failed = ParseJson<google::protobuf::Struct>(Lines(Events())[0]);
  EXPECT_EQ(failed.fields().at("type").string_value(), "zone_verification_failed");
  EXPECT_EQ(failed.fields().at("hostname").string_value(), "pending.test");
  EXPECT_FALSE(
      failed.fields().at("details").struct_value().fields().at("error").string_value().empty());

  CommandResult shown = Acme({"zone", "show", "pending.test", "--json"});
  v1::Zone zone = ParseJson<v1::ZoneResponse>(shown.out).zone();
  ASSERT_TRUE(
      dns.SetTxtRecords({{zone.challenge().record_name(), zone.challenge().value()}}, &error))
      << error;
  CommandResult verified = Acme({"zone", "verify", "pending.test"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  ASSERT_TRUE(WaitFor([this] { return Lines(Events()).size() >= 2; }, absl::Seconds(20)))
      << server_->ReadLog();
  google::protobuf::Struct active = ParseJson<google::protobuf::Struct>(Lines(Events())[1]);
  EXPECT_EQ(active.fields().at("type").string_value(), "zone_verified");
  EXPECT_EQ(active.fields().at("hostname").string_value(), "pending.test");
  EXPECT_EQ(active.fields().at("details").struct_value().fields().at("verified_by").string_value(),
            "dns");
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Lines(Events()).size(), 2u) << Events();
}

// An https webhook is verified: delivered when --webhook-ca trusts its
// certificate, refused (and retried, never sent in the clear) when not.
TEST_F(ExpiryWarningTest, HttpsWebhookVerifiesTheReceiver) {
  auto ca_key = GenerateKey(KeyType::kEcP256);
  auto leaf_key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(ca_key.ok() && leaf_key.ok());
  CertificateSpec ca_spec;
  ca_spec.common_name = "Webhook Test CA";
  ca_spec.is_ca = true;
  auto ca = IssueCertificate(ca_spec, ca_key->get(), nullptr, ca_key->get());
  ASSERT_TRUE(ca.ok()) << ca.status();
  CertificateSpec leaf_spec;
  leaf_spec.common_name = "127.0.0.1";
  leaf_spec.server_auth = true;
  leaf_spec.ips = {"127.0.0.1"};
  auto leaf = IssueCertificate(leaf_spec, leaf_key->get(), ca->get(), ca_key->get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  WriteFile(dir_ + "/hook-ca.pem", CertificateToPem(ca->get()));
  WriteFile(dir_ + "/hook.pem", CertificateToPem(leaf->get()));
  WriteFile(dir_ + "/hook.key", PrivateKeyToPem(leaf_key->get()), 0600);
  int https_port = FreePort();
  auto receiver = Subprocess::Start(
      {"python3", CERTGATE_WEBHOOK_RECEIVER_PY, "--port", std::to_string(https_port), "--out",
       dir_ + "/tls-events", "--attempts", dir_ + "/tls-attempts", "--cert", dir_ + "/hook.pem",
       "--key", dir_ + "/hook.key"},
      dir_ + "/tls-receiver.log");
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  ASSERT_TRUE(WaitForPort(https_port)) << (*receiver)->ReadLog();

  ZoneWithRoots("soon.example");
  std::string url = absl::StrCat("https://127.0.0.1:", https_port, "/hook");
  ASSERT_EQ(Admin({"admin", "tenant", "set", "acme", "--webhook", url}).exit_code, 0);
  // The system store does not know the test CA: nothing arrives.
  ASSERT_TRUE(
      WaitFor([this] { return absl::StrContains(server_->ReadLog(), "certificate not trusted"); },
              absl::Seconds(20)))
      << server_->ReadLog();
  EXPECT_EQ(ReadFile(dir_ + "/tls-events"), "");

  StopControlPlane();
  StartControlPlane({"--verify-hostnames", "off", "--webhook-ca", dir_ + "/hook-ca.pem"});
  ASSERT_TRUE(WaitFor([this] { return Lines(ReadFile(dir_ + "/tls-events")).size() >= 1; },
                      absl::Seconds(20)))
      << server_->ReadLog();
  EXPECT_TRUE(absl::StrContains(ReadFile(dir_ + "/tls-events"), "certificate_expiring"));
}

TEST_F(ExpiryWarningTest, HostileWebhooksRefused) {
  struct Case {
    std::string url;
    std::string message;
  };
  const Case cases[] = {
      {"http://169.254.169.254/latest/meta-data", "link-local"},
      {"http://10.0.0.1/hook", "private"},
      {"http://[::ffff:169.254.169.254]/hook", "link-local"},
      {"http://0x7f.1/hook", "non-standard spelling"},
      {"http://admin:hunter2@127.0.0.1:1/hook", "must not carry credentials"},
      {"ftp://127.0.0.1/hook", "is not http or https"},
      {"127.0.0.1/hook", "must start with http:// or https://"},
      {"http://127.0.0.1:99999/", "is not 1 to 65535"},
  };
  for (const Case& c : cases) {
    CommandResult result = Admin({"admin", "tenant", "set", "acme", "--webhook", c.url});
    EXPECT_EQ(result.exit_code, 1) << c.url << ": " << result.out << result.err;
    EXPECT_TRUE(IsOneErrorLine(result.err)) << c.url << ": " << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, c.message)) << c.url << ": " << result.err;
    EXPECT_FALSE(absl::StrContains(result.err, "hunter2")) << result.err;
  }
  // A tenant cannot set a webhook, its own or another's.
  std::string url = absl::StrCat("http://127.0.0.1:", receiver_port_, "/hook");
  for (const char* name : {"acme", "rival"}) {
    CommandResult result = Acme({"admin", "tenant", "set", name, "--webhook", url});
    EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
    EXPECT_TRUE(IsOneErrorLine(result.err)) << result.err;
  }
  // Bad local input is a usage error, with nothing sent.
  CommandResult bad_days = Admin({"admin", "tenant", "set", "acme", "--warn-days", "soon"});
  EXPECT_EQ(bad_days.exit_code, 2) << bad_days.err;
  EXPECT_TRUE(IsOneErrorLine(bad_days.err)) << bad_days.err;
  EXPECT_TRUE(absl::StrContains(bad_days.err, "--warn-days \"soon\"")) << bad_days.err;

  // Nothing was stored by any of it.
  CommandResult show = Admin({"admin", "tenant", "show", "acme", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(ParseJson<v1::Tenant>(show.out).webhook_url(), "") << show.out;
  EXPECT_FALSE(absl::StrContains(ReadFile(dir_ + "/certgate.db"), "hunter2"));
}

// The control plane's own flags: each bad value is refused by a line naming
// it, and nothing starts.
TEST(ExpiryFlagsTest, BadFlagsAreOneLineErrors) {
  std::string dir = MakeTempDir("expiry-flags");
  std::vector<std::string> base = {BinPath("certgate-control"),
                                   "--db",
                                   dir + "/certgate.db",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--admin-token-file",
                                   dir + "/admin.token",
                                   "--edge-token-file",
                                   dir + "/edge.token",
                                   "--insecure"};
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const Case cases[] = {
      {{"--metrics-listen", "no-port"}, "--metrics-listen"},
      {{"--metrics-listen", "127.0.0.1:70000"}, "--metrics-listen"},
      {{"--webhook-ca", dir + "/missing.pem"}, "--webhook-ca"},
      {{"--warn-days", "5000"}, "--warn-days"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    CommandResult result = RunCommand(argv);
    EXPECT_NE(result.exit_code, 0) << c.flags[0];
    // The first line names the flag (CLI11's own range errors add a line
    // pointing at --help, as for every other flag).
    std::vector<std::string> lines = Lines(result.err);
    ASSERT_FALSE(lines.empty()) << c.flags[0];
    EXPECT_TRUE(absl::StrContains(lines[0], c.message)) << result.err;
    EXPECT_LE(lines.size(), 2u) << result.err;
    EXPECT_FALSE(absl::StrContains(result.out, "listening")) << result.out;
  }
}

}  // namespace
}  // namespace certgate::testing
