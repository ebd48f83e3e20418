#include "dataplane/metrics/log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace certgate::edge {

absl::StatusOr<std::unique_ptr<LogFile>> LogFile::Open(absl::string_view spec) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        "log destination is empty (want PATH, stdout, stderr or off)");
  }
  if (spec == "off") {
    return std::unique_ptr<LogFile>(new LogFile(-1, ""));
  }
  if (spec == "stdout") {
    return std::unique_ptr<LogFile>(new LogFile(STDOUT_FILENO, ""));
  }
  if (spec == "stderr") {
    return std::unique_ptr<LogFile>(new LogFile(STDERR_FILENO, ""));
  }
  std::string path(spec);
  absl::StatusOr<int> fd = OpenPath(path);
  if (!fd.ok()) {
    return fd.status();
  }
  return std::unique_ptr<LogFile>(new LogFile(*fd, std::move(path)));
}

absl::StatusOr<int> LogFile::OpenPath(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open log file ", path, ": ", strerror(errno)));
  }
  return fd;
}

LogFile::~LogFile() {
  if (!path_.empty() && fd_ >= 0) {
    close(fd_);
  }
}

absl::Status LogFile::Reopen() {
  if (path_.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<int> fresh = OpenPath(path_);
  if (!fresh.ok()) {
    return fresh.status();
  }
  // dup3 keeps O_CLOEXEC on the number the workers write to.
  int rc;
  do {
    rc = dup3(*fresh, fd_, O_CLOEXEC);
  } while (rc < 0 && errno == EINTR);
  int saved = errno;
  close(*fresh);
  if (rc < 0) {
    return absl::InternalError(
        absl::StrCat("cannot reopen log file ", path_, ": ", strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace certgate::edge
