#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/server/handover_client.h"

namespace certgate::edge {

// HandoverServer is the running edge's side of a hand-over: on its own
// thread it offers the edge's listening sockets on a Unix socket in the
// state directory to a new edge of the same user, and once that edge says it
// serves on them, calls `on_handed_over` (once) and offers nothing more: the
// sockets stay open in the new process, so no connection waiting in their
// accept queues is lost.
class HandoverServer {
 public:
  // Create binds `path` (replacing a file there atomically: a running
  // edge's socket keeps working until it has handed over). `sockets` is
  // called on this server's thread when a new edge asks; the descriptors
  // stay owned by the caller.
  static absl::StatusOr<std::unique_ptr<HandoverServer>> Create(
      const std::string& path, std::function<std::vector<HandedSocket>()> sockets,
      std::function<void(pid_t)> on_handed_over);
  ~HandoverServer();

  void Start();
  // Stop ends the thread (any hand-over in progress is broken off) and,
  // unless another edge has put its own socket at the path, removes it.
  void Stop();

 private:
  HandoverServer() = default;
  void Run();
  // Serve runs one hand-over; true when the new edge confirmed it serves.
  bool Serve(int connection, pid_t* peer);
  // WaitReadable: `fd` readable before `timeout_ms`, false on timeout or
  // when Stop is called.
  bool WaitReadable(int fd, int timeout_ms);

  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::function<std::vector<HandedSocket>()> sockets_;
  std::function<void(pid_t)> on_handed_over_;
  std::thread thread_;
};

}  // namespace certgate::edge
