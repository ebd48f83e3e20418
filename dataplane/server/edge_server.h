#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/http/host_port.h"
#include "dataplane/server/worker.h"

namespace certgate::edge {

class EdgeMetrics;

struct EdgeServerOptions {
  std::vector<HostPort> listen;
  int workers = 1;
  WorkerOptions worker;
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
  // Shutdown stops accepting, lets open requests finish for up to
  // `drain_timeout`, then closes what is left and joins the threads.
  void Shutdown(absl::Duration drain_timeout);

 private:
  EdgeServer() = default;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace certgate::edge
