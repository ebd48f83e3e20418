#include "common/metrics_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certgate {

namespace {

// A request head larger than this is not a scraper's.
constexpr size_t kMaxHead = 16384;
// The whole request head must arrive within this, and each send of the
// answer must progress within it: a stuck or trickling client cannot hold the
// server's one thread.
constexpr absl::Duration kClientTimeout = absl::Seconds(5);

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    int listen_fd, std::function<std::string()> render) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->listen_fd_ = listen_fd;
  server->render_ = std::move(render);
  if (pipe2(server->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError("pipe2 failed");
  }
  return server;
}

MetricsServer::~MetricsServer() {
  Stop();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
  }
  for (int fd : wake_pipe_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void MetricsServer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void MetricsServer::Stop() {
  if (thread_.joinable()) {
    char byte = 0;
    (void)!write(wake_pipe_[1], &byte, 1);
    thread_.join();
  }
}

void MetricsServer::Run() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int rc = poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    // Blocking with a timeout: a stuck scraper cannot hold the thread.
    timeval tv = absl::ToTimeval(kClientTimeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    Serve(fd);
    close(fd);
  }
}

void MetricsServer::Serve(int fd) {
  // Only the request line matters; the head is read to its end so that the
  // answer does not race the client's last bytes.
  absl::Time deadline = absl::Now() + kClientTimeout;
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return;
    }
    timeval tv = absl::ToTimeval(std::max(left, absl::Milliseconds(1)));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      return;
    }
    head.append(buf, static_cast<size_t>(n));
    if (head.size() > kMaxHead) {
      return;
    }
  }
  absl::string_view line(head);
  line = line.substr(0, line.find("\r\n"));
  size_t method_end = line.find(' ');
  size_t target_end = line.rfind(' ');
  if (method_end == absl::string_view::npos || target_end <= method_end ||
      !absl::StartsWith(line.substr(target_end + 1), "HTTP/1.")) {
    return;
  }
  absl::string_view method = line.substr(0, method_end);
  absl::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
  absl::string_view path = target.substr(0, target.find('?'));
  std::string status = "200 OK";
  std::string type = "text/plain; version=0.0.4; charset=utf-8";
  std::string body;
  if (method != "GET" && method != "HEAD") {
    status = "405 Method Not Allowed";
    type = "text/plain";
    body = "only GET and HEAD\n";
  } else if (path == "/metrics") {
    body = render_();
  } else if (path == "/healthz") {
    body = "ok\n";
  } else {
    status = "404 Not Found";
    type = "text/plain";
    body = "not found; try /metrics\n";
  }
  std::string response =
      absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                   "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  if (method != "HEAD") {
    response += body;
  }
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    sent += static_cast<size_t>(n);
  }
}

}  // namespace certgate
