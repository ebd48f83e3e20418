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
#include "common/status_macros.h"
#include "dataplane/config/whole_file.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/wire_format_lite.h"

namespace certgate::edge {

namespace {

// A magic line first, so a file of something else is refused rather than
// parsed as an empty snapshot.
constexpr absl::string_view kMagic = "certgate-edge-state v1\n";

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

absl::Status StateFile::WriteAtomically(const std::string& path,
                                        const std::function<absl::Status(int fd)>& body) {
  std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoError("create", temp);
  }
  // A leftover temp file of an earlier run keeps its mode through O_TRUNC.
  absl::Status status = ::fchmod(fd, 0600) == 0 ? absl::OkStatus() : ErrnoError("chmod", temp);
  if (status.ok()) {
    status = body(fd);
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
  return SyncDirectoryOf(path);
}

absl::Status StateFile::SyncDirectoryOf(const std::string& path) {
  // A rename is durable only once the directory entry is.
  std::string dir = DirectoryOf(path);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoError("open directory", dir);
  }
  absl::Status status = absl::OkStatus();
  if (::fsync(dir_fd) != 0) {
    status = ErrnoError("fsync directory", dir);
  }
  ::close(dir_fd);
  return status;
}

absl::Status StateFile::Write(const std::string& path, const v1::Snapshot& snapshot) {
  std::string body;
  if (!snapshot.SerializeToString(&body)) {
    return absl::InternalError("cannot serialize the snapshot");
  }
  return WriteAtomically(path, [&](int fd) {
    absl::Status status = WriteAll(fd, kMagic, path);
    return status.ok() ? WriteAll(fd, body, path) : status;
  });
}

absl::Status StateFile::WriteStreamed(const std::string& path, uint64_t version,
                                      uint64_t state_log_id,
                                      const std::function<void(const Sink&)>& fill,
                                      int64_t* bytes) {
  using google::protobuf::internal::WireFormatLite;
  return WriteAtomically(path, [&](int fd) -> absl::Status {
    absl::Status status = WriteAll(fd, kMagic, path);
    if (!status.ok()) {
      return status;
    }
    google::protobuf::io::FileOutputStream raw(fd, 1 << 20);
    {
      google::protobuf::io::CodedOutputStream out(&raw);
      // Version and log id first, so ReadHeader finds them in a few bytes.
      WireFormatLite::WriteUInt64(v1::Snapshot::kVersionFieldNumber, version, &out);
      if (state_log_id != 0) {
        WireFormatLite::WriteFixed64(v1::Snapshot::kStateLogIdFieldNumber, state_log_id, &out);
      }
      // Length first: ByteSizeLong also caches the sizes the serializer uses.
      auto write_message = [&out](int field, const google::protobuf::MessageLite& message) {
        out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
        out.WriteVarint32(static_cast<uint32_t>(message.ByteSizeLong()));
        message.SerializeWithCachedSizes(&out);
      };
      Sink sink;
      sink.zone = [&](const v1::EdgeZone& zone) {
        write_message(v1::Snapshot::kZonesFieldNumber, zone);
      };
      sink.failure = [&](const v1::ZoneBuildFailure& failure) {
        write_message(v1::Snapshot::kZoneFailuresFieldNumber, failure);
      };
      fill(sink);
      if (out.HadError()) {
        errno = raw.GetErrno();
        return ErrnoError("write", path);
      }
    }
    if (!raw.Flush()) {
      errno = raw.GetErrno();
      return ErrnoError("write", path);
    }
    if (bytes != nullptr) {
      *bytes = static_cast<int64_t>(kMagic.size()) + raw.ByteCount();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<StateFile::Header> StateFile::ReadHeader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("open", path);
  }
  char buffer[128];
  ssize_t n = ::pread(fd, buffer, sizeof(buffer), 0);
  struct stat info {};
  int stat_result = ::fstat(fd, &info);
  ::close(fd);
  if (n < 0 || stat_result != 0) {
    return ErrnoError("read", path);
  }
  absl::string_view view(buffer, static_cast<size_t>(n));
  if (!absl::ConsumePrefix(&view, kMagic)) {
    return absl::DataLossError(absl::StrCat(path, " is not a certgate edge state file"));
  }
  Header header;
  header.bytes = info.st_size;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(view.data()),
                                            static_cast<int>(view.size()));
  using google::protobuf::internal::WireFormatLite;
  for (int i = 0; i < 2; ++i) {
    uint32_t tag = in.ReadTag();
    if (tag == WireFormatLite::MakeTag(v1::Snapshot::kVersionFieldNumber,
                                       WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint64(&header.version)) {
        break;
      }
    } else if (tag == WireFormatLite::MakeTag(v1::Snapshot::kStateLogIdFieldNumber,
                                              WireFormatLite::WIRETYPE_FIXED64)) {
      if (!in.ReadLittleEndian64(&header.state_log_id)) {
        break;
      }
    } else {
      break;
    }
  }
  return header;
}

absl::StatusOr<v1::Snapshot> StateFile::Read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("open", path);
  }
  char magic[kMagic.size()];
  ssize_t n = ::pread(fd, magic, sizeof(magic), 0);
  if (n != static_cast<ssize_t>(sizeof(magic)) ||
      absl::string_view(magic, sizeof(magic)) != kMagic ||
      ::lseek(fd, static_cast<off_t>(sizeof(magic)), SEEK_SET) < 0) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat(path, " is not a certgate edge state file"));
  }
  // Parsed from the file as it is read: no second whole copy in memory.
  v1::Snapshot snapshot;
  bool parsed;
  {
    google::protobuf::io::FileInputStream in(fd, 1 << 20);
    parsed = snapshot.ParseFromZeroCopyStream(&in);
    if (in.GetErrno() != 0) {
      errno = in.GetErrno();
      absl::Status status = ErrnoError("read", path);
      ::close(fd);
      return status;
    }
  }
  ::close(fd);
  if (!parsed) {
    return absl::DataLossError(absl::StrCat(path, " is corrupt"));
  }
  return snapshot;
}

absl::StatusOr<std::string> StateFile::ReadSerialized(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadWholeFile(path));
  if (!absl::StartsWith(data, kMagic)) {
    return absl::DataLossError(absl::StrCat(path, " is not a certgate edge state file"));
  }
  data.erase(0, kMagic.size());
  return data;
}

}  // namespace certgate::edge
