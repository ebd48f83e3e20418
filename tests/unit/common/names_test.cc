#include "common/names.h"

#include <string>

#include "gtest/gtest.h"

namespace certgate {
namespace {

struct HostnameCase {
  std::string input;
  std::string want;   // normalized, when ok
  std::string error;  // exact message, when refused
};

class NormalizeHostnameTest : public ::testing::TestWithParam<HostnameCase> {};

TEST_P(NormalizeHostnameTest, NormalizesOrRefuses) {
  const HostnameCase& c = GetParam();
  auto got = NormalizeHostname(c.input);
  if (c.error.empty()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  } else {
    ASSERT_FALSE(got.ok()) << "accepted as " << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.error);
  }
}

const std::string kLabel63(63, 'a');
// 4 labels of 63 + 3 dots = 255 characters; trimmed to exactly 253 below.
const std::string kName253 =
    kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + std::string(61, 'b');

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeHostnameTest,
    ::testing::Values(
        HostnameCase{"auth.pizza", "auth.pizza", ""},
        HostnameCase{"Client.Auth.PIZZA", "client.auth.pizza", ""},
        HostnameCase{"*.auth.pizza", "*.auth.pizza", ""},
        HostnameCase{"*.Auth.Pizza", "*.auth.pizza", ""},
        HostnameCase{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
        HostnameCase{"1a.example", "1a.example", ""},
        HostnameCase{"a-b.c-d.example", "a-b.c-d.example", ""},
        HostnameCase{kLabel63 + ".example", kLabel63 + ".example", ""},
        HostnameCase{kName253, kName253, ""}, HostnameCase{"", "", "hostname is empty"},
        HostnameCase{"a..b", "", "hostname \"a..b\": empty label"},
        HostnameCase{".auth.pizza", "", "hostname \".auth.pizza\": empty label"},
        HostnameCase{"auth.pizza.", "", "hostname \"auth.pizza.\": trailing dot not allowed"},
        HostnameCase{"localhost", "",
                     "hostname \"localhost\": needs at least two labels (like example.com)"},
        HostnameCase{"*.pizza", "",
                     "hostname \"*.pizza\": a wildcard needs at least two labels after \"*.\""},
        HostnameCase{"*", "", "hostname \"*\": a wildcard needs at least two labels after \"*.\""},
        HostnameCase{"a.*.auth.pizza", "",
                     "hostname \"a.*.auth.pizza\": \"*\" is allowed only as the whole leftmost "
                     "label"},
        HostnameCase{"a*.b.c", "",
                     "hostname \"a*.b.c\": \"*\" is allowed only as the whole leftmost label"},
        HostnameCase{"*a.b.c", "",
                     "hostname \"*a.b.c\": \"*\" is allowed only as the whole leftmost label"},
        HostnameCase{"*.*.b.c", "",
                     "hostname \"*.*.b.c\": \"*\" is allowed only as the whole leftmost label"},
        HostnameCase{"-a.example", "",
                     "hostname \"-a.example\": label \"-a\" starts or ends with a hyphen"},
        HostnameCase{"a-.example", "",
                     "hostname \"a-.example\": label \"a-\" starts or ends with a hyphen"},
        HostnameCase{"a_b.example", "",
                     "hostname \"a_b.example\": label \"a_b\" has a character other than a-z, "
                     "0-9 and '-' (use punycode for international names)"},
        HostnameCase{"b\xc3\xbc"
                     "cher.example",
                     "",
                     "hostname \"b\xc3\xbc"
                     "cher.example\": label \"b\xc3\xbc"
                     "cher\" has a "
                     "character other than a-z, 0-9 and '-' (use punycode for international "
                     "names)"},
        HostnameCase{"a b.example", "",
                     "hostname \"a b.example\": label \"a b\" has a character other than a-z, "
                     "0-9 and '-' (use punycode for international names)"},
        HostnameCase{"auth.pizza:443", "",
                     "hostname \"auth.pizza:443\": label \"pizza:443\" has a character other "
                     "than a-z, 0-9 and '-' (use punycode for international names)"},
        HostnameCase{std::string(64, 'a') + ".example", "",
                     "hostname \"" + std::string(64, 'a') + ".example\": label \"" +
                         std::string(64, 'a') + "\" is longer than 63 characters"},
        HostnameCase{kName253 + "c", "",
                     "hostname \"" + kName253.substr(0, 40) + "...\": longer than 253 characters"},
        HostnameCase{"192.0.2.1", "",
                     "hostname \"192.0.2.1\": looks like an IP address; zones are DNS names "
                     "(SNI carries no IPs)"},
        HostnameCase{"[::1]", "",
                     "hostname \"[::1]\": label \"[::1]\" has a character other than a-z, 0-9 "
                     "and '-' (use punycode for international names)"}));

TEST(NamesTest, Name253IsReallyAtTheLimit) { EXPECT_EQ(kName253.size(), 253u); }

TEST(IsWildcardHostnameTest, OnlyALeadingStarDotIsAWildcard) {
  EXPECT_TRUE(IsWildcardHostname("*.auth.pizza"));
  EXPECT_FALSE(IsWildcardHostname("auth.pizza"));
  EXPECT_FALSE(IsWildcardHostname("a.*.pizza"));
  EXPECT_FALSE(IsWildcardHostname("*auth.pizza"));
  EXPECT_FALSE(IsWildcardHostname(""));
}

struct MatchCase {
  std::string host;
  std::string zone;
  bool matches;
};

class HostnameMatchesZoneTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(HostnameMatchesZoneTest, Matches) {
  const MatchCase& c = GetParam();
  EXPECT_EQ(HostnameMatchesZone(c.host, c.zone), c.matches)
      << "host " << c.host << " zone " << c.zone;
}

INSTANTIATE_TEST_SUITE_P(
    Table, HostnameMatchesZoneTest,
    ::testing::Values(MatchCase{"auth.pizza", "auth.pizza", true},
                      MatchCase{"AUTH.pizza", "auth.pizza", true},
                      MatchCase{"client.auth.pizza", "auth.pizza", false},
                      MatchCase{"auth.pizza", "client.auth.pizza", false},
                      MatchCase{"client.auth.pizza", "*.auth.pizza", true},
                      // One level only.
                      MatchCase{"a.client.auth.pizza", "*.auth.pizza", false},
                      // The wildcard does not cover its own base name.
                      MatchCase{"auth.pizza", "*.auth.pizza", false},
                      MatchCase{".auth.pizza", "*.auth.pizza", false},
                      MatchCase{"xauth.pizza", "*.auth.pizza", false},
                      MatchCase{"client.auth.pizza.evil", "*.auth.pizza", false},
                      MatchCase{"*.auth.pizza", "*.auth.pizza", true},
                      MatchCase{"x.*.auth.pizza", "*.auth.pizza", false},
                      MatchCase{"", "auth.pizza", false}, MatchCase{"auth.pizza", "", false}));

struct HeaderCase {
  std::string name;
  std::string error;  // "" when valid
};

class ValidateHeaderNameTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(ValidateHeaderNameTest, AcceptsOrRefuses) {
  const HeaderCase& c = GetParam();
  absl::Status status = ValidateHeaderName(c.name);
  if (c.error.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.error);
  }
}

