// DecideRequest with access rules: one table row per rule kind, action and
// identity constraint, against real certificates from the test PKI.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/request_decision.h"
#include "gtest/gtest.h"
#include "openssl/x509.h"
#include "tests/support/test_pki.h"

namespace certgate::edge {
namespace {

using certgate::testing::Issue;
using certgate::testing::KeyAndCert;
using certgate::testing::MakeCa;
using certgate::testing::SelfSign;

std::string Der(const X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(const_cast<X509*>(cert), &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

v1::AccessRule Rule(v1::PathMatch match, const std::string& path, v1::RuleAction action) {
  v1::AccessRule rule;
  rule.set_path_match(match);
  rule.set_path(path);
  rule.set_action(action);
  return rule;
}

class AccessRulesDecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeCa("Root A");
    other_root_ = MakeCa("Root B");
    CertificateSpec spec;
    spec.common_name = "pos-17";
    spec.organization = "Acme";
    spec.client_auth = true;
    spec.dns_names = {"dev1.devices.acme.example"};
    spec.uris = {"spiffe://acme.example/device/pos-17"};
    spec.emails = {"ops@acme.example"};
    spec.ips = {"10.1.2.3"};
    device_ = Issue(spec, root_);
    CertificateSpec other;
    other.common_name = "kiosk-1";
    other.client_auth = true;
    other.uris = {"spiffe://acme.example/kiosk/1"};
    other_ = Issue(other, other_root_);
  }

  // Zone builds a zone with `rules` whose roots are both test roots.
  std::unique_ptr<ZoneConfig> Zone(const std::string& hostname, v1::Mode mode,
                                   std::vector<v1::AccessRule> rules) {
    v1::EdgeZone source;
    source.set_hostname(hostname);
    source.add_roots_der(Der(root_.cert.get()));
    source.add_roots_der(Der(other_root_.cert.get()));
    for (v1::AccessRule& rule : rules) {
      *source.add_access_rules() = rule;
    }
    auto zone = std::make_unique<ZoneConfig>();
    zone->hostname = hostname;
    zone->mode = mode;
    absl::StatusOr<std::unique_ptr<const AccessPolicy>> policy = AccessPolicy::Create(source);
    EXPECT_TRUE(policy.ok()) << policy.status();
    if (policy.ok()) {
      zone->access = std::move(policy).value();
    }
    return zone;
  }

  static ConnectionAuth Auth(CertStatus status, const KeyAndCert* cert, bool pinned = false) {
    ConnectionAuth auth;
    auth.status = status;
    auth.reason = status == CertStatus::kInvalid ? "unknown_ca" : "";
    auth.pinned = pinned;
    if (cert != nullptr) {
      // As the chain walk verified it: leaf, then its (root) issuer.
      auth.identity = std::make_shared<CertIdentity>(
          CertIdentity::Of(cert->cert.get(), {NameToDer(X509_get_issuer_name(cert->cert.get()))}));
    }
    return auth;
  }

  KeyAndCert root_, other_root_, device_, other_;
};

TEST_F(AccessRulesDecisionTest, EveryRuleKind) {
  std::string root_id = Sha256FingerprintHex(root_.cert.get()).substr(0, 16);
  std::string device_fp = Sha256FingerprintHex(device_.cert.get());
  KeyAndCert self_signed;
  {
    CertificateSpec spec;
    spec.common_name = "pinned-sensor";
    spec.client_auth = true;
    self_signed = SelfSign(spec);
  }
  std::string pinned_fp = Sha256FingerprintHex(self_signed.cert.get());

  auto identity_rule = [](auto set) {
    v1::AccessRule rule = Rule(v1::PATH_MATCH_PREFIX, "/id/", v1::RULE_ACTION_ENFORCE);
    set(rule.mutable_identity());
    return rule;
  };
  struct Case {
    const char* name;
    v1::Mode mode;
    std::vector<v1::AccessRule> rules;
    ConnectionAuth auth;
    const char* method;
    const char* target;
    const char* host;
    int want_status;
    int want_rule;
    std::string want_refusal;
  };
  const char* zone_host = "api.acme.example";
  std::vector<Case> cases;
  auto add = [&cases](Case c) { cases.push_back(std::move(c)); };
  v1::AccessRule api = Rule(v1::PATH_MATCH_PREFIX, "/api/", v1::RULE_ACTION_ENFORCE);
  // Zone default (no rules match): the mode decides.
  add({"no rules, enforce, none",
       v1::MODE_ENFORCE,
       {},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       zone_host,
       403,
       -1,
       ""});
  add({"no rules, report, none",
       v1::MODE_REPORT,
       {},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       zone_host,
       0,
       -1,
       ""});
  // Path prefix.
  add({"prefix matches: enforce refuses",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/api/x",
       zone_host,
       403,
       0,
       ""});
  add({"prefix does not match: mode off",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       zone_host,
       0,
       -1,
       ""});
  add({"prefix with valid cert",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kValid, &device_),
       "GET",
       "/api/x?q=1",
       zone_host,
       0,
       0,
       ""});
  // Hostile spellings of the same path still meet the rule.
  add({"percent-encoded path",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/%61pi/x",
       zone_host,
       403,
       0,
       ""});
  add({"dot segments",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/public/../api/x",
       zone_host,
       403,
       0,
       ""});
  add({"double slash",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "//api/x",
       zone_host,
       403,
       0,
       ""});
  add({"absolute form",
       v1::MODE_OFF,
       {api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "https://api.acme.example/api/x",
       zone_host,
       403,
       0,
       ""});
  // Exact.
  v1::AccessRule health = Rule(v1::PATH_MATCH_EXACT, "/health", v1::RULE_ACTION_OFF);
  add({"exact off before enforce",
       v1::MODE_ENFORCE,
       {health},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/health",
       zone_host,
       0,
       0,
       ""});
  add({"exact does not match a longer path",
       v1::MODE_ENFORCE,
       {health},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/health/x",
       zone_host,
       403,
       -1,
       ""});
  // Regex (full match).
  v1::AccessRule regex =
      Rule(v1::PATH_MATCH_REGEX, "/v[0-9]+/admin(/.*)?", v1::RULE_ACTION_ENFORCE);
  add({"regex matches",
       v1::MODE_REPORT,
       {regex},
       Auth(CertStatus::kInvalid, nullptr),
       "GET",
       "/v2/admin/users",
       zone_host,
       403,
       0,
       ""});
  add({"regex is anchored",
       v1::MODE_REPORT,
       {regex},
       Auth(CertStatus::kInvalid, nullptr),
       "GET",
       "/x/v2/admin",
       zone_host,
       0,
       -1,
       ""});
  // Method.
  v1::AccessRule writes = Rule(v1::PATH_MATCH_ANY, "", v1::RULE_ACTION_ENFORCE);
  writes.add_methods("POST");
  writes.add_methods("DELETE");
  add({"method matches",
       v1::MODE_REPORT,
       {writes},
       Auth(CertStatus::kNone, nullptr),
       "POST",
       "/",
       zone_host,
       403,
       0,
       ""});
  add({"method does not match",
       v1::MODE_REPORT,
       {writes},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       zone_host,
       0,
       -1,
       ""});
  // First match wins.
  add({"first match wins",
       v1::MODE_ENFORCE,
       {Rule(v1::PATH_MATCH_PREFIX, "/api/public/", v1::RULE_ACTION_OFF), api},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/api/public/x",
       zone_host,
       0,
       0,
       ""});
  // Report: forwarded, with the refusal for a valid certificate.
  add({"report forwards",
       v1::MODE_ENFORCE,
       {Rule(v1::PATH_MATCH_ANY, "", v1::RULE_ACTION_REPORT)},
       Auth(CertStatus::kInvalid, nullptr),
       "GET",
       "/",
       zone_host,
       0,
       0,
       ""});
  add({"report identity mismatch forwards",
       v1::MODE_ENFORCE,
       {[] {
         v1::AccessRule r = Rule(v1::PATH_MATCH_ANY, "", v1::RULE_ACTION_REPORT);
         r.mutable_identity()->set_subject_cn("kiosk-.*");
         return r;
       }()},
       Auth(CertStatus::kValid, &device_),
       "GET",
       "/",
       zone_host,
       0,
       0,
       "identity_mismatch:subject_cn"});
  // Identity constraints, one row admitting and one refusing each.
  struct IdCase {
    const char* name;
    std::function<void(v1::IdentityConstraints*)> set;
    const char* refusal;
  };
  std::vector<IdCase> ids = {
      {"san_dns", [](auto* id) { id->add_san_dns("*.devices.acme.example"); }, "san_dns"},
      {"san_uri", [](auto* id) { id->add_san_uri("spiffe://acme.example/device/*"); }, "san_uri"},
      {"san_email", [](auto* id) { id->add_san_email("*@acme.example"); }, "san_email"},
      {"san_ip", [](auto* id) { id->add_san_ip("10.1.0.0/16"); }, "san_ip"},
      {"spiffe",
       [](auto* id) {
         id->set_spiffe_trust_domain("acme.example");
         id->set_spiffe_path_prefix("/device/");
       },
       "spiffe"},
      {"subject_cn", [](auto* id) { id->set_subject_cn("pos-[0-9]+"); }, "subject_cn"},
      {"subject_o", [](auto* id) { id->set_subject_o("Acme"); }, "subject_o"},
      {"issuer", [&root_id](auto* id) { id->add_issuers(root_id); }, "issuer"},
      {"eku", [](auto* id) { id->add_ekus("clientAuth"); }, ""},
  };
  for (const IdCase& id : ids) {
    auto row = [&](const KeyAndCert& cert, int status, std::string refusal) {
      add({id.name,
           v1::MODE_OFF,
           {identity_rule(id.set)},
           Auth(CertStatus::kValid, &cert),
           "GET",
           "/id/x",
           zone_host,
           status,
           0,
           std::move(refusal)});
    };
    row(device_, 0, "");
    if (id.refusal[0] != '\0') {
      // The constraint that failed is named, not just any.
      row(other_, 403, std::string("identity_mismatch:") + id.refusal);
    }
  }
  add({"eku refused",
       v1::MODE_OFF,
       {identity_rule([](auto* id) { id->add_ekus("serverAuth"); })},
       Auth(CertStatus::kValid, &device_),
       "GET",
       "/id/x",
       zone_host,
       403,
       0,
       "identity_mismatch:eku"});
  add({"invalid certificate fails identity rule",
       v1::MODE_OFF,
       {identity_rule([](auto* id) { id->set_subject_cn(".*"); })},
       Auth(CertStatus::kInvalid, &device_),
       "GET",
       "/id/x",
       zone_host,
       403,
       0,
       ""});
  // Allowlist: fingerprints, pinned certificates.
  auto pin_rule = [&](const std::string& fp) {
    return identity_rule([fp](auto* id) { id->add_fingerprints_sha256(fp); });
  };
  add({"allowlisted chained certificate",
       v1::MODE_OFF,
       {pin_rule(device_fp)},
       Auth(CertStatus::kValid, &device_),
       "GET",
       "/id/x",
       zone_host,
       0,
       0,
       ""});
  add({"chained certificate not allowlisted",
       v1::MODE_OFF,
       {pin_rule(device_fp)},
       Auth(CertStatus::kValid, &other_),
       "GET",
       "/id/x",
       zone_host,
       403,
       0,
       "not_allowlisted"});
  add({"pinned self-signed admitted where pinned",
       v1::MODE_ENFORCE,
       {pin_rule(pinned_fp)},
       Auth(CertStatus::kValid, &self_signed, /*pinned=*/true),
       "GET",
       "/id/x",
       zone_host,
       0,
       0,
       ""});
  add({"pinned self-signed refused elsewhere",
       v1::MODE_ENFORCE,
       {pin_rule(pinned_fp)},
       Auth(CertStatus::kValid, &self_signed, /*pinned=*/true),
       "GET",
       "/other",
       zone_host,
       403,
       -1,
       "not_allowlisted"});
  // Host (wildcard zones).
  v1::AccessRule only_a = Rule(v1::PATH_MATCH_ANY, "", v1::RULE_ACTION_ENFORCE);
  only_a.set_host("a.acme.example");
  add({"host matches",
       v1::MODE_OFF,
       {only_a},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       "a.acme.example",
       403,
       0,
       ""});
  add({"host does not match",
       v1::MODE_OFF,
       {only_a},
       Auth(CertStatus::kNone, nullptr),
       "GET",
       "/",
       "b.acme.example",
       0,
       -1,
       ""});

  for (const Case& c : cases) {
    std::string hostname =
        c.rules.empty() || c.rules[0].host().empty() ? zone_host : "*.acme.example";
    std::unique_ptr<ZoneConfig> zone = Zone(hostname, c.mode, c.rules);
    HttpHeaders headers = {{"Host", c.host}};
    RequestDecision d = DecideRequest(*zone, c.auth, c.method, c.target, headers, true);
    EXPECT_EQ(d.status, c.want_status) << c.name << ": " << d.message << " " << d.refusal;
    EXPECT_EQ(d.rule, c.want_rule) << c.name;
    EXPECT_EQ(d.refusal, c.want_refusal) << c.name;
  }
}

// What a hostile tenant uploads is refused with one line naming the rule.
TEST(AccessPolicyTest, RefusesBadRules) {
  struct Case {
    const char* name;
    v1::AccessRule rule;
    const char* want;
  };
  auto with = [](auto set) {
    v1::AccessRule rule = Rule(v1::PATH_MATCH_PREFIX, "/a/", v1::RULE_ACTION_ENFORCE);
    set(&rule);
    return rule;
  };
  std::vector<Case> cases = {
      {"bad regex", Rule(v1::PATH_MATCH_REGEX, "/(a", v1::RULE_ACTION_ENFORCE), "not a valid RE2"},
      {"huge regex", Rule(v1::PATH_MATCH_REGEX, "((a{100}){100}){100}", v1::RULE_ACTION_ENFORCE),
       "RE2"},
      {"long regex", Rule(v1::PATH_MATCH_REGEX, std::string(600, 'a'), v1::RULE_ACTION_ENFORCE),
       "longer than"},
      {"backreference", Rule(v1::PATH_MATCH_REGEX, "(a)\\1", v1::RULE_ACTION_ENFORCE),
       "not a valid RE2"},
      {"relative prefix", Rule(v1::PATH_MATCH_PREFIX, "api/", v1::RULE_ACTION_ENFORCE),
       "must start with /"},
      {"unnormalised prefix", Rule(v1::PATH_MATCH_PREFIX, "/a/../b", v1::RULE_ACTION_ENFORCE),
       "not normalised"},
      {"no action", Rule(v1::PATH_MATCH_PREFIX, "/a/", v1::RULE_ACTION_UNSPECIFIED), "action"},
      {"lowercase method", with([](v1::AccessRule* r) { r->add_methods("get"); }), "uppercase"},
      {"bad cn regex", with([](v1::AccessRule* r) { r->mutable_identity()->set_subject_cn("("); }),
       "subject CN regex"},
      {"bad fingerprint",
       with([](v1::AccessRule* r) { r->mutable_identity()->add_fingerprints_sha256("abc"); }),
       "64 hex"},
      {"bad ip", with([](v1::AccessRule* r) { r->mutable_identity()->add_san_ip("10.0.0.0/33"); }),
       "prefix"},
      {"bad eku", with([](v1::AccessRule* r) { r->mutable_identity()->add_ekus("admin"); }),
       "extended key usage"},
      {"identity with off",
       [] {
         v1::AccessRule r = Rule(v1::PATH_MATCH_PREFIX, "/a/", v1::RULE_ACTION_OFF);
         r.mutable_identity()->set_subject_cn("x");
         return r;
       }(),
       "enforce or report"},
      {"bad spiffe domain",
       with([](v1::AccessRule* r) { r->mutable_identity()->set_spiffe_trust_domain("A/B"); }),
       "trust domain"},
  };
  for (const Case& c : cases) {
    absl::Status status = AccessPolicy::CheckRule(c.rule);
    EXPECT_FALSE(status.ok()) << c.name;
    EXPECT_TRUE(absl::StrContains(status.message(), c.want)) << c.name << ": " << status.message();
    EXPECT_EQ(std::string(status.message()).find('\n'), std::string::npos) << c.name;
    EXPECT_TRUE(absl::StartsWith(status.message(), "access rule 1: ")) << c.name;
  }
  v1::EdgeZone zone;
  for (int i = 0; i <= AccessPolicy::kMaxRules; ++i) {
    *zone.add_access_rules() = Rule(v1::PATH_MATCH_PREFIX, "/a/", v1::RULE_ACTION_ENFORCE);
  }
  absl::StatusOr<std::unique_ptr<const AccessPolicy>> too_many = AccessPolicy::Create(zone);
  EXPECT_FALSE(too_many.ok());
}

// A SPIFFE path prefix stops at a segment boundary: "/device" admits
// "/device" and "/device/a", never a sibling "/device-admin/..." nor a path
// that climbs out of the prefix with dot segments.
TEST_F(AccessRulesDecisionTest, SpiffePrefixIsSegmentExact) {
  for (const char* prefix : {"/device", "/device/"}) {
    v1::AccessRule rule = Rule(v1::PATH_MATCH_ANY, "", v1::RULE_ACTION_ENFORCE);
    rule.mutable_identity()->set_spiffe_trust_domain("acme.example");
    rule.mutable_identity()->set_spiffe_path_prefix(prefix);
    std::unique_ptr<ZoneConfig> zone = Zone("api.acme.example", v1::MODE_ENFORCE, {rule});
    struct Case {
      const char* uri;
      bool admitted;
    } cases[] = {
        {"spiffe://acme.example/device/pos-1", true},
        {"spiffe://ACME.example/device/pos-1", true},
        {"spiffe://acme.example/device-admin/1", false},
        {"spiffe://acme.example/devices", false},
        {"spiffe://acme.example/device/../admin", false},
        {"spiffe://acme.example.evil/device/pos-1", false},
        {"spiffe://acme.example", false},
    };
    for (const Case& c : cases) {
      CertificateSpec spec;
      spec.common_name = "spiffe-case";
      spec.client_auth = true;
      spec.uris = {c.uri};
      KeyAndCert cert = Issue(spec, root_);
      ConnectionAuth auth = Auth(CertStatus::kValid, &cert);
      RuleVerdict verdict = zone->access->Evaluate(zone->mode, "api.acme.example", "GET", "/x",
                                                   true, "", false, auth.identity.get());
      EXPECT_EQ(verdict.refusal, c.admitted ? "" : "identity_mismatch:spiffe")
          << prefix << " " << c.uri;
    }
  }
}

// A pinned certificate is vouched for only under the rule that lists it:
// under another rule, whatever its action, or the zone's mode, the origin
// must not be told it is valid.
TEST_F(AccessRulesDecisionTest, PinnedCertificateIsWithheldOutsideItsRule) {
  CertificateSpec spec;
  spec.common_name = "pinned-sensor";
  spec.client_auth = true;
  KeyAndCert sensor = SelfSign(spec);
  v1::AccessRule pin = Rule(v1::PATH_MATCH_PREFIX, "/ingest", v1::RULE_ACTION_ENFORCE);
  pin.mutable_identity()->add_fingerprints_sha256(Sha256FingerprintHex(sensor.cert.get()));
  v1::AccessRule health = Rule(v1::PATH_MATCH_EXACT, "/health", v1::RULE_ACTION_OFF);
  v1::AccessRule admin = Rule(v1::PATH_MATCH_PREFIX, "/admin/", v1::RULE_ACTION_REPORT);
  std::unique_ptr<ZoneConfig> zone =
      Zone("api.acme.example", v1::MODE_REPORT, {pin, health, admin});
  ConnectionAuth pinned = Auth(CertStatus::kValid, &sensor, /*pinned=*/true);
  ConnectionAuth chained = Auth(CertStatus::kValid, &device_);
  HttpHeaders headers = {{"Host", "api.acme.example"}};
  struct Case {
    const char* target;
    const ConnectionAuth* auth;
    int status;
    bool withheld;
    const char* refusal;
  } cases[] = {
      {"/ingest", &pinned, 0, false, ""},
      {"/health", &pinned, 0, true, "not_allowlisted"},
      {"/admin/users", &pinned, 0, true, "not_allowlisted"},
      {"/other", &pinned, 0, true, "not_allowlisted"},
      {"/health", &chained, 0, false, ""},
      {"/admin/users", &chained, 0, false, ""},
      // The pin's rule under one reading, /admin/ under another: not vouched.
      {"/ingest%2F..%2Fadmin/users", &pinned, 403, true, "not_allowlisted"},
      {"/ingest/..;/admin/users", &pinned, 403, true, "not_allowlisted"},
      {"/ingest%2Fdata", &pinned, 0, false, ""},
  };
  for (const Case& c : cases) {
    RequestDecision d = DecideRequest(*zone, *c.auth, "GET", c.target, headers, true);
    EXPECT_EQ(d.status, c.status) << c.target;
    EXPECT_EQ(d.withhold_certificate, c.withheld) << c.target;
    EXPECT_EQ(d.refusal, c.refusal) << c.target;
  }
}

// A path origins read two ways (%2F, %5C, '\\', ";params") must pass the
// rules under both readings: "/public%2F..%2Fapi" is "/api" to a decoding
// router, "/public/..;/api" is "/api" to Tomcat.
TEST_F(AccessRulesDecisionTest, AmbiguousPathsMustPassUnderEveryReading) {
  std::unique_ptr<ZoneConfig> zone =
      Zone("api.acme.example", v1::MODE_OFF,
           {Rule(v1::PATH_MATCH_PREFIX, "/api/", v1::RULE_ACTION_ENFORCE)});
  ConnectionAuth none = Auth(CertStatus::kNone, nullptr);
  ConnectionAuth device = Auth(CertStatus::kValid, &device_);
  HttpHeaders headers = {{"Host", "api.acme.example"}};
  struct Case {
    const char* target;
    int without_certificate;
  } cases[] = {
      {"/public%2F..%2Fapi/x", 403}, {"/public%2f..%2fapi/x", 403},
      {"/public%5C..%5Capi/x", 403}, {"/public/..;/api/x", 403},
      {"/public\\..\\api\\x", 403},  {"/api%2Fx", 403},
      {"/api;v=1/x", 403},           {"/public%2Fdata", 0},
      {"/public;v=1/x", 0},          {"/public/x", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecideRequest(*zone, none, "GET", c.target, headers, true).status,
              c.without_certificate)
        << c.target;
    EXPECT_EQ(DecideRequest(*zone, device, "GET", c.target, headers, true).status, 0) << c.target;
  }
}

TEST(AccessPolicyTest, NormalizePath) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"/", "/"},           {"/a/b?x=/c", "/a/b"},
      {"/%61pi/", "/api/"}, {"/a/./b", "/a/b"},
      {"/a/../../b", "/b"}, {"//a//b/", "/a/b/"},
      {"/a%2Fb", "/a%2Fb"}, {"/a/..", "/"},
      {"/a/.", "/a/"},      {"", "/"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AccessPolicy::NormalizePath(c.in), c.want) << c.in;
  }
}

TEST(AccessPolicyTest, NormalizePathDecodingSeparators) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"/a%2Fb", "/a/b"}, {"/a%2f..%2fb", "/b"},  {"/a%5Cb", "/a/b"},       {"/a\\b", "/a/b"},
      {"/a/..;/b", "/b"}, {"/a;x=1/b;y", "/a/b"}, {"/a%252Fb", "/a%252Fb"}, {"/%61pi/", "/api/"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AccessPolicy::NormalizePath(c.in, AccessPolicy::PathReading::kDecodeSeparators),
              c.want)
        << c.in;
  }
}

}  // namespace
}  // namespace certgate::edge
