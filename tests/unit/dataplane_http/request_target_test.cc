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
