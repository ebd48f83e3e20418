// Access rules end to end: the certgate CLI sets rules and validation
// settings on a real control plane, a real edge applies them, curl is the
// client and the echo origin shows what was forwarded. The selectors'
// values are checked against Python's `cryptography`.
#include <time.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"

namespace certgate::testing {
namespace {

class AccessRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-access-rules"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->Start(&error)) << error;
    alpha_ = new std::string(env_->NewTenant("alpha"));
    beta_ = new std::string(env_->NewTenant("beta"));
    ca_ = new Identity(pki_->Ca("acme-devices"));
    device_ = new Identity(Device("device-a", "spiffe://acme.example/device/a"));
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
    }
  }

  static Identity Device(const std::string& name, const std::string& uri) {
    CertificateSpec spec;
    spec.common_name = name;
    spec.organization = "Acme";
    spec.client_auth = true;
    spec.uris = {uri};
    spec.dns_names = {name + ".devices.acme.example"};
    return pki_->Issue(name, spec, ca_, {});
  }

  // Cli runs the certgate CLI against the control plane as `token`.
  static CommandResult Cli(const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> argv = {BinPath("certgate")};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(),
                {"--server", env_->control()->address(), "--token", token, "--insecure"});
    return RunCommand(argv);
  }

  // CliChange runs a changing command with --json and waits until the edge
  // serves the version it made.
  static void CliChange(const std::string& token, std::vector<std::string> args) {
    args.push_back("--json");
    CommandResult r = Cli(token, args);
    ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << ": " << r.err;
    size_t at = r.out.find("\"configVersion\": \"");
    ASSERT_NE(at, std::string::npos) << r.out;
    at += 18;
    uint64_t version = 0;
    ASSERT_TRUE(absl::SimpleAtoi(r.out.substr(at, r.out.find('"', at) - at), &version)) << r.out;
    ASSERT_TRUE(env_->WaitForVersion(version));
  }

  static void Zone(const std::string& token, const std::string& host, v1::Mode mode) {
    env_->CreateZone(token, host, mode);
    ASSERT_TRUE(env_->WaitForVersion(env_->AddRoot(token, host, *ca_)));
  }

  static int Status(const std::string& host, const std::string& path, const Identity* id) {
    return env_->Curl(host, path, id).status;
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string* alpha_ = nullptr;
  static inline std::string* beta_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
};

TEST_F(AccessRulesTest, PathRuleEnforcesApiButNotRoot) {
  const std::string host = "paths.alpha.pizza";
  Zone(*alpha_, host, v1::MODE_OFF);
  CliChange(*alpha_, {"rule", "add", host, "--path-prefix", "/api/", "--action", "enforce"});
  EXPECT_EQ(Status(host, "/", nullptr), 200);
  EXPECT_EQ(Status(host, "/health", nullptr), 200);
  EXPECT_EQ(Status(host, "/api/orders", nullptr), 403);
  EXPECT_EQ(Status(host, "/api/orders", device_), 200);
  // Hostile spellings of /api/ meet the rule too.
  for (const char* path : {"/%61pi/orders", "/public/../api/orders", "//api/orders", "/./api/x"}) {
    EXPECT_EQ(env_->Curl(host, path, nullptr, {"--path-as-is"}).status, 403) << path;
  }
  // The list shows it; a move and a remove change what is served.
  CommandResult list = Cli(*alpha_, {"rule", "list", host});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StrContains(list.out, "path /api/* -> enforce")) << list.out;
  CommandResult json = Cli(*alpha_, {"rule", "list", host, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  size_t at = json.out.find("\"id\": \"");
  ASSERT_NE(at, std::string::npos) << json.out;
  std::string id = json.out.substr(at + 7, json.out.find('"', at + 7) - at - 7);
  CliChange(*alpha_, {"rule", "add", host, "--path-exact", "/api/ping", "--action", "off"});
  EXPECT_EQ(Status(host, "/api/ping", nullptr), 403);  // the /api/ rule comes first
  CliChange(*alpha_, {"rule", "move", host, id, "2"});
  EXPECT_EQ(Status(host, "/api/ping", nullptr), 200);
  EXPECT_EQ(Status(host, "/api/orders", nullptr), 403);
  // Another tenant cannot see or change the zone's rules, even knowing an id.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"rule", "remove", host, id},
           {"rule", "move", host, id, "1"},
           {"rule", "list", host},
           {"rule", "validation", host, "--accept-expired", "on"}}) {
    CommandResult r = Cli(*beta_, args);
    EXPECT_EQ(r.exit_code, 1) << absl::StrJoin(args, " ");
    EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.err;
  }
  EXPECT_EQ(Status(host, "/api/orders", nullptr), 403);  // the rule is still there
  CliChange(*alpha_, {"rule", "remove", host, id});
  EXPECT_EQ(Status(host, "/api/orders", nullptr), 200);
  CommandResult other = Cli(*beta_, {"rule", "add", host, "--action", "off"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(other.err, "not found")) << other.err;
}

