#include "tests/integration/faults/cutting_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace certgate::faults {
namespace {

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CuttingProxy>> CuttingProxy::Start(int upstream_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int error = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("proxy listen: ", strerror(error)));
  }
  std::unique_ptr<CuttingProxy> proxy(new CuttingProxy(fd, ntohs(addr.sin_port), upstream_port));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

CuttingProxy::~CuttingProxy() {
  stopping_.store(true);
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) {
      shutdown(fd, SHUT_RDWR);
    }
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) {
    t.join();
  }
  absl::MutexLock lock(&mu_);
  for (int fd : fds_) {
    close(fd);
  }
}

void CuttingProxy::CutAfter(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  cut_budget_ = static_cast<int64_t>(bytes);
}

void CuttingProxy::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) {
      continue;
    }
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      continue;
    }
    int upstream = refusing_.load() ? -1 : ConnectLoopback(upstream_port_);
    if (upstream < 0) {
      close(client);
      continue;
    }
    absl::MutexLock lock(&mu_);
    fds_.push_back(client);
    fds_.push_back(upstream);
    pumps_.emplace_back([this, client, upstream] { Pump(client, upstream, false); });
    pumps_.emplace_back([this, client, upstream] { Pump(upstream, client, true); });
  }
}

void CuttingProxy::Pump(int from, int to, bool downstream) {
  char buf[4096];
  while (!stopping_.load()) {
    pollfd p{from, POLLIN, 0};
    int ready = poll(&p, 1, 50);
    if (ready == 0) {
      continue;
    }
    ssize_t n = ready < 0 ? -1 : recv(from, buf, sizeof(buf), 0);
    if (n <= 0) {
      break;
    }
    size_t to_send = static_cast<size_t>(n);
    bool cut_now = false;
    if (downstream) {
      absl::MutexLock lock(&mu_);
      if (cut_budget_ >= 0) {
        if (static_cast<int64_t>(to_send) >= cut_budget_) {
          to_send = static_cast<size_t>(cut_budget_);
          cut_now = true;
          cut_budget_ = -1;
        } else {
          cut_budget_ -= static_cast<int64_t>(to_send);
        }
      }
    }
    if (to_send > 0 && send(to, buf, to_send, MSG_NOSIGNAL) <= 0) {
      break;
    }
    if (cut_now) {
      cut_.store(true);
      break;
    }
  }
  // Either direction ending ends both (a cut looks like a dead peer).
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
}

}  // namespace certgate::faults
