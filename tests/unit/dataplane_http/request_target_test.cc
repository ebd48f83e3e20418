#include "dataplane/http/request_target.h"

#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

struct TargetCase {
  const char* target;
  bool ok;
  const char* host;
  const char* origin_form;
};

TEST(RequestTargetTest, Table) {
  const TargetCase cases[] = {
      {"/", true, "", "/"},
      {"/a/b?c=d", true, "", "/a/b?c=d"},
      {"*", true, "", "*"},
      {"http://auth.pizza/x?y=1", true, "auth.pizza", "/x?y=1"},
      {"https://AUTH.pizza:8443", true, "auth.pizza", "/"},
      {"http://evil.example/admin", true, "evil.example", "/admin"},
      {"http://auth.pizza./x", true, "auth.pizza", "/x"},
      {"auth.pizza/x", false, "", ""},
      {"http:///nohost", false, "", ""},
      {"", false, "", ""},
  };
  for (const TargetCase& c : cases) {
    SCOPED_TRACE(c.target);
    absl::StatusOr<RequestTarget> target = ParseRequestTarget(c.target);
    ASSERT_EQ(target.ok(), c.ok) << target.status();
    if (c.ok) {
      EXPECT_EQ(target->host, c.host);
      EXPECT_EQ(target->origin_form, c.origin_form);
    }
  }
}

}  // namespace
}  // namespace certgate::edge

namespace certgate::edge {
namespace {

TEST(CheckRequestHeadBytesTest, RefusesControlBytesHttpParserLetsThrough) {
  HttpHeaders clean = {{"Host", "auth.pizza"}, {"X-A", "a\tb"}};
  EXPECT_TRUE(CheckRequestHeadBytes("/a?b", clean).ok());
  EXPECT_FALSE(CheckRequestHeadBytes("/a\tb", clean).ok());
  EXPECT_FALSE(CheckRequestHeadBytes("/a\fb", clean).ok());
  EXPECT_FALSE(CheckRequestHeadBytes("/a b", clean).ok());
  HttpHeaders spaced = {{"Host", "auth.pizza"}, {"X-Client-Cert-Status ", "valid"}};
  EXPECT_EQ(CheckRequestHeadBytes("/", spaced).message(), "header name is not an HTTP token");
  for (std::string value : {std::string("\0evil", 5),
                            std::string("\x01"
                                        "abc"),
                            std::string("a\x7f"), std::string("a\rb")}) {
    HttpHeaders headers = {{"Host", "auth.pizza"}, {"X-A", value}};
    absl::Status status = CheckRequestHeadBytes("/", headers);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "control byte in the value of header X-A");
  }
}

}  // namespace
}  // namespace certgate::edge
