#include "tests/integration/faults/cutting_proxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace certgate::faults {

absl::StatusOr<std::unique_ptr<CuttingProxy>> CuttingProxy::Start(int upstream_port) {
  std::unique_ptr<CuttingProxy> proxy(new CuttingProxy(upstream_port));
  auto server = LoopbackServer::Start([p = proxy.get()](int client) { p->Relay(client); });
  if (!server.ok()) {
    return server.status();
  }
  proxy->server_ = std::move(*server);
  return proxy;
}

CuttingProxy::~CuttingProxy() = default;

void CuttingProxy::CutAfter(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  cut_budget_ = static_cast<int64_t>(bytes);
}

void CuttingProxy::Relay(int client) {
  attempts_.fetch_add(1);
  int upstream = refusing_.load() ? -1 : ConnectLoopback(upstream_port_);
  if (upstream < 0) {
    return;  // closed at once: the control plane looks down
  }
  std::thread downstream([this, client, upstream] { Pump(upstream, client, true); });
  Pump(client, upstream, false);
  downstream.join();
  close(upstream);
}

void CuttingProxy::Pump(int from, int to, bool downstream) {
  char buf[4096];
  while (true) {
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