TEST_F(AccessRulesTest, SpiffeConstraintAdmitsOneDeviceOfTheRoot) {
  const std::string host = "spiffe.alpha.pizza";
  Zone(*alpha_, host, v1::MODE_ENFORCE);
  CliChange(*alpha_, {"rule", "add", host, "--path-prefix", "/", "--action", "enforce", "--spiffe",
                      "spiffe://acme.example/device/"});
  CliChange(*alpha_, {"rule", "add", host, "--position", "1", "--path-prefix", "/report/",
                      "--action", "report", "--spiffe", "spiffe://acme.example/device/"});
  Identity kiosk = Device("kiosk-b", "spiffe://acme.example/kiosk/b");
  EXPECT_EQ(Status(host, "/x", device_), 200);
  EXPECT_EQ(Status(host, "/x", &kiosk), 403);
  EXPECT_TRUE(
      WaitFor([] { return absl::StrContains(env_->edge_log(), "identity_mismatch:spiffe"); },
              absl::Seconds(5)))
      << "the access log names the failed constraint";
  // Report: forwarded, the origin told which constraint failed.
  HttpResult reported = env_->Curl(host, "/report/x", &kiosk);
  EXPECT_EQ(reported.status, 200);
  EXPECT_TRUE(absl::StrContains(reported.body, Echoed("X-Client-Cert-Status", "valid")))
      << reported.body;
  EXPECT_TRUE(
      absl::StrContains(reported.body, Echoed("X-Client-Cert-Error", "identity_mismatch:spiffe")))
      << reported.body;
  // The per-rule counters in `certgate status HOST`: the report rule saw
  // three requests and would have refused one.
  EXPECT_EQ(env_->Curl(host, "/report/y", device_).status, 200);
  EXPECT_EQ(env_->Curl(host, "/report/z", device_).status, 200);
  CommandResult list = Cli(*alpha_, {"rule", "list", host, "--json"});
  size_t at = list.out.find("\"id\": \"");
  ASSERT_NE(at, std::string::npos) << list.out;
  std::string report_id = list.out.substr(at + 7, list.out.find('"', at + 7) - at - 7);
  std::string seen;
  bool counted = WaitFor(
      [&] {
        CommandResult status = Cli(*alpha_, {"status", host, "--json"});
        size_t rule = status.out.find(absl::StrCat("\"ruleId\": \"", report_id, "\""));
        if (rule == std::string::npos) {
          seen = status.out;
          return false;
        }
        seen = status.out.substr(rule, status.out.find('}', rule) - rule);
        return absl::StrContains(seen, "\"requests\": \"3\"") &&
               absl::StrContains(seen, "\"refused\": \"1\"");
      },
      absl::Seconds(20));
  EXPECT_TRUE(counted) << seen;
  CommandResult text = Cli(*alpha_, {"status", host});
  EXPECT_TRUE(absl::StrContains(text.out, "By access rule")) << text.out;
  // A rule naming a bad SPIFFE ID is refused by the CLI before anything is sent.
  CommandResult bad = Cli(*alpha_, {"rule", "add", host, "--action", "enforce", "--spiffe", "x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--spiffe")) << bad.err;
}

