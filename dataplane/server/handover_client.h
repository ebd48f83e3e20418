#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certgate::edge {

// HandedSocket is one listening socket passed from a running edge to the one
// replacing it.
struct HandedSocket {
  enum class Role : char { kListen = 'L', kMetrics = 'M' };
  int fd = -1;
  Role role = Role::kListen;
};

// The hand-over protocol, on a SOCK_SEQPACKET Unix socket in the state
// directory: the new edge sends kHandoverRequest; the running one answers
// with packets whose bytes are the roles ('L', 'M') of the descriptors they
// carry (SCM_RIGHTS), then kHandoverEnd; once the new edge accepts on them
// it sends kHandoverServing, and the running one stops accepting and
// drains. A new edge that dies before that leaves the running one serving.
inline constexpr char kHandoverRequest[] = "certgate-edge takeover 1";
inline constexpr char kHandoverEnd[] = ".";
inline constexpr char kHandoverServing[] = "serving";

// HandoverSocketPath: where an edge with state in `state_dir` offers its
// sockets.
std::string HandoverSocketPath(const std::string& state_dir);

// HandoverClient is the new edge's side: it asks the running edge for its
// listening sockets and tells it when it serves on them.
class HandoverClient {
 public:
  // Connect returns NOT_FOUND when no edge offers sockets at `path` (no
  // file, or one left by an edge that is gone).
  static absl::StatusOr<std::unique_ptr<HandoverClient>> Connect(const std::string& path);
  ~HandoverClient();
  HandoverClient(const HandoverClient&) = delete;
  HandoverClient& operator=(const HandoverClient&) = delete;

  // Take receives the running edge's sockets (owned by the caller,
  // close-on-exec). DEADLINE_EXCEEDED if it does not answer in `timeout`.
  absl::StatusOr<std::vector<HandedSocket>> Take(absl::Duration timeout);
  // ConfirmServing tells the running edge to stop accepting and drain.
  absl::Status ConfirmServing();
  // peer_pid: the running edge's process id.
  pid_t peer_pid() const { return peer_pid_; }

 private:
  explicit HandoverClient(int fd, pid_t peer_pid) : fd_(fd), peer_pid_(peer_pid) {}
  int fd_;
  pid_t peer_pid_;
};

}  // namespace certgate::edge