std::string HopByHop(const std::string& name) {
  return "header \"" + name + "\" is a hop-by-hop header and cannot be set";
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateHeaderNameTest,
    ::testing::Values(
        HeaderCase{"X-Device-Id", ""}, HeaderCase{"x-client-cert", ""},
        HeaderCase{"X-Client-Cert-Status", ""}, HeaderCase{"Client-Cert-Chain", ""},
        HeaderCase{"a!#$%&'*+-.^_`|~9", ""}, HeaderCase{std::string(128, 'x'), ""},
        HeaderCase{"", "header name is empty"},
        HeaderCase{std::string(129, 'x'),
                   "header \"" + std::string(40, 'x') + "...\" is longer than 128 characters"},
        HeaderCase{"X Device",
                   "header \"X Device\" is not a valid header name (byte 0x20 not "
                   "allowed)"},
        HeaderCase{"X-Device:",
                   "header \"X-Device:\" is not a valid header name (':' not "
                   "allowed)"},
        HeaderCase{"X-Dev\r\nInjected",
                   "header \"X-Dev??Injected\" is not a valid header name "
                   "(byte 0x0d not allowed)"},
        HeaderCase{"X-\xc3\xa9",
                   "header \"X-??\" is not a valid header name (byte 0xc3 not "
                   "allowed)"},
        HeaderCase{"X-(x)", "header \"X-(x)\" is not a valid header name ('(' not allowed)"},
        HeaderCase{"Connection", HopByHop("Connection")},
        HeaderCase{"keep-alive", HopByHop("keep-alive")},
        HeaderCase{"Proxy-Connection", HopByHop("Proxy-Connection")},
        HeaderCase{"TE", HopByHop("TE")}, HeaderCase{"Trailer", HopByHop("Trailer")},
        HeaderCase{"TRANSFER-ENCODING", HopByHop("TRANSFER-ENCODING")},
        HeaderCase{"Upgrade", HopByHop("Upgrade")},
        HeaderCase{"Proxy-Authenticate", HopByHop("Proxy-Authenticate")},
        HeaderCase{"Proxy-Authorization", HopByHop("Proxy-Authorization")},
        HeaderCase{"Content-Length",
                   "header \"Content-Length\" is a framing header and cannot be set"},
        HeaderCase{"host", "header \"host\" is a framing header and cannot be set"},
        HeaderCase{"Forwarded", "header \"Forwarded\" is set by the edge itself and cannot be set"},
        HeaderCase{"X-Forwarded-For",
                   "header \"X-Forwarded-For\" is set by the edge itself and cannot be set"},
        HeaderCase{"x-forwarded-proto",
                   "header \"x-forwarded-proto\" is set by the edge itself and cannot be set"},
        HeaderCase{"X-Forwarded-Host",
                   "header \"X-Forwarded-Host\" is set by the edge itself and cannot be set"},
        // The edge compares names with `_` read as `-`, and so does this.
        HeaderCase{"X_Forwarded_For",
                   "header \"X_Forwarded_For\" is set by the edge itself and cannot be set"},
        HeaderCase{"X-Real-IP", "header \"X-Real-IP\" is set by the edge itself and cannot be set"},
        HeaderCase{"Transfer_Encoding", HopByHop("Transfer_Encoding")},
        HeaderCase{"X_Device_Id", ""}));

