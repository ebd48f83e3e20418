#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace certgate {

// MetricsServer answers `GET /metrics` (Prometheus text) and `GET /healthz`
// on a plain HTTP port, one request per connection, on its own thread:
// scrapes are rare and must never share a loop with client traffic. The edge
// and the control plane each run one.
class MetricsServer {
 public:
  // `listen_fd`: a listening socket (owned from now on), bound by the caller
  // or taken over from the process this one replaces.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(int listen_fd,
                                                               std::function<std::string()> render);
  // listen_fd: the listening socket, for a hand-over.
  int listen_fd() const { return listen_fd_; }
  ~MetricsServer();

  void Start();
  void Stop();

 private:
  MetricsServer() = default;
  void Run();
  void Serve(int fd);

  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace certgate
