#pragma once

#include <cstdint>
#include <functional>
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

  // WriteStreamed: the same, for a snapshot of `version` and `state_log_id`
  // whose zones and failures `fill` hands over one at a time, each encoded
  // straight to the file: no whole-snapshot copy in memory. Returns the
  // file's size in `bytes` when not null.
  struct Sink {
    std::function<void(const v1::EdgeZone&)> zone;
    std::function<void(const v1::ZoneBuildFailure&)> failure;
  };
  static absl::Status WriteStreamed(const std::string& path, uint64_t version,
                                    uint64_t state_log_id,
                                    const std::function<void(const Sink&)>& fill,
                                    int64_t* bytes = nullptr);

  // ReadHeader reads only the version and state log id at the start of a
  // file written by WriteStreamed (0 for an id when the file has none).
  struct Header {
    uint64_t version = 0;
    uint64_t state_log_id = 0;
    int64_t bytes = 0;
  };
  static absl::StatusOr<Header> ReadHeader(const std::string& path);

  // WriteAtomically: `body` (magic line and all) replaces `path` as Write does.
  static absl::Status WriteAtomically(const std::string& path,
                                      const std::function<absl::Status(int fd)>& body);

  // SyncDirectoryOf makes a rename in `path`'s directory durable.
  static absl::Status SyncDirectoryOf(const std::string& path);

  // Read parses a file written by Write; NOT_FOUND when there is none,
  // DATA_LOSS when it is not a state file.
  static absl::StatusOr<v1::Snapshot> Read(const std::string& path);
  // ReadSerialized: the same file's Snapshot, serialised (not parsed), for
  // a load that parses it a zone at a time. NOT_FOUND or DATA_LOSS as Read.
  static absl::StatusOr<std::string> ReadSerialized(const std::string& path);
};

}  // namespace certgate::edge
