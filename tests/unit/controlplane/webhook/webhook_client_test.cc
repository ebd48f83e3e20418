#include "controlplane/webhook/webhook_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

// Receiver: a webhook on 127.0.0.1 that reads each request's head and then
// answers with `answer(fd)`; counts the connections it took.
class Receiver {
 public:
  explicit Receiver(std::function<void(int)> answer) : answer_(std::move(answer)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(listen_fd_, 8), 0);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) {
          return;
        }
        ++accepted_;
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) {
            break;
          }
          head.append(buf, static_cast<size_t>(n));
        }
        answer_(fd);
        close(fd);
      }
    });
  }
  ~Receiver() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int)> answer_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::unique_ptr<WebhookClient> LoopbackClient(absl::Duration timeout) {
  WebhookClientOptions options;
  options.policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  options.timeout = timeout;
  auto client = WebhookClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A redirect is an answer like any other: it is never followed (it could
// point anywhere, inside the network included), and counts as not delivered.
TEST(WebhookClientTest, RedirectsAreNotFollowed) {
  Receiver receiver([](int fd) {
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
  Receiver trickle([](int fd) {
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

  Receiver endless([](int fd) {
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
