#include "controlplane/webhook/webhook_url.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace certgate::controlplane {
namespace {

OriginPolicy AllowLoopback() { return OriginPolicy::Create({"127.0.0.0/8", "::1/128"}).value(); }

TEST(WebhookUrlTest, ParsesSchemesHostsPortsAndTargets) {
  auto url = WebhookUrl::Parse("https://Hooks.Example.com/a/b?c=d", OriginPolicy());
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/a/b?c=d");
  EXPECT_EQ(url->Origin(), "https://hooks.example.com");

  url = WebhookUrl::Parse("HTTP://127.0.0.1:8080", AllowLoopback());
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_FALSE(url->https);
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->HostHeader(), "127.0.0.1:8080");

  url = WebhookUrl::Parse("http://[::1]:9/x", AllowLoopback());
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->Origin(), "http://[::1]:9");

  url = WebhookUrl::Parse("http://example.com?q=1", OriginPolicy());
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->target, "/?q=1");
}

TEST(WebhookUrlTest, RefusesWithOneLineThatKeepsSecretsOut) {
  struct Case {
    const char* url;
    const char* message;
  };
  const Case cases[] = {
      {"ftp://example.com/", "is not http or https"},
      {"example.com/hook", "must start with http:// or https://"},
      {"http://user:topsecret@example.com/", "must not carry credentials"},
      {"http://example.com/a#frag", "#fragment"},
      {"http:///path", "has no host"},
      {"http://example.com:0/", "is not 1 to 65535"},
      {"http://example.com:/", "is not 1 to 65535"},
      {"http://example.com/a b", "space or control character"},
      {"http://[::1/", "unclosed ["},
      {"http://127.0.0.1/topsecret", "loopback"},
      {"http://169.254.169.254/latest", "link-local"},
      {"http://192.168.1.1/", "private"},
      {"http://[::ffff:10.0.0.1]/", "private"},
      {"http://2130706433/", "non-standard spelling"},
      // The host and port rules of a zone's origin.
      {"http://a]:80/topsecret", "is not a valid host name"},
      {"http://ex%61mple.com/", "is not a valid host name"},
      {"http://example.com:+80/", "is not a number from 1 to 65535"},
      {"http://[fe80::1%25eth0]/", "is not an IPv6 address"},
  };
  for (const Case& c : cases) {
    auto url = WebhookUrl::Parse(c.url, OriginPolicy());
    ASSERT_FALSE(url.ok()) << c.url;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    std::string message(url.status().message());
    EXPECT_TRUE(absl::StrContains(message, c.message)) << c.url << ": " << message;
    EXPECT_FALSE(absl::StrContains(message, "topsecret")) << message;
    EXPECT_FALSE(absl::StrContains(message, "\n")) << message;
  }
  EXPECT_FALSE(WebhookUrl::Parse(std::string(3000, 'a'), OriginPolicy()).ok());
}

TEST(WebhookUrlTest, LinkLocalNeedsItsOwnRangeEvenWithEverythingElseAllowed) {
  OriginPolicy wide = OriginPolicy::Create({"0.0.0.0/0"}).value();
  EXPECT_TRUE(WebhookUrl::Parse("http://10.1.2.3/", wide).ok());
  EXPECT_FALSE(WebhookUrl::Parse("http://169.254.169.254/", wide).ok());
}

}  // namespace
}  // namespace certgate::controlplane
