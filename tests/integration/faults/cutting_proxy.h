#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace certgate::faults {

// CuttingProxy relays TCP between an edge and its control plane and can cut
// the connection in the middle of what the control plane sends: after
// CutAfter(n), once n more bytes went downstream, both sockets are closed.
// While refusing, new connections are closed at once (control plane down).
class CuttingProxy {
 public:
  static absl::StatusOr<std::unique_ptr<CuttingProxy>> Start(int upstream_port);
  ~CuttingProxy();
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  int port() const { return port_; }
  void CutAfter(uint64_t bytes);
  bool cut() const { return cut_.load(); }
  void SetRefusing(bool refusing) { refusing_.store(refusing); }

 private:
  CuttingProxy(int listen_fd, int port, int upstream_port)
      : listen_fd_(listen_fd), port_(port), upstream_port_(upstream_port) {}
  void AcceptLoop();
  // Pump copies from `from` to `to`; `downstream` counts towards a cut.
  void Pump(int from, int to, bool downstream);

  const int listen_fd_;
  const int port_;
  const int upstream_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<bool> cut_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  int64_t cut_budget_ ABSL_GUARDED_BY(mu_) = -1;  // -1: no cut armed
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace certgate::faults