TEST_F(AccessRulesTest, PinnedSelfSignedCertificateAdmittedByFingerprint) {
  const std::string host = "pins.alpha.pizza";
  const std::string other_host = "pins.beta.pizza";
  Zone(*alpha_, host, v1::MODE_ENFORCE);
  Zone(*beta_, other_host, v1::MODE_ENFORCE);
  Identity pinned = pki_->SelfSigned("sensor-pinned");
  Identity unpinned = pki_->SelfSigned("sensor-unpinned");
  std::string fingerprint = Sha256FingerprintHex(pinned.cert.get());
  EXPECT_EQ(Status(host, "/sensors/1", &pinned), 403);
  CliChange(*alpha_, {"rule", "add", host, "--path-prefix", "/sensors/", "--action", "enforce",
                      "--fingerprint", fingerprint});
  EXPECT_EQ(Status(host, "/sensors/1", &pinned), 200);
  EXPECT_EQ(Status(host, "/sensors/1", &unpinned), 403);
  // Pinned for /sensors/ only: elsewhere in the zone it is not a valid certificate.
  EXPECT_EQ(Status(host, "/admin", &pinned), 403);
  // The chained device is not in the allowlist either.
  EXPECT_EQ(Status(host, "/sensors/1", device_), 403);
  // A pin in tenant alpha's zone admits nothing in tenant beta's.
  EXPECT_EQ(Status(other_host, "/sensors/1", &pinned), 403);
  EXPECT_EQ(Status(other_host, "/sensors/1", device_), 200);
}

TEST_F(AccessRulesTest, ExpiredCertificateAdmittedOnlyWhereAllowed) {
  const std::string lenient = "lenient.alpha.pizza";
  const std::string strict = "strict.alpha.pizza";
  Zone(*alpha_, lenient, v1::MODE_ENFORCE);
  Zone(*alpha_, strict, v1::MODE_ENFORCE);
  int64_t now = time(nullptr);
  Identity expired = pki_->Leaf("expired-device", *ca_, {}, now - 3 * 86400, now - 86400);
  EXPECT_EQ(Status(lenient, "/", &expired), 403);
  CliChange(*alpha_, {"rule", "validation", lenient, "--accept-expired", "on"});
  HttpResult admitted = env_->Curl(lenient, "/", &expired);
  EXPECT_EQ(admitted.status, 200);
  EXPECT_TRUE(absl::StrContains(admitted.body, Echoed("X-Client-Cert-Status", "valid")))
      << admitted.body;
  EXPECT_TRUE(absl::StrContains(admitted.body, Echoed("X-Client-Cert-Error", "expired")))
      << admitted.body;
  EXPECT_EQ(Status(strict, "/", &expired), 403);
  // A current certificate carries no error.
  HttpResult current = env_->Curl(lenient, "/", device_);
  EXPECT_EQ(current.status, 200);
  EXPECT_FALSE(absl::StrContains(current.body, "X-Client-Cert-Error")) << current.body;

  // clientAuth EKU: required by default, optional where the zone says so.
  CertificateSpec no_eku;
  no_eku.common_name = "no-eku";
  Identity plain = pki_->Issue("no-eku", no_eku, ca_, {});
  EXPECT_EQ(Status(strict, "/", &plain), 403);
  CliChange(*alpha_, {"rule", "validation", strict, "--client-auth-eku", "optional"});
  EXPECT_EQ(Status(strict, "/", &plain), 200);
  EXPECT_EQ(Status(strict, "/", &expired), 403);
  CommandResult bad = Cli(*alpha_, {"rule", "validation", strict, "--max-chain-depth", "9"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad.err, "max chain depth")) << bad.err;
}

// x5t#S256 and xfcc as the origin receives them, against Python's
// cryptography reading the same certificate file.
TEST_F(AccessRulesTest, SelectorsMatchAnIndependentComputation) {
  const std::string host = "selectors.alpha.pizza";
  Zone(*alpha_, host, v1::MODE_ENFORCE);
  env_->MapHeader(*alpha_, host, "X-Thumbprint", "x5t#S256");
  ASSERT_TRUE(env_->WaitForVersion(env_->MapHeader(*alpha_, host, "X-Xfcc", "xfcc")));
  HttpResult got = env_->Curl(host, "/", device_);
  ASSERT_EQ(got.status, 200) << got.stderr_text;
  const char* script = R"PY(
import base64, hashlib, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
der = cert.public_bytes(serialization.Encoding.DER)
print(base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b'=').decode())
san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
def q(v, always=False):
    if always or any(c in v for c in ',;="\\'):
        return '"' + v.replace('\\', '\\\\').replace('"', '\\"') + '"'
    return v
