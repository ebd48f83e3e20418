#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace certgate::faults {

// LoopbackServer is the TCP plumbing the in-process test servers share: a
// listener on 127.0.0.1 on a port the kernel picks, and one thread per
// accepted connection running `serve(fd)`. The server closes the fd once
// `serve` returns. Destroying it stops accepting, shuts every open
// connection down (so `serve` reads EOF) and joins every thread.
class LoopbackServer {
 public:
  using Serve = std::function<void(int fd)>;

  static absl::StatusOr<std::unique_ptr<LoopbackServer>> Start(Serve serve);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }

 private:
  LoopbackServer(int listen_fd, int port, Serve serve)
      : listen_fd_(listen_fd), port_(port), serve_(std::move(serve)) {}
  void AcceptLoop();
  void RunConnection(int fd);

  const int listen_fd_;
  const int port_;
  const Serve serve_;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// ConnectLoopback: a blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectLoopback(int port);

}  // namespace certgate::faults
