#include "common/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace certgate {
namespace {

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(listen(fd, 16), 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    addr_ = addr;
    auto server = MetricsServer::Create(fd, [] { return std::string("certgate_x 1\n"); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->Start();
  }

  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof(addr_)), 0);
    return fd;
  }

  // Exchange sends `request` on a new connection and reads to its close.
  std::string Exchange(absl::string_view request) {
    int fd = Connect();
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string response;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
      response.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return response;
  }

  sockaddr_in addr_{};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, AnswersMetricsHealthAndRefusals) {
  std::string metrics = Exchange("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(metrics, "HTTP/1.1 200 OK\r\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "Content-Length: 13\r\n")) << metrics;
  EXPECT_TRUE(absl::EndsWith(metrics, "\r\n\r\ncertgate_x 1\n")) << metrics;

  std::string head = Exchange("HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_TRUE(absl::StrContains(head, "Content-Length: 13\r\n")) << head;
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << head;

  EXPECT_TRUE(absl::EndsWith(Exchange("GET /healthz HTTP/1.1\r\n\r\n"), "\r\n\r\nok\n"));
  EXPECT_TRUE(absl::StartsWith(Exchange("GET /other HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 "));
  EXPECT_TRUE(absl::StartsWith(Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
                               "HTTP/1.1 405 "));
  // Not HTTP, or a head no scraper sends: closed without an answer.
  EXPECT_EQ(Exchange("GET /metrics\r\n\r\n"), "");
  EXPECT_EQ(Exchange("GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n"), "");
}

// A client trickling its head a byte at a time is dropped once the whole
// head's timeout has passed, so a scrape queued behind it is answered.
TEST_F(MetricsServerTest, ATricklingClientDoesNotHoldTheServer) {
  std::atomic<bool> stop{false};
  int slow = Connect();
  std::thread trickle([&] {
    for (int i = 0; i < 60 && !stop; ++i) {
      if (send(slow, "G", 1, MSG_NOSIGNAL) != 1) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(250));
    }
  });
  absl::SleepFor(absl::Milliseconds(100));
  absl::Time start = absl::Now();
  std::string metrics = Exchange("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
  EXPECT_TRUE(absl::EndsWith(metrics, "certgate_x 1\n")) << metrics;
  stop = true;
  trickle.join();
  close(slow);
}

}  // namespace
}  // namespace certgate
