#include "common/control_endpoints.h"

#include "gtest/gtest.h"

namespace certgate {
namespace {

TEST(ControlEndpointsTest, ParsesOneOrSeveralReplicas) {
  auto one = ControlEndpoints::Parse("control.example.test:7443");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->addresses(), std::vector<std::string>{"control.example.test:7443"});
  EXPECT_EQ(one->GrpcTarget().value(), "control.example.test:7443");

  auto several = ControlEndpoints::Parse("127.0.0.1:7001, 127.0.0.2:7002,[::1]:7003");
  ASSERT_TRUE(several.ok()) << several.status();
  EXPECT_EQ(several->addresses(),
            (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.2:7002", "[::1]:7003"}));
  // IPv4 when there is any: one gRPC scheme per target.
  EXPECT_EQ(several->GrpcTarget().value(), "ipv4:127.0.0.1:7001,127.0.0.2:7002");
  EXPECT_EQ(several->TlsName(), "127.0.0.1");

  auto names = ControlEndpoints::Parse("localhost:7001,127.0.0.1:7002");
  ASSERT_TRUE(names.ok());
  auto target = names->GrpcTarget();
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_NE(target->find("127.0.0.1:7001"), std::string::npos) << *target;
  EXPECT_NE(target->find("127.0.0.1:7002"), std::string::npos) << *target;
}

TEST(ControlEndpointsTest, RefusesBadEntriesNamingThem) {
  struct Case {
    const char* list;
    const char* error;
  };
  for (const Case& c : {
           Case{"", "control plane address \"\" in \"\": expected HOST:PORT"},
           Case{"a:1,,b:2", "control plane address \"\" in \"a:1,,b:2\": expected HOST:PORT"},
           Case{"a:1,b", "control plane address \"b\" in \"a:1,b\": expected HOST:PORT"},
           Case{"a:0", "control plane address \"a:0\" in \"a:0\": expected HOST:PORT"},
           Case{"a:65536", "control plane address \"a:65536\" in \"a:65536\": expected HOST:PORT"},
           Case{":80", "control plane address \":80\" in \":80\": expected HOST:PORT"},
           Case{"a:1,a:1", "control plane address a:1 is listed twice"},
       }) {
    auto parsed = ControlEndpoints::Parse(c.list);
    ASSERT_FALSE(parsed.ok()) << c.list;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), c.error);
  }
  auto unresolvable = ControlEndpoints::Parse("a:1,no-such-host.invalid:2");
  ASSERT_TRUE(unresolvable.ok());
  auto target = unresolvable->GrpcTarget();
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace certgate