struct OriginCase {
  std::string input;
  std::string want;
  std::string error;
};

class NormalizeOriginTest : public ::testing::TestWithParam<OriginCase> {};

TEST_P(NormalizeOriginTest, NormalizesOrRefuses) {
  const OriginCase& c = GetParam();
  auto got = NormalizeOrigin(c.input);
  if (c.error.empty()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  } else {
    ASSERT_FALSE(got.ok()) << "accepted as " << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.error);
  }
}

std::string OriginError(const std::string& origin, const std::string& problem) {
  return "origin \"" + origin + "\": " + problem;
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeOriginTest,
    ::testing::Values(
        OriginCase{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
        OriginCase{"HTTP://Origin.Example:8080/", "http://origin.example:8080", ""},
        OriginCase{"https://origin.example", "https://origin.example", ""},
        OriginCase{"http://localhost:08080", "http://localhost:8080", ""},
        OriginCase{"http://[::1]:9000", "http://[::1]:9000", ""},
        OriginCase{"http://[0:0::1]", "http://[::1]", ""},
        OriginCase{"http://my_backend.internal:80", "http://my_backend.internal:80", ""},
        OriginCase{
            "ftp://origin.example", "",
            OriginError("ftp://origin.example", "must start with http://, https:// or h2c://")},
        OriginCase{"origin.example:80", "",
                   OriginError("origin.example:80", "must start with http://, https:// or h2c://")},
        OriginCase{
            "http://origin.example/api", "",
            OriginError("http://origin.example/api", "must not have a path, query or fragment")},
        OriginCase{
            "http://origin.example?x=1", "",
            OriginError("http://origin.example?x=1", "must not have a path, query or fragment")},
        OriginCase{"http://user:pw@origin.example", "",
                   OriginError("http://user:pw@origin.example", "must not contain user info")},
        OriginCase{"http://", "", OriginError("http://", "no host")},
        OriginCase{"http://:80", "", OriginError("http://:80", "no host")},
        OriginCase{"http://origin.example:", "",
                   OriginError("http://origin.example:", "empty port")},
        OriginCase{
            "http://origin.example:0", "",
            OriginError("http://origin.example:0", "port \"0\" is not a number from 1 to 65535")},
        OriginCase{"http://origin.example:65536", "",
                   OriginError("http://origin.example:65536",
                               "port \"65536\" is not a number from 1 to 65535")},
        OriginCase{"http://origin.example:+80", "",
                   OriginError("http://origin.example:+80",
                               "port \"+80\" is not a number from 1 to 65535")},
        OriginCase{"http://[::1", "", OriginError("http://[::1", "unterminated IPv6 literal")},
        OriginCase{"http://[nope]:80", "",
                   OriginError("http://[nope]:80", "\"nope\" is not an IPv6 address")},
        OriginCase{"http://bad host", "",
                   OriginError("http://bad host", "\"bad host\" is not a valid host name")},
        OriginCase{"http://a..b", "",
                   OriginError("http://a..b", "\"a..b\" is not a valid host name")},
        OriginCase{"http://010.0.0.1:80", "",
                   OriginError("http://010.0.0.1:80",
                               "\"010.0.0.1\" is neither a dotted-quad IPv4 address nor a host "
                               "name")},
        OriginCase{"http://2130706433", "",
                   OriginError("http://2130706433",
                               "\"2130706433\" is neither a dotted-quad IPv4 address nor a host "
                               "name")},
        OriginCase{"http://10.1.2.3", "http://10.1.2.3", ""},
        // Cleartext HTTP/2 origins: the same host and port rules as http://.
        OriginCase{"H2C://Grpc.Example:05005/", "h2c://grpc.example:5005", ""},
        OriginCase{"h2c://[0:0::1]:9000", "h2c://[::1]:9000", ""},
        OriginCase{"h2c://user@grpc.example", "",
                   OriginError("h2c://user@grpc.example", "must not contain user info")},
        OriginCase{
            "h2c://grpc.example/svc", "",
            OriginError("h2c://grpc.example/svc", "must not have a path, query or fragment")},
        OriginCase{"h2c://2130706433:50051", "",
                   OriginError("h2c://2130706433:50051",
                               "\"2130706433\" is neither a dotted-quad IPv4 address nor a host "
                               "name")},
        OriginCase{"h2c://grpc.example:70000", "",
                   OriginError("h2c://grpc.example:70000",
                               "port \"70000\" is not a number from 1 to 65535")},
        OriginCase{"h2://grpc.example", "",
                   OriginError("h2://grpc.example", "must start with http://, https:// or h2c://")},
        OriginCase{
            "h2c:/grpc.example", "",
            OriginError("h2c:/grpc.example", "must start with http://, https:// or h2c://")}));

}  // namespace
}  // namespace certgate
