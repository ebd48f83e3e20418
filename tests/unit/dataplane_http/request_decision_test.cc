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
    RequestDecision d = DecideRequest(zone, c.status, c.target, c.headers, /*keep_alive=*/true);
    EXPECT_EQ(d.status, c.want_status) << c.name << ": " << d.message;
    if (c.want_status != 0) {
      EXPECT_EQ(d.keep_alive, c.want_keep_alive) << c.name;
      EXPECT_FALSE(d.message.empty()) << c.name;
    } else {
      EXPECT_EQ(d.origin_form, c.want_origin_form) << c.name;
    }
  }
}

}  // namespace
}  // namespace certgate::edge
