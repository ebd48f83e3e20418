#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "dataplane/http/host_port.h"

namespace certgate::edge {

// MetricsServer answers `GET /metrics` (Prometheus text) on a plain HTTP
// port, one request per connection, on its own thread: scrapes are rare and
// must never share a loop with client traffic.
class MetricsServer {
 public:
  // `inherited_fd`: a listening socket taken over from the edge this one
  // replaces (owned from now on); -1 binds `address`.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(const HostPort& address,
                                                               std::function<std::string()> render,
                                                               int inherited_fd = -1);
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

}  // namespace certgate::edge
