#include "dataplane/http/origin_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

// Sockaddr: `address` (IPv4 or IPv6 text) and `port` as a connect would use.
sockaddr_storage Sockaddr(const std::string& address, uint16_t port) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr), 1) << address;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
  }
  return storage;
}

struct GuardCase {
  std::string address;
  uint16_t port;
  std::string label;   // "" when allowed
  std::string reason;  // part of the reason when refused
};

class OriginGuardTest : public ::testing::TestWithParam<GuardCase> {};

// The edge listens on 127.0.0.1:8443 and [::1]:8443, metrics on 0.0.0.0:9100;
// 127.0.0.0/8, ::1 and 0.0.0.0 are allowed origins.
TEST_P(OriginGuardTest, RefusesPolicyAndOwnSockets) {
  const GuardCase& c = GetParam();
  absl::StatusOr<OriginPolicy> policy =
      OriginPolicy::Create({"127.0.0.0/8", "::1/128", "0.0.0.0/32"});
  ASSERT_TRUE(policy.ok());
  auto guard = OriginGuard::Create(*policy, {{"listen", HostPort{"127.0.0.1", 8443}},
                                             {"listen", HostPort{"::1", 8443}},
                                             {"metrics-listen", HostPort{"0.0.0.0", 9100}}});
  ASSERT_TRUE(guard.ok()) << guard.status();
  sockaddr_storage addr = Sockaddr(c.address, c.port);
  std::optional<OriginGuard::Refusal> refused =
      (*guard)->Check(reinterpret_cast<const sockaddr*>(&addr));
  if (c.label.empty()) {
    EXPECT_FALSE(refused.has_value()) << c.address << ":" << c.port << " " << refused->reason;
  } else {
    ASSERT_TRUE(refused.has_value()) << c.address << ":" << c.port << " was allowed";
    EXPECT_EQ(refused->label, c.label);
    EXPECT_TRUE(absl::StrContains(refused->reason, c.reason)) << refused->reason;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, OriginGuardTest,
    ::testing::Values(GuardCase{"127.0.0.1", 8080, "", ""}, GuardCase{"8.8.8.8", 8443, "", ""},
                      GuardCase{"8.8.8.8", 9100, "", ""},    // not this host
                      GuardCase{"127.0.0.2", 8443, "", ""},  // the listener is on 127.0.0.1 only
                      GuardCase{"127.0.0.1", 8443, "own-listener",
                                "127.0.0.1 port 8443 is this edge's own "
                                "--listen socket"},
                      GuardCase{"::ffff:127.0.0.1", 8443, "own-listener", "own --listen socket"},
                      GuardCase{"::1", 8443, "own-listener", "own --listen socket"},
                      GuardCase{"0.0.0.0", 8443, "own-listener", "own --listen socket"},
                      // Metrics on 0.0.0.0: every local address on its port.
                      GuardCase{"127.0.0.1", 9100, "own-listener", "own --metrics-listen socket"},
                      GuardCase{"127.9.9.9", 9100, "own-listener", "own --metrics-listen socket"},
                      GuardCase{"0.0.0.0", 9100, "own-listener", "own --metrics-listen socket"},
                      GuardCase{"::1", 9100, "own-listener", "own --metrics-listen socket"},
                      // The policy comes first.
                      GuardCase{"169.254.169.254", 80, "link-local",
                                "169.254.169.254 is link-local"},
                      GuardCase{"::ffff:169.254.169.254", 80, "link-local", "is link-local"},
                      GuardCase{"10.0.0.1", 9100, "private", "10.0.0.1 is private"},
                      GuardCase{"fe80::1", 80, "link-local", "fe80::1 is link-local"}));

TEST(OriginGuardCreateTest, AListenerThatDoesNotResolveIsAnError) {
  auto guard = OriginGuard::Create(OriginPolicy(),
                                   {{"metrics-listen", HostPort{"no-such-host.invalid", 9100}}});
  ASSERT_FALSE(guard.ok());
  EXPECT_TRUE(absl::StrContains(guard.status().message(), "--metrics-listen no-such-host.invalid"))
      << guard.status();
}

}  // namespace
}  // namespace certgate::edge
