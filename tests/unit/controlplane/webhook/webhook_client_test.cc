#include "controlplane/webhook/webhook_client.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/controlplane/webhook/test_receiver.h"

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

std::unique_ptr<WebhookClient> LoopbackClient(absl::Duration timeout) {
  WebhookClientOptions options;
  options.policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  options.timeout = timeout;
  auto client = WebhookClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// A redirect is an answer like any other: it is never followed (it could
// point anywhere, inside the network included), and counts as not delivered.
TEST(WebhookClientTest, RedirectsAreNotFollowed) {
  Receiver receiver([](int fd, const std::string&) {
    SendAll(fd,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/other\r\n"
            "Content-Length: 0\r\n\r\n");
  });
  auto client = LoopbackClient(absl::Seconds(5));
  ASSERT_NE(client, nullptr);
  auto url = WebhookUrl::Parse(absl::StrCat("http://127.0.0.1:", receiver.port(), "/hook"),
                               OriginPolicy::Create({"127.0.0.0/8"}).value());
  ASSERT_TRUE(url.ok()) << url.status();
  absl::StatusOr<int> posted = client->Post(*url, "{}");
  ASSERT_TRUE(posted.ok()) << posted.status();
  EXPECT_EQ(*posted, 307);
  EXPECT_EQ(receiver.accepted(), 1);
}

// A receiver that trickles its answer a byte at a time, each byte well within
// the timeout, is cut off once the whole timeout has passed; one that sends
// an endless status line is cut off at a bounded size.
TEST(WebhookClientTest, SlowOrEndlessAnswersAreCutOff) {
  Receiver trickle([](int fd, const std::string&) {
    for (int i = 0; i < 200 && SendAll(fd, "H"); ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  auto client = LoopbackClient(absl::Milliseconds(500));
  ASSERT_NE(client, nullptr);
  auto policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  auto url = WebhookUrl::Parse(absl::StrCat("http://127.0.0.1:", trickle.port(), "/"), policy);
  ASSERT_TRUE(url.ok()) << url.status();
  absl::Time start = absl::Now();
  absl::StatusOr<int> posted = client->Post(*url, "{}");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.status().code(), absl::StatusCode::kUnavailable) << posted.status();
  EXPECT_TRUE(absl::StrContains(posted.status().message(), "timeout")) << posted.status();

  Receiver endless([](int fd, const std::string&) {
    std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 64 && SendAll(fd, chunk); ++i) {
    }
  });
  url = WebhookUrl::Parse(absl::StrCat("http://127.0.0.1:", endless.port(), "/"), policy);
  ASSERT_TRUE(url.ok()) << url.status();
  posted = client->Post(*url, "{}");
  ASSERT_FALSE(posted.ok());
  EXPECT_TRUE(absl::StrContains(posted.status().message(), "not an HTTP/1.x response"))
      << posted.status();
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
