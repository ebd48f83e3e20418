#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/config/edge_config.h"

namespace certgate::edge {

// StateLog is the edge's state on disk, written in O(change) per applied
// version: a snapshot file (StateFile, at `path`) and an append-only log of
// the versions applied since (`path`.log), each record fsynced before Record
// returns. When the log outgrows a quarter of the snapshot (at least
// min_compact_bytes) the current config is written as a new snapshot and
// the log starts again.
//
// Crash safety: a record is [length][checksum][StateLogRecord]; a torn or
// corrupt tail is where the log ends, so a crash mid-write recovers to the
// last complete version. A snapshot names the log that continues it (a
// random id in both): a new snapshot and its empty log are made first under
// temporary names and renamed snapshot first, so whatever the crash point,
// the pair on disk is either the old snapshot with its log or the new
// snapshot with a log it does not name (ignored).
class StateLog {
 public:
  struct Options {
    int64_t min_compact_bytes = int64_t{16} << 20;
  };

  // Load returns the config the state at `path` holds: its snapshot with
  // every complete record of its log applied. NOT_FOUND when there is no
  // snapshot; DATA_LOSS when the snapshot is not a state file or corrupt.
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> Load(const std::string& path);

  static std::string LogPath(const std::string& path) { return path + ".log"; }

  explicit StateLog(std::string path) : StateLog(std::move(path), Options()) {}
  StateLog(std::string path, Options options);
  ~StateLog();
  StateLog(const StateLog&) = delete;
  StateLog& operator=(const StateLog&) = delete;

  // Record makes `config` the state on disk, durable on return: one record
  // appended when ApplyDelta made it from the version recorded last, a whole
  // snapshot otherwise (first write, a snapshot from the control plane, a
  // failed write before, compaction).
  absl::Status Record(const EdgeConfig& config);

  // Bytes written to disk so far, snapshots included; snapshots written.
  int64_t bytes_written() const { return bytes_written_; }
  int64_t snapshots_written() const { return snapshots_written_; }

 private:
  absl::Status Open();
  absl::Status Append(const EdgeConfig& config);
  absl::Status WriteSnapshot(const EdgeConfig& config);
  void CloseLog();

  const std::string path_;
  const Options options_;
  bool opened_ = false;
  bool need_snapshot_ = true;
  int log_fd_ = -1;
  uint64_t recorded_version_ = 0;
  int64_t log_bytes_ = 0;
  int64_t snapshot_bytes_ = 0;
  int64_t bytes_written_ = 0;
  int64_t snapshots_written_ = 0;
};

}  // namespace certgate::edge
