#include "common/origin_policy.h"

#include <netinet/in.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace certgate {
namespace {

IpAddress Ip(const std::string& text) {
  absl::StatusOr<IpAddress> address = ParseIpLiteral(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? *address : IpAddress();
}

struct ClassCase {
  std::string address;
  AddressClass want;
  std::string judged;  // the address the class applies to (IPv4 for embedded)
};

class ClassifyAddressTest : public ::testing::TestWithParam<ClassCase> {};

TEST_P(ClassifyAddressTest, Classifies) {
  const ClassCase& c = GetParam();
  ClassifiedAddress got = ClassifyAddress(Ip(c.address));
  EXPECT_EQ(AddressClassName(got.address_class), std::string(AddressClassName(c.want)))
      << c.address;
  EXPECT_EQ(got.judged.ToString(), c.judged.empty() ? Ip(c.address).ToString() : c.judged);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyAddressTest,
    ::testing::Values(
        ClassCase{"8.8.8.8", AddressClass::kPublic, ""},
        ClassCase{"1.1.1.1", AddressClass::kPublic, ""},
        ClassCase{"2606:4700::1111", AddressClass::kPublic, ""},
        ClassCase{"127.0.0.1", AddressClass::kLoopback, ""},
        ClassCase{"127.255.0.9", AddressClass::kLoopback, ""},
        ClassCase{"::1", AddressClass::kLoopback, ""},
        ClassCase{"10.0.0.1", AddressClass::kPrivate, ""},
        ClassCase{"172.16.0.1", AddressClass::kPrivate, ""},
        ClassCase{"172.31.255.255", AddressClass::kPrivate, ""},
        ClassCase{"172.32.0.1", AddressClass::kPublic, ""},
        ClassCase{"192.168.1.1", AddressClass::kPrivate, ""},
        ClassCase{"fc00::1", AddressClass::kPrivate, ""},
        ClassCase{"fd12:3456::1", AddressClass::kPrivate, ""},
        ClassCase{"fec0::1", AddressClass::kPrivate, ""},
        ClassCase{"64:ff9b:1::a", AddressClass::kPrivate, ""},
        ClassCase{"100.64.0.1", AddressClass::kSharedCgnat, ""},
        ClassCase{"100.127.255.255", AddressClass::kSharedCgnat, ""},
        ClassCase{"100.128.0.1", AddressClass::kPublic, ""},
        ClassCase{"0.0.0.0", AddressClass::kUnspecified, ""},
        ClassCase{"0.1.2.3", AddressClass::kUnspecified, ""},
        ClassCase{"::", AddressClass::kUnspecified, ""},
        ClassCase{"169.254.169.254", AddressClass::kLinkLocal, ""},
        ClassCase{"169.254.0.1", AddressClass::kLinkLocal, ""},
        ClassCase{"fe80::1", AddressClass::kLinkLocal, ""},
        ClassCase{"febf::1", AddressClass::kLinkLocal, ""},
        ClassCase{"224.0.0.1", AddressClass::kMulticast, ""},
        ClassCase{"239.255.255.250", AddressClass::kMulticast, ""},
        ClassCase{"ff02::1", AddressClass::kMulticast, ""},
        ClassCase{"255.255.255.255", AddressClass::kReserved, ""},
        ClassCase{"240.0.0.1", AddressClass::kReserved, ""},
        ClassCase{"192.0.2.1", AddressClass::kReserved, ""},
        ClassCase{"198.18.0.1", AddressClass::kReserved, ""},
        ClassCase{"2001:db8::1", AddressClass::kReserved, ""},
        ClassCase{"2001::1", AddressClass::kReserved, ""},  // Teredo
        ClassCase{"100::1", AddressClass::kReserved, ""},
        ClassCase{"::7f00:1", AddressClass::kReserved, ""},  // IPv4-compatible, deprecated
        ClassCase{"4000::1", AddressClass::kReserved, ""},   // outside 2000::/3
        // IPv6 forms that carry an IPv4 address are judged as that address.
        ClassCase{"::ffff:169.254.169.254", AddressClass::kLinkLocal, "169.254.169.254"},
        ClassCase{"::ffff:127.0.0.1", AddressClass::kLoopback, "127.0.0.1"},
        ClassCase{"::ffff:8.8.8.8", AddressClass::kPublic, "8.8.8.8"},
        ClassCase{"64:ff9b::a9fe:a9fe", AddressClass::kLinkLocal, "169.254.169.254"},
        ClassCase{"64:ff9b::10.0.0.1", AddressClass::kPrivate, "10.0.0.1"},
        ClassCase{"2002:a9fe:a9fe::1", AddressClass::kLinkLocal, "169.254.169.254"},
        ClassCase{"2002:7f00:1::", AddressClass::kLoopback, "127.0.0.1"},
        ClassCase{"2002:0808:0808::1", AddressClass::kPublic, "8.8.8.8"}));

struct PolicyCase {
  std::vector<std::string> allow;
  std::string address;
  bool allowed;
  std::string reason;  // part of the refusal message
};

class OriginPolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(OriginPolicyTest, AllowsOrRefusesWithReason) {
  const PolicyCase& c = GetParam();
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Create(c.allow);
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::Status got = policy->Check(Ip(c.address));
  if (c.allowed) {
    EXPECT_TRUE(got.ok()) << c.address << ": " << got;
  } else {
    ASSERT_FALSE(got.ok()) << c.address << " was allowed";
    EXPECT_EQ(got.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(absl::StrContains(got.message(), c.reason)) << got.message();
    EXPECT_FALSE(absl::StrContains(got.message(), "\n"));
  }
}

using V = std::vector<std::string>;

INSTANTIATE_TEST_SUITE_P(
    Table, OriginPolicyTest,
    ::testing::Values(
        // Public unicast: always.
        PolicyCase{V{}, "8.8.8.8", true, ""}, PolicyCase{V{}, "2606:4700::1111", true, ""},
        PolicyCase{V{}, "::ffff:8.8.8.8", true, ""},
        // Default: every non-public class refused, naming address and class.
        PolicyCase{V{}, "127.0.0.1", false, "origin address 127.0.0.1 is loopback"},
        PolicyCase{V{}, "::1", false, "::1 is loopback"},
        PolicyCase{V{}, "10.0.0.1", false, "10.0.0.1 is private; no --origin-allow range"},
        PolicyCase{V{}, "fd00::5", false, "fd00::5 is private"},
        PolicyCase{V{}, "100.64.1.1", false, "100.64.1.1 is shared (CGNAT)"},
        PolicyCase{V{}, "0.0.0.0", false, "0.0.0.0 is unspecified"},
        PolicyCase{V{}, "::", false, ":: is unspecified"},
        PolicyCase{V{}, "192.0.2.7", false, "192.0.2.7 is reserved"},
        PolicyCase{V{}, "169.254.169.254", false,
                   "169.254.169.254 is link-local; only an --origin-allow range inside "
                   "169.254.0.0/16"},
        PolicyCase{V{}, "fe80::1", false,
                   "fe80::1 is link-local; only an --origin-allow range "
                   "inside fe80::/10"},
        PolicyCase{V{}, "224.0.0.1", false, "224.0.0.1 is multicast"},
        PolicyCase{V{}, "ff02::1", false, "ff02::1 is multicast"},
        PolicyCase{V{}, "::ffff:169.254.169.254", false,
                   "::ffff:169.254.169.254 (IPv4 169.254.169.254) is link-local"},
        PolicyCase{V{}, "::ffff:127.0.0.1", false, "(IPv4 127.0.0.1) is loopback"},
        PolicyCase{V{}, "64:ff9b::a9fe:a9fe", false, "(IPv4 169.254.169.254) is link-local"},
        PolicyCase{V{}, "2002:a9fe:a9fe::", false, "(IPv4 169.254.169.254) is link-local"},
        // A covering range opens loopback, private, CGNAT, unspecified.
        PolicyCase{V{"127.0.0.0/8"}, "127.0.0.1", true, ""},
        PolicyCase{V{"127.0.0.0/8"}, "::ffff:127.0.0.1", true, ""},
        PolicyCase{V{"127.0.0.0/8"}, "::1", false, "::1 is loopback"},
        PolicyCase{V{"127.0.0.1/32"}, "127.0.0.2", false, "127.0.0.2 is loopback"},
        PolicyCase{V{"10.0.0.0/8"}, "10.9.9.9", true, ""},
        PolicyCase{V{"10.0.0.0/8"}, "192.168.0.1", false, "192.168.0.1 is private"},
        PolicyCase{V{"100.64.0.0/10"}, "100.64.1.1", true, ""},
        PolicyCase{V{"0.0.0.0/32"}, "0.0.0.0", true, ""},
        PolicyCase{V{"fc00::/7"}, "fd00::5", true, ""},
        PolicyCase{V{"0.0.0.0/0"}, "10.1.2.3", true, ""},
        PolicyCase{V{"::/0"}, "fd00::5", true, ""},
        // Link-local and multicast: a range as wide as 0.0.0.0/0 never opens
        // them; only one inside their own range does.
        PolicyCase{V{"0.0.0.0/0"}, "169.254.169.254", false, "169.254.169.254 is link-local"},
        PolicyCase{V{"128.0.0.0/1"}, "169.254.169.254", false, "is link-local"},
        PolicyCase{V{"::/0"}, "fe80::1", false, "fe80::1 is link-local"},
        PolicyCase{V{"::/0"}, "::ffff:169.254.169.254", false, "is link-local"},
        PolicyCase{V{"0.0.0.0/0", "::/0"}, "::ffff:169.254.169.254", false, "is link-local"},
        PolicyCase{V{"0.0.0.0/0"}, "224.0.0.1", false, "224.0.0.1 is multicast"},
        PolicyCase{V{"169.254.169.254/32"}, "169.254.169.254", true, ""},
        PolicyCase{V{"169.254.169.254/32"}, "::ffff:169.254.169.254", true, ""},
        PolicyCase{V{"169.254.169.254/32"}, "169.254.169.253", false, "is link-local"},
        PolicyCase{V{"169.254.0.0/16"}, "169.254.1.1", true, ""},
        PolicyCase{V{"fe80::/10"}, "fe80::1", true, ""},
        PolicyCase{V{"fe80::/64"}, "fe80::1", true, ""},
        PolicyCase{V{"fe80::/9"}, "fe80::1", false, "is link-local"},
        PolicyCase{V{"239.0.0.0/8"}, "239.1.1.1", true, ""}));

struct CidrCase {
  std::string text;
  std::string want;   // canonical form, when accepted
  std::string error;  // part of the message, when refused
};

class ParseCidrTest : public ::testing::TestWithParam<CidrCase> {};

TEST_P(ParseCidrTest, ParsesOrRefuses) {
  const CidrCase& c = GetParam();
  absl::StatusOr<Cidr> got = ParseCidr(c.text);
  if (c.error.empty()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->ToString(), c.want);
  } else {
    ASSERT_FALSE(got.ok()) << c.text << " accepted as " << got->ToString();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(got.status().message(), c.error)) << got.status().message();
    EXPECT_TRUE(absl::StrContains(got.status().message(), c.text)) << got.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseCidrTest,
    ::testing::Values(
        CidrCase{"127.0.0.0/8", "127.0.0.0/8", ""}, CidrCase{"10.1.2.3", "10.1.2.3/32", ""},
        CidrCase{"0.0.0.0/0", "0.0.0.0/0", ""}, CidrCase{"fe80::/10", "fe80::/10", ""},
        CidrCase{"FC00::/7", "fc00::/7", ""}, CidrCase{"::1", "::1/128", ""},
        CidrCase{"10.0.0.1/8", "", "did you mean 10.0.0.0/8?"},
        CidrCase{"10.0.0.0/33", "", "prefix length must be 0 to 32"},
        CidrCase{"::/129", "", "prefix length must be 0 to 128"},
        CidrCase{"10.0.0.0/", "", "prefix length"}, CidrCase{"10.0.0.0/-1", "", "prefix length"},
        CidrCase{"10.0.0.0/ 8", "", "prefix length"},
        CidrCase{"127.1/32", "", "not an IPv4 dotted quad"},
        CidrCase{"0x7f.0.0.0/8", "", "not an IPv4 dotted quad"},
        CidrCase{"2130706433", "", "not an IPv4 dotted quad"},
        CidrCase{"010.0.0.0/8", "", "not an IPv4 dotted quad"},
        CidrCase{"[::1]/128", "", "not an IPv4 dotted quad"},
        CidrCase{"localhost", "", "not an IPv4 dotted quad"},
        CidrCase{"", "", "not an IPv4 dotted quad"}));

struct HostCase {
  std::string origin;
  bool allowed;
  std::string reason;
};

class CheckOriginUrlTest : public ::testing::TestWithParam<HostCase> {};

TEST_P(CheckOriginUrlTest, JudgesLiteralsAndDisguisedAddresses) {
  const HostCase& c = GetParam();
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Create({"127.0.0.0/8"});
  ASSERT_TRUE(policy.ok());
  absl::Status got = policy->CheckOriginUrl(c.origin);
  if (c.allowed) {
    EXPECT_TRUE(got.ok()) << c.origin << ": " << got;
  } else {
    ASSERT_FALSE(got.ok()) << c.origin << " was allowed";
    EXPECT_TRUE(absl::StrContains(got.message(), c.reason)) << got.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, CheckOriginUrlTest,
    ::testing::Values(
        HostCase{"http://127.0.0.1:8080", true, ""}, HostCase{"https://8.8.8.8", true, ""},
        HostCase{"http://[2606:4700::1111]:80", true, ""},
        // Names are judged by the edge when it resolves them.
        HostCase{"http://localhost:8080", true, ""},
        HostCase{"https://origin.example.com", true, ""},
        HostCase{"http://169.254.169.254", false, "169.254.169.254 is link-local"},
        HostCase{"http://169.254.169.254:80", false, "169.254.169.254 is link-local"},
        HostCase{"http://[fe80::1]:8080", false, "fe80::1 is link-local"},
        HostCase{"http://[::ffff:169.254.169.254]", false, "is link-local"},
        HostCase{"http://[::ffff:a9fe:a9fe]:80", false, "is link-local"},
        HostCase{"http://0.0.0.0:8080", false, "0.0.0.0 is unspecified"},
        HostCase{"http://[::]:8080", false, ":: is unspecified"},
        HostCase{"http://10.0.0.1", false, "10.0.0.1 is private"},
        HostCase{"http://[::1]:8080", false, "::1 is loopback"},
        // What inet_aton (and so getaddrinfo) reads as an address is one.
        HostCase{"http://0x7f.1:8080", false, "IPv4 address 127.0.0.1 in a non-standard spelling"},
        HostCase{"http://2130706433", false, "IPv4 address 127.0.0.1"},
        HostCase{"http://127.1", false, "IPv4 address 127.0.0.1"},
        HostCase{"http://0xa9fea9fe", false, "IPv4 address 169.254.169.254"},
        HostCase{"http://0251.0376.0251.0376", false, "IPv4 address 169.254.169.254"},
        HostCase{"ftp://127.0.0.1", false, "must start with http://, https:// or h2c://"},
        // h2c:// origins meet the same address policy as http://.
        HostCase{"h2c://8.8.8.8:50051", true, ""}, HostCase{"h2c://grpc.example.com", true, ""},
        HostCase{"h2c://169.254.169.254:80", false, "169.254.169.254 is link-local"},
        HostCase{"h2c://[::1]:50051", false, "::1 is loopback"},
        HostCase{"h2c://10.0.0.1", false, "10.0.0.1 is private"},
        HostCase{"h2c://0x7f.1:50051", false,
                 "IPv4 address 127.0.0.1 in a non-standard spelling"}));

TEST(OriginPolicyCreateTest, NamesTheBadFlag) {
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Create({"127.0.0.0/8", "10.0.0.1/8"});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(),
            "--origin-allow: CIDR \"10.0.0.1/8\": bits are set past the prefix length (did you "
            "mean 10.0.0.0/8?)");
}

TEST(IpAddressTest, FromSockaddrRoundTrips) {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr.s6_addr[15] = 1;
  std::optional<IpAddress> got = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&v6));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ToString(), "::1");
  sockaddr unknown{};
  unknown.sa_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::FromSockaddr(&unknown).has_value());
}

}  // namespace
}  // namespace certgate
