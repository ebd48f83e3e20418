#include "dataplane/http/request_decision.h"

#include <string>

#include "dataplane/config/edge_config.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

TEST(RequestDecisionTest, Table) {
  struct Case {
    const char* name;
    const char* zone;
    v1::Mode mode;
    CertStatus status;
    const char* target;
    HttpHeaders headers;
    int want_status;
    bool want_keep_alive;
    const char* want_origin_form;
  } cases[] = {
      {"valid, origin form",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kValid,
       "/a?b",
       {{"Host", "auth.pizza"}},
       0,
       false,
       "/a?b"},
      {"port and case in Host",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kValid,
       "/",
       {{"Host", "Auth.Pizza:8443"}},
       0,
       false,
       "/"},
      {"no Host", "auth.pizza", v1::MODE_REPORT, CertStatus::kValid, "/", {}, 400, false, ""},
      {"two Hosts",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kValid,
       "/",
       {{"Host", "auth.pizza"}, {"host", "auth.pizza"}},
       400,
       false,
       ""},
      {"Host of another zone",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kValid,
       "/",
       {{"Host", "bank.pizza"}},
       421,
       true,
       ""},
      {"absolute target of another zone",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kValid,
       "http://bank.pizza/x",
       {{"Host", "auth.pizza"}},
       421,
       true,
       ""},
      {"absolute target of this zone",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kValid,
       "https://auth.pizza:443/x?y",
       {{"Host", "auth.pizza"}},
       0,
       false,
       "/x?y"},
      {"control byte in target",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kValid,
       "/a\tb",
       {{"Host", "auth.pizza"}},
       400,
       false,
       ""},
      {"enforce without certificate",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kNone,
       "/",
       {{"Host", "auth.pizza"}},
       403,
       true,
       ""},
      {"enforce with invalid certificate",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kInvalid,
       "/",
       {{"Host", "auth.pizza"}},
       403,
       true,
       ""},
      {"report forwards invalid",
       "auth.pizza",
       v1::MODE_REPORT,
       CertStatus::kInvalid,
       "/",
       {{"Host", "auth.pizza"}},
       0,
       false,
       "/"},
      {"off forwards none",
       "auth.pizza",
       v1::MODE_OFF,
       CertStatus::kNone,
       "/",
       {{"Host", "auth.pizza"}},
       0,
       false,
       "/"},
      {"wildcard, one level",
       "*.auth.pizza",
       v1::MODE_OFF,
       CertStatus::kNone,
       "/",
       {{"Host", "a.auth.pizza"}},
       0,
       false,
       "/"},
      {"wildcard, two levels",
       "*.auth.pizza",
       v1::MODE_OFF,
       CertStatus::kNone,
       "/",
       {{"Host", "a.b.auth.pizza"}},
       421,
       true,
       ""},
      // HostWithoutPort reads the zone's host here; an origin reads userinfo
      // "auth.pizza:443" and routes to bank.example.
      {"userinfo hiding another host",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kValid,
       "/",
       {{"Host", "auth.pizza:443@bank.example"}},
       400,
       false,
       ""},
      {"userinfo, wildcard zone",
       "*.auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kValid,
       "/",
       {{"Host", "bank@a.auth.pizza"}},
       400,
       false,
       ""},
      // A Host check comes before the mode: a misdirected request is 421 even
      // without a certificate.
      {"421 before 403",
       "auth.pizza",
       v1::MODE_ENFORCE,
       CertStatus::kNone,
       "/",
       {{"Host", "bank.pizza"}},
       421,
       true,
       ""},
  };
  for (const Case& c : cases) {
    ZoneConfig zone;
    zone.hostname = c.zone;
    zone.mode = c.mode;
    ConnectionAuth auth;
    auth.status = c.status;
    RequestDecision d = DecideRequest(zone, auth, "GET", c.target, c.headers, /*keep_alive=*/true);
    EXPECT_EQ(d.status, c.want_status) << c.name << ": " << d.message;
    if (c.want_status != 0) {
      EXPECT_EQ(d.keep_alive, c.want_keep_alive) << c.name;
      EXPECT_FALSE(d.message.empty()) << c.name;
    } else {
      EXPECT_EQ(d.origin_form, c.want_origin_form) << c.name;
    }
  }
}

// Upgrade requests: decided like any other, then the upgrade's own rules.
TEST(RequestDecisionTest, UpgradeTable) {
  struct Case {
    const char* name;
    v1::Mode mode;
    CertStatus status;
    HttpHeaders headers;
    int want_status;
    const char* want_upgrade;
  } cases[] = {
      {"websocket",
       v1::MODE_ENFORCE,
       CertStatus::kValid,
       {{"Host", "auth.pizza"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}},
       0,
       "websocket"},
      {"token list and case",
       v1::MODE_REPORT,
       CertStatus::kNone,
       {{"Host", "auth.pizza"}, {"Connection", "keep-alive, UPGRADE"}, {"Upgrade", " websocket "}},
       0,
       "websocket"},
      {"Upgrade without Connection: upgrade is a plain request",
       v1::MODE_REPORT,
       CertStatus::kNone,
       {{"Host", "auth.pizza"}, {"Upgrade", "websocket"}},
       0,
       ""},
      {"enforce without a certificate",
       v1::MODE_ENFORCE,
       CertStatus::kNone,
       {{"Host", "auth.pizza"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}},
       403,
       ""},
      {"h2c",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"}, {"Connection", "Upgrade, HTTP2-Settings"}, {"Upgrade", "h2c"}},
       501,
       ""},
      {"h2c in a list",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"}, {"Connection", "upgrade"}, {"Upgrade", "websocket, H2C"}},
       501,
       ""},
      {"two Upgrade headers",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"},
        {"Connection", "upgrade"},
        {"Upgrade", "websocket"},
        {"Upgrade", "h2c"}},
       400,
       ""},
      {"with a body",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"},
        {"Connection", "upgrade"},
        {"Upgrade", "websocket"},
        {"Content-Length", "5"}},
       400,
       ""},
      {"with a chunked body",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"},
        {"Connection", "upgrade"},
        {"Upgrade", "websocket"},
        {"Transfer-Encoding", "chunked"}},
       400,
       ""},
      {"empty Upgrade",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "auth.pizza"}, {"Connection", "upgrade"}, {"Upgrade", " "}},
       400,
       ""},
      {"another zone's Host",
       v1::MODE_REPORT,
       CertStatus::kValid,
       {{"Host", "bank.pizza"}, {"Connection", "upgrade"}, {"Upgrade", "websocket"}},
       421,
       ""},
  };
  for (const Case& c : cases) {
    ZoneConfig zone;
    zone.hostname = "auth.pizza";
    zone.mode = c.mode;
    ConnectionAuth auth;
    auth.status = c.status;
    RequestDecision d = DecideRequest(zone, auth, "GET", "/ws", c.headers, /*keep_alive=*/true);
    EXPECT_EQ(d.status, c.want_status) << c.name << ": " << d.message;
    EXPECT_EQ(d.upgrade, c.want_upgrade) << c.name;
    if (c.want_status != 0) {  // every refused case asks for an upgrade
      // Whatever follows a refused upgrade request is not read as HTTP.
      EXPECT_FALSE(d.keep_alive) << c.name;
    }
  }
}

}  // namespace
}  // namespace certgate::edge
