#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "certgate/v1/edge_config.pb.h"

namespace certgate::edge {

// StateFile is the edge's last applied config on disk, so a restarted edge
// serves at once, even with the control plane down. It holds zone private
// keys: written with mode 0600.
class StateFile {
 public:
  // Write replaces `path` atomically: a temp file in the same directory,
  // fsync, rename over `path`, fsync of the directory. A crash leaves either
  // the old file or the new one, never a torn one.
  static absl::Status Write(const std::string& path, const v1::Snapshot& snapshot);

  // Read parses a file written by Write; NOT_FOUND when there is none,
  // DATA_LOSS when it is not a state file.
  static absl::StatusOr<v1::Snapshot> Read(const std::string& path);
};

}  // namespace certgate::edge
