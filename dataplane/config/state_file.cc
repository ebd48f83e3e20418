#include "dataplane/config/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace certgate::edge {

namespace {

// A magic line first, so a file of something else is refused rather than
// parsed as an empty snapshot.
constexpr absl::string_view kMagic = "certgate-edge-state v1\n";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  int error = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  return error == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StateFile::Write(const std::string& path, const v1::Snapshot& snapshot) {
  std::string body;
  if (!snapshot.SerializeToString(&body)) {
    return absl::InternalError("cannot serialize the snapshot");
  }
  std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoError("create", temp);
  }
  // A leftover temp file of an earlier run keeps its mode through O_TRUNC.
  absl::Status status = ::fchmod(fd, 0600) == 0 ? absl::OkStatus() : ErrnoError("chmod", temp);
  if (status.ok()) {
    status = WriteAll(fd, kMagic, temp);
  }
  if (status.ok()) {
    status = WriteAll(fd, body, temp);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = ErrnoError("fsync", temp);
  }
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoError("close", temp);
  }
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("rename to", path);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  // The rename is durable only once the directory entry is.
  std::string dir = DirectoryOf(path);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoError("open directory", dir);
  }
  if (::fsync(dir_fd) != 0) {
    status = ErrnoError("fsync directory", dir);
  }
  ::close(dir_fd);
  return status;
}

absl::StatusOr<v1::Snapshot> StateFile::Read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("open", path);
  }
  std::string data;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      absl::Status status = ErrnoError("read", path);
      ::close(fd);
      return status;
    }
    if (n == 0) {
      break;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  absl::string_view view = data;
  if (!absl::ConsumePrefix(&view, kMagic)) {
    return absl::DataLossError(absl::StrCat(path, " is not a certgate edge state file"));
  }
  v1::Snapshot snapshot;
  if (!snapshot.ParseFromArray(view.data(), static_cast<int>(view.size()))) {
    return absl::DataLossError(absl::StrCat(path, " is corrupt"));
  }
  return snapshot;
}

}  // namespace certgate::edge
