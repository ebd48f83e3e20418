#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate::edge {

// LogFile is where one log goes: standard output, standard error, nowhere,
// or a file opened O_APPEND (so several workers' writes never overwrite each
// other). Its descriptor number never changes: Reopen puts the new file
// under the same number with dup2, so a worker writing at that moment writes
// whole lines to either the old or the new file, and needs no lock.
class LogFile {
 public:
  // Open parses `spec`: "stdout", "stderr", "off", or a path (created 0640,
  // less what the umask removes). Returns INVALID_ARGUMENT for an empty
  // spec and the open error for a path that cannot be opened.
  static absl::StatusOr<std::unique_ptr<LogFile>> Open(absl::string_view spec);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // enabled: false for "off".
  bool enabled() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // path: the file's path, "" for stdout, stderr and off.
  const std::string& path() const { return path_; }

  // Reopen opens the path again (after logrotate renamed it) and swaps it in
  // under the same descriptor. No-op for stdout, stderr and off. On failure
  // the old file stays in use.
  absl::Status Reopen();

 private:
  LogFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static absl::StatusOr<int> OpenPath(const std::string& path);

  int fd_;
  std::string path_;
};

}  // namespace certgate::edge
