#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "dataplane/server/worker.h"

namespace certgate::edge {

class EdgeMetrics;

struct EdgeServerOptions {
  std::vector<HostPort> listen;
  int workers = 1;
  WorkerOptions worker;
  // Listening sockets taken over from the edge this one replaces (owned
  // from now on). Each is matched to its listen address and given to a
  // worker; a worker left without one for an address binds a new one, and a
  // socket on an address no longer listed is closed.
  std::vector<int> inherited_listen_fds;
};

// EdgeServer runs the workers: each binds its own socket on every listen
// address (SO_REUSEPORT) and runs its own loop.
class EdgeServer {
 public:
  // Create binds every socket now, so that a taken port fails at start.
  static absl::StatusOr<std::unique_ptr<EdgeServer>> Create(EdgeServerOptions options,
                                                            TlsServer* tls, EdgeMetrics* metrics);
  ~EdgeServer();

  void Start();
  // ListenFds: every worker's listening sockets, for a hand-over (valid
  // until Shutdown).
  const std::vector<int>& ListenFds() const { return listen_fds_; }
  // Shutdown stops accepting, lets open requests finish for up to
  // `drain_timeout`, then closes what is left and joins the threads.
  void Shutdown(absl::Duration drain_timeout);

 private:
  EdgeServer() = default;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> listen_fds_;
};

}  // namespace certgate::edge
