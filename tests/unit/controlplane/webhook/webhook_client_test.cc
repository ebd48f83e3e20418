#include "controlplane/webhook/webhook_client.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace certgate::controlplane {
namespace {

// A name is judged by what it resolves to at each send: `localhost` passes
// the URL check (it is no address literal) but never reaches loopback when
// the policy does not allow it.
TEST(WebhookClientTest, NameResolvingInsideTheNetworkIsRefusedAtSend) {
  auto client = WebhookClient::Create(WebhookClientOptions{});
  ASSERT_TRUE(client.ok()) << client.status();
  auto url = WebhookUrl::Parse("http://localhost:9/hook-secret", OriginPolicy());
  ASSERT_TRUE(url.ok()) << url.status();
  absl::StatusOr<int> posted = (*client)->Post(*url, "{}");
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.status().code(), absl::StatusCode::kPermissionDenied) << posted.status();
  EXPECT_TRUE(absl::StrContains(posted.status().message(), "loopback")) << posted.status();
  EXPECT_FALSE(absl::StrContains(posted.status().message(), "hook-secret"));
}

TEST(WebhookClientTest, UnreadableCaFileIsRefusedAtStart) {
  WebhookClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto client = WebhookClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::StrContains(client.status().message(), "--webhook-ca")) << client.status();
}

TEST(WebhookClientTest, NothingListeningIsUnavailable) {
  WebhookClientOptions options;
  options.policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  options.timeout = absl::Seconds(2);
  auto client = WebhookClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto url = WebhookUrl::Parse("http://127.0.0.1:1/", options.policy);
  ASSERT_TRUE(url.ok());
  absl::StatusOr<int> posted = (*client)->Post(*url, "{}");
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.status().code(), absl::StatusCode::kUnavailable) << posted.status();
}

}  // namespace
}  // namespace certgate::controlplane
