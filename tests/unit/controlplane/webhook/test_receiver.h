#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace certgate::controlplane {

// Receiver: a webhook on 127.0.0.1 that reads each request (head and
// Content-Length body) and then answers with `answer(fd,
// request)`; counts the connections it took.
class Receiver {
 public:
  explicit Receiver(std::function<void(int, const std::string&)> answer)
      : answer_(std::move(answer)) {
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
        size_t head_end = head.find("\r\n\r\n");
        size_t length_at = head.find("Content-Length: ");
        if (head_end != std::string::npos && length_at != std::string::npos) {
          size_t want = head_end + 4 + std::stoul(head.substr(length_at + 16));
          while (head.size() < want) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) {
              break;
            }
            head.append(buf, static_cast<size_t>(n));
          }
        }
        answer_(fd, head);
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
  std::function<void(int, const std::string&)> answer_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// SendAll: `data` on `fd`, false when the peer is gone.
inline bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace certgate::controlplane
