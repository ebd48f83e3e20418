#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tests/integration/faults/loopback_server.h"

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

  int port() const { return server_->port(); }
  void CutAfter(uint64_t bytes);
  bool cut() const { return cut_.load(); }
  void SetRefusing(bool refusing) { refusing_.store(refusing); }
  // attempts: connections accepted so far, refused ones included, so a test
  // can wait until the edge has really tried to reconnect.
  int attempts() const { return attempts_.load(); }

 private:
  explicit CuttingProxy(int upstream_port) : upstream_port_(upstream_port) {}
  // Relay copies both ways between `client` and a new upstream connection.
  void Relay(int client);
  // Pump copies from `from` to `to`; `downstream` counts towards a cut.
  void Pump(int from, int to, bool downstream);

  const int upstream_port_;
  std::atomic<bool> refusing_{false};
  std::atomic<bool> cut_{false};
  std::atomic<int> attempts_{0};
  absl::Mutex mu_;
  int64_t cut_budget_ ABSL_GUARDED_BY(mu_) = -1;  // -1: no cut armed
  // Last, so that it stops (and joins every relay) before the rest goes.
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace certgate::faults
