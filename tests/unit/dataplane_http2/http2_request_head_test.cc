#include "dataplane/http2/http2_request_head.h"

#include "dataplane/config/edge_config.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/request_decision.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

TEST(Http2RequestHeadTest, CheckAuthorityTable) {
  struct Case {
    const char* name;
    const char* zone;
    const char* authority;
    HttpHeaders fields;
    int want_status;
    const char* want_host;
  } cases[] = {
      {"authority in zone", "auth.pizza", "auth.pizza", {}, 0, "auth.pizza"},
      {"port and case", "auth.pizza", "AUTH.Pizza:8443", {}, 0, "auth.pizza"},
      {"trailing dot", "auth.pizza", "auth.pizza.", {}, 0, "auth.pizza"},
      {"another zone", "auth.pizza", "bank.example", {}, 421, "bank.example"},
      {"a name under the zone", "auth.pizza", "a.auth.pizza", {}, 421, "a.auth.pizza"},
      {"wildcard zone", "*.auth.pizza", "a.auth.pizza", {}, 0, "a.auth.pizza"},
      {"wildcard, two labels", "*.auth.pizza", "a.b.auth.pizza", {}, 421, "a.b.auth.pizza"},
      {"Host only", "auth.pizza", "", {{"host", "auth.pizza"}}, 0, "auth.pizza"},
      {"Host only, another zone", "auth.pizza", "", {{"host", "x.example"}}, 421, "x.example"},
      {"both, same host",
       "auth.pizza",
       "auth.pizza:443",
       {{"host", "Auth.pizza"}},
       0,
       "auth.pizza"},
      {"both, different hosts",
       "auth.pizza",
       "auth.pizza",
       {{"host", "bank.example"}},
       400,
       "auth.pizza"},
      {"two Host fields",
       "auth.pizza",
       "auth.pizza",
       {{"host", "auth.pizza"}, {"host", "auth.pizza"}},
       400,
       ""},
      {"no host at all", "auth.pizza", "", {}, 400, ""},
      {"IPv6 literal", "auth.pizza", "[::1]:443", {}, 421, "[::1]"},
      // HostWithoutPort alone reads "auth.pizza" here; an origin reads
      // userinfo "auth.pizza:443" and host bank.example.
      {"userinfo hiding another host", "auth.pizza", "auth.pizza:443@bank.example", {}, 400, ""},
      {"userinfo before the host", "auth.pizza", "bank.example@auth.pizza", {}, 400, ""},
      {"userinfo, wildcard zone", "*.auth.pizza", "bank@a.auth.pizza", {}, 400, ""},
      {"port not a number", "auth.pizza", "auth.pizza:x", {}, 400, ""},
      {"path in the authority", "*.auth.pizza", "bank/a.auth.pizza", {}, 400, ""},
      {"Host with userinfo beside :authority",
       "auth.pizza",
       "auth.pizza",
       {{"host", "auth.pizza:1@bank.example"}},
       400,
       ""},
      {"Host only, with userinfo",
       "auth.pizza",
       "",
       {{"host", "auth.pizza:1@bank.example"}},
       400,
       ""},
  };
  for (const Case& c : cases) {
    Http2RequestHead head;
    head.authority = c.authority;
    head.fields = c.fields;
    AuthorityCheck got = CheckAuthority(head, c.zone);
    EXPECT_EQ(got.status, c.want_status) << c.name << ": " << got.message;
    EXPECT_EQ(got.host, c.want_host) << c.name;
    EXPECT_EQ(got.status == 0, got.message.empty()) << c.name;
  }
}

TEST(Http2RequestHeadTest, CheckRequestHeadTable) {
  struct Case {
    const char* method;
    const char* scheme;
    const char* path;
    int want_status;
  } cases[] = {
      {"GET", "https", "/a?b", 0},
      {"GET", "http", "/", 0},
      {"OPTIONS", "https", "*", 0},
      {"GET", "https", "*", 400},
      {"GET", "https", "a", 400},
      {"GET", "https", "", 400},
      {"GET", "https", "http://bank.example/", 400},
      {"GET", "foo", "/", 400},
      {"GET", "", "/", 400},
      {"CONNECT", "", "", 501},
      {"CONNECT", "https", "/", 501},
  };
  for (const Case& c : cases) {
    Http2RequestHead head;
    head.method = c.method;
    head.scheme = c.scheme;
    head.path = c.path;
    head.authority = "auth.pizza";
    AuthorityCheck got = CheckRequestHead(head, "auth.pizza");
    EXPECT_EQ(got.status, c.want_status) << c.method << " " << c.scheme << " " << c.path;
    EXPECT_EQ(got.status == 0, got.message.empty()) << c.path;
  }
  // The authority is still checked once the target passes.
  Http2RequestHead other;
  other.method = "GET";
  other.scheme = "https";
  other.path = "/";
  other.authority = "bank.example";
  EXPECT_EQ(CheckRequestHead(other, "auth.pizza").status, 421);
}

TEST(Http2RequestHeadTest, Http1HeadersFeedDecideRequest) {
  ZoneConfig zone;
  zone.hostname = "auth.pizza";
  zone.mode = v1::MODE_ENFORCE;
  Http2RequestHead head;
  head.method = "GET";
  head.authority = "auth.pizza";
  head.path = "/p?q";
  head.fields = {{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}};
  HttpHeaders h1 = Http1Headers(head);
  ASSERT_EQ(h1.size(), 3u);
  EXPECT_EQ(h1[0].name, "host");
  EXPECT_EQ(h1[0].value, "auth.pizza");
  EXPECT_EQ(*FindHeader(h1, "cookie"), "a=1; b=2");

  ConnectionAuth valid_auth;
  valid_auth.status = CertStatus::kValid;
  ConnectionAuth no_auth;
  RequestDecision valid = DecideRequest(zone, valid_auth, head.method, head.path, h1, true);
  EXPECT_EQ(valid.status, 0);
  EXPECT_EQ(valid.origin_form, "/p?q");
  RequestDecision none = DecideRequest(zone, no_auth, head.method, head.path, h1, true);
  EXPECT_EQ(none.status, 403);

  // A request head whose bytes the HTTP/1.1 path refuses is refused here too.
  head.fields = {{"x-bad", std::string("a\x01z", 3)}};
  EXPECT_EQ(
      DecideRequest(zone, valid_auth, head.method, head.path, Http1Headers(head), true).status,
      400);
}

}  // namespace
}  // namespace certgate::edge