parts = ['Hash=' + cert.fingerprint(hashes.SHA256()).hex(),
         'Subject=' + q(cert.subject.rfc4514_string(), True)]
parts += ['URI=' + q(u) for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
parts += ['DNS=' + q(d) for d in san.get_values_for_type(x509.DNSName)]
print(';'.join(parts))
)PY";
  CommandResult py = RunCommand({"/usr/bin/python3", "-c", script, device_->cert_path});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::vector<std::string> lines = absl::StrSplit(absl::StripTrailingAsciiWhitespace(py.out), '\n');
  ASSERT_EQ(lines.size(), 2u) << py.out;
  EXPECT_TRUE(absl::StrContains(got.body, Echoed("X-Thumbprint", lines[0]))) << lines[0] << "\n"
                                                                             << got.body;
  // The echo origin prints values JSON-escaped: quotes come as \".
  std::string xfcc_json;
  for (char c : lines[1]) {
    if (c == '"' || c == '\\') xfcc_json.push_back('\\');
    xfcc_json.push_back(c);
  }
  EXPECT_TRUE(absl::StrContains(got.body, Echoed("X-Xfcc", xfcc_json))) << xfcc_json << "\n"
                                                                        << got.body;
}

TEST_F(AccessRulesTest, HostileTenantRulesRefusedWithOneLine) {
  const std::string host = "hostile.beta.pizza";
  Zone(*beta_, host, v1::MODE_ENFORCE);
  struct Case {
    std::vector<std::string> args;
    const char* want;
  } cases[] = {
      {{"--path-regex", "/(a"}, "not a valid RE2"},
      {{"--path-regex", "((((a{100}){100}){100}){100})"}, "access rule 1: "},
      {{"--path-regex", std::string(4000, 'a')}, "longer than"},
      {{"--path-prefix", "/a/../b"}, "not normalised"},
      {{"--cn", "(a)\\1"}, "subject CN regex"},
      {{"--fingerprint", "zz"}, "64 hex"},
      {{"--issuer", "0123456789abcdef"}, "not a root or intermediate"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"rule", "add", host, "--action", "enforce"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CommandResult r = Cli(*beta_, args);
    EXPECT_EQ(r.exit_code, 1) << c.want;
    EXPECT_TRUE(absl::StrContains(r.err, c.want)) << r.err;
    EXPECT_EQ(absl::StripTrailingAsciiWhitespace(r.err).find('\n'), std::string::npos) << r.err;
  }
  // The per-zone quota: the 65th rule is refused, the 64 stay.
  for (int i = 0; i < 64; ++i) {
    v1::AddAccessRuleRequest request;
    request.set_hostname(host);
    request.mutable_rule()->set_path_match(v1::PATH_MATCH_EXACT);
    request.mutable_rule()->set_path(absl::StrCat("/r", i));
    request.mutable_rule()->set_action(v1::RULE_ACTION_OFF);
    v1::ZoneResponse response;
    grpc::Status status =
        env_->tenant()->AddAccessRule(EdgeEnvironment::Context(*beta_).get(), request, &response);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  CommandResult over = Cli(*beta_, {"rule", "add", host, "--action", "off"});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(over.err, "max-rules-per-zone allows at most 64")) << over.err;
  CommandResult json = Cli(*beta_, {"rule", "list", host, "--json"});
  EXPECT_EQ(json.exit_code, 0);
  std::vector<std::string> ids = absl::StrSplit(json.out, "\"id\":");
  EXPECT_EQ(ids.size(), 65u) << "64 rules, each with an id";
  // Moving a rule past the last one is an error, not a quiet move to the end.
  size_t at = json.out.find("\"id\": \"");
  ASSERT_NE(at, std::string::npos) << json.out;
  std::string first = json.out.substr(at + 7, json.out.find('"', at + 7) - at - 7);
  CommandResult past = Cli(*beta_, {"rule", "move", host, first, "65"});
  EXPECT_EQ(past.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(past.err, "position 65 is past the last rule")) << past.err;
  EXPECT_EQ(Cli(*beta_, {"rule", "list", host, "--json"}).out, json.out) << "nothing moved";
}

}  // namespace
}  // namespace certgate::testing
