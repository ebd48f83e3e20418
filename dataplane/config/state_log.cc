#include "dataplane/config/state_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "dataplane/config/serialized_snapshot.h"
#include "dataplane/config/state_file.h"
#include "dataplane/config/whole_file.h"
#include "openssl/rand.h"
#include "openssl/sha.h"

namespace certgate::edge {

namespace {

constexpr absl::string_view kLogMagic = "certgate-edge-log v1\n";
constexpr size_t kLogHeaderSize = kLogMagic.size() + 8;  // magic, log id
constexpr size_t kRecordHeaderSize = 4 + 8;              // length, checksum
// No record comes near this: a longer length is a torn or corrupt header.
constexpr uint32_t kMaxRecordBytes = uint32_t{1} << 30;

uint64_t Checksum(absl::string_view payload) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), digest);
  return absl::little_endian::Load64(digest);
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

std::string LogHeader(uint64_t log_id) {
  std::string header(kLogMagic);
  char id[8];
  absl::little_endian::Store64(id, log_id);
  header.append(id, sizeof(id));
  return header;
}

// ScanLog walks the records of `data` (a whole log) that continue version
// `from` of the snapshot whose log id is `log_id`, calling `apply` for each
// complete one in order. Returns the end offset of the last complete record
// (0 when the log is not this snapshot's) and that record's version in
// `*version` (left as `from` when none).
size_t ScanLog(absl::string_view data, uint64_t log_id, uint64_t from, uint64_t* version,
               const std::function<void(v1::StateLogRecord&)>& apply) {
  *version = from;
  if (data.size() < kLogHeaderSize || data.substr(0, kLogMagic.size()) != kLogMagic ||
      absl::little_endian::Load64(data.data() + kLogMagic.size()) != log_id) {
    return 0;
  }
  size_t offset = kLogHeaderSize;
  v1::StateLogRecord record;
  while (data.size() - offset >= kRecordHeaderSize) {
    uint32_t length = absl::little_endian::Load32(data.data() + offset);
    uint64_t checksum = absl::little_endian::Load64(data.data() + offset + 4);
    if (length > kMaxRecordBytes || data.size() - offset - kRecordHeaderSize < length) {
      break;  // torn: the crash came before the whole record was written
    }
    absl::string_view payload = data.substr(offset + kRecordHeaderSize, length);
    if (Checksum(payload) != checksum ||
        !record.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
        record.delta().from_version() != *version) {
      break;
    }
    *version = record.delta().version();
    if (apply) {
      apply(record);
    }
    offset += kRecordHeaderSize + length;
  }
  return offset;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const EdgeConfig>> StateLog::Load(const std::string& path) {
  // The file's bytes, each zone parsed from them as it is built: the parsed
  // file (larger than its bytes) never exists beside the built zones.
  ASSIGN_OR_RETURN(std::string bytes, StateFile::ReadSerialized(path));
  absl::Status corrupt = absl::DataLossError(absl::StrCat(path, " is corrupt"));
  std::optional<SerializedSnapshot> snapshot = SerializedSnapshot::Scan(bytes);
  if (!snapshot.has_value()) {
    return corrupt;
  }
  EdgeConfig::RecordedZones zones;
  zones.version = snapshot->version;
  zones.serialized = std::move(snapshot->zones);
  zones.order.reserve(zones.serialized.size());
  for (size_t i = 0; i < zones.serialized.size(); ++i) {
    zones.order.emplace_back(false, i);
  }
  for (absl::string_view failure : snapshot->failures) {
    if (!zones.failures.Add()->ParseFromArray(failure.data(), static_cast<int>(failure.size()))) {
      return corrupt;
    }
  }
  absl::StatusOr<std::string> log = ReadWholeFile(LogPath(path));
  if (snapshot->state_log_id != 0 && log.ok()) {
    // Replayed on the zones as recorded, then built once: a zone changed by
    // many records is built only in its last version.
    absl::flat_hash_map<uint64_t, size_t> position;  // zone id -> index in zones.order
    absl::flat_hash_map<uint64_t, std::string> failures;
    bool indexed = false;
    bool unreadable = false;
    uint64_t version = 0;
    std::vector<size_t> removed;  // indexes in zones.order
    ScanLog(*log, snapshot->state_log_id, snapshot->version, &version,
            [&](v1::StateLogRecord& record) {
              if (!indexed) {
                position.reserve(zones.order.size());
                for (size_t i = 0; i < zones.serialized.size(); ++i) {
                  std::optional<uint64_t> id = SerializedSnapshot::ZoneId(zones.serialized[i]);
                  unreadable = unreadable || !id.has_value();
                  position[id.value_or(0)] = i;
                }
                for (const v1::ZoneBuildFailure& failure : zones.failures) {
                  failures[failure.zone_id()] = failure.error();
                }
                indexed = true;
              }
              for (v1::EdgeZone& zone : *record.mutable_delta()->mutable_upserted()) {
                failures.erase(zone.id());
                auto [it, inserted] = position.emplace(zone.id(), zones.order.size());
                zones.replayed.push_back(std::move(zone));
                std::pair<bool, size_t> entry(true, zones.replayed.size() - 1);
                if (inserted) {
                  zones.order.push_back(entry);
                } else {
                  zones.order[it->second] = entry;
                }
              }
              for (uint64_t id : record.delta().removed_zone_ids()) {
                failures.erase(id);
                auto it = position.find(id);
                if (it != position.end()) {
                  removed.push_back(it->second);
                  position.erase(it);
                }
              }
              for (v1::ZoneBuildFailure& failure : *record.mutable_zone_failures()) {
                failures[failure.zone_id()] = std::move(*failure.mutable_error());
              }
            });
    if (unreadable) {
      return corrupt;
    }
    if (indexed) {
      zones.failures.Clear();
      std::vector<uint64_t> failed;
      failed.reserve(failures.size());
      for (const auto& [id, error] : failures) {
        failed.push_back(id);
      }
      std::sort(failed.begin(), failed.end());
      for (uint64_t id : failed) {
        v1::ZoneBuildFailure* failure = zones.failures.Add();
        failure->set_zone_id(id);
        failure->set_error(failures[id]);
      }
    }
    zones.version = version;
    if (!removed.empty()) {
      // Every index still in `position` is a zone served now.
      std::vector<size_t> kept;
      kept.reserve(position.size());
      for (const auto& [id, index] : position) {
        kept.push_back(index);
      }
      std::sort(kept.begin(), kept.end());
      std::vector<std::pair<bool, size_t>> order;
      order.reserve(kept.size());
      for (size_t index : kept) {
        order.push_back(zones.order[index]);
      }
      zones.order = std::move(order);
    }
  }
  absl::StatusOr<std::shared_ptr<const EdgeConfig>> config = EdgeConfig::FromRecordedZones(zones);
  if (absl::IsDataLoss(config.status())) {
    return corrupt;
  }
  return config;
}

StateLog::StateLog(std::string path, Options options) : path_(std::move(path)), options_(options) {}

StateLog::~StateLog() { CloseLog(); }

void StateLog::CloseLog() {
  if (log_fd_ >= 0) {
    ::close(log_fd_);
    log_fd_ = -1;
  }
}

absl::Status StateLog::Open() {
  opened_ = true;
  need_snapshot_ = true;
  absl::StatusOr<StateFile::Header> header = StateFile::ReadHeader(path_);
  if (!header.ok() || header->state_log_id == 0) {
    return absl::OkStatus();  // nothing usable yet: the first Record writes a snapshot
  }
  std::string log_path = LogPath(path_);
  absl::StatusOr<std::string> log = ReadWholeFile(log_path);
  if (!log.ok()) {
    return absl::OkStatus();
  }
  uint64_t version = 0;
  size_t end = ScanLog(*log, header->state_log_id, header->version, &version, nullptr);
  if (end == 0) {
    return absl::OkStatus();  // another snapshot's log
  }
  int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("open", log_path);
  }
  // A torn tail goes, so the next record follows the last complete one.
  if (end < log->size() && (::ftruncate(fd, static_cast<off_t>(end)) != 0 || ::fsync(fd) != 0)) {
    absl::Status status = ErrnoError("truncate", log_path);
    ::close(fd);
    return status;
  }
  log_fd_ = fd;
  recorded_version_ = version;
  log_bytes_ = static_cast<int64_t>(end);
  snapshot_bytes_ = header->bytes;
  need_snapshot_ = false;
  return absl::OkStatus();
}

absl::Status StateLog::Record(const EdgeConfig& config) {
  if (!opened_) {
    absl::Status opened = Open();
    if (!opened.ok()) {
      return opened;
    }
  }
  bool continues = !need_snapshot_ && log_fd_ >= 0 && config.from_version().has_value() &&
                   *config.from_version() == recorded_version_;
  if (!continues) {
    return WriteSnapshot(config);
  }
  if (absl::Status appended = Append(config); !appended.ok()) {
    // What is on disk may end in a torn record: the next write starts anew.
    need_snapshot_ = true;
    return appended;
  }
  if (log_bytes_ > std::max(options_.min_compact_bytes, snapshot_bytes_ / 4)) {
    return WriteSnapshot(config);
  }
  return absl::OkStatus();
}

absl::Status StateLog::Append(const EdgeConfig& config) {
  v1::StateLogRecord record;
  v1::Delta* delta = record.mutable_delta();
  delta->set_from_version(*config.from_version());
  delta->set_version(config.version());
  for (uint64_t id : config.touched_ids()) {
    const ZoneConfig* zone = config.FindById(id);
    if (zone != nullptr) {
      *delta->add_upserted() = zone->source.Zone();
    } else {
      delta->add_removed_zone_ids(id);
    }
  }
  // The failures of the touched zones only: every other zone's is as before.
  for (uint64_t id : config.touched_ids()) {
    if (const ZoneFailure* failure = config.FindFailure(id)) {
      v1::ZoneBuildFailure* recorded = record.add_zone_failures();
      recorded->set_zone_id(failure->zone_id);
      recorded->set_error(failure->error);
    }
  }
  std::string payload;
  if (!record.SerializeToString(&payload)) {
    return absl::InternalError("cannot serialize the state log record");
  }
  // One write per record: header and payload together.
  std::string framed(kRecordHeaderSize, '\0');
  absl::little_endian::Store32(framed.data(), static_cast<uint32_t>(payload.size()));
  absl::little_endian::Store64(framed.data() + 4, Checksum(payload));
  framed += payload;
  std::string log_path = LogPath(path_);
  RETURN_IF_ERROR(WriteAll(log_fd_, framed, log_path));
  if (::fdatasync(log_fd_) != 0) {
    return ErrnoError("fdatasync", log_path);
  }
  recorded_version_ = config.version();
  log_bytes_ += static_cast<int64_t>(framed.size());
  bytes_written_ += static_cast<int64_t>(framed.size());
  return absl::OkStatus();
}

absl::Status StateLog::WriteSnapshot(const EdgeConfig& config) {
  need_snapshot_ = true;
  CloseLog();
  uint64_t log_id = 0;
  while (log_id == 0) {
    RAND_bytes(reinterpret_cast<uint8_t*>(&log_id), sizeof(log_id));
  }
  // The new, empty log first (under a temporary name), then the snapshot
  // that names it, then the log under its name: see the class comment.
  std::string log_path = LogPath(path_);
  std::string log_temp = absl::StrCat(log_path, ".new");
  std::string header = LogHeader(log_id);
  int fd = ::open(log_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoError("create", log_temp);
  }
  absl::Status status = WriteAll(fd, header, log_temp);
  if (status.ok() && ::fsync(fd) != 0) {
    status = ErrnoError("fsync", log_temp);
  }
  ::close(fd);
  if (!status.ok()) {
    ::unlink(log_temp.c_str());
    return status;
  }
  std::vector<const ZoneConfig*> zones = config.Zones();
  std::sort(zones.begin(), zones.end(),
            [](const ZoneConfig* a, const ZoneConfig* b) { return a->id < b->id; });
  int64_t bytes = 0;
  status = StateFile::WriteStreamed(
      path_, config.version(), log_id,
      [&](const StateFile::Sink& sink) {
        for (const ZoneConfig* zone : zones) {
          sink.zone(zone->source.Zone());
        }
        v1::ZoneBuildFailure recorded;
        for (const ZoneFailure& failure : config.Failures()) {
          recorded.set_zone_id(failure.zone_id);
          recorded.set_error(failure.error);
          sink.failure(recorded);
        }
      },
      &bytes);
  if (!status.ok()) {
    ::unlink(log_temp.c_str());
    return status;
  }
  bytes_written_ += bytes + static_cast<int64_t>(header.size());
  ++snapshots_written_;
  if (::rename(log_temp.c_str(), log_path.c_str()) != 0) {
    status = ErrnoError("rename to", log_path);
    ::unlink(log_temp.c_str());
    return status;
  }
  RETURN_IF_ERROR(StateFile::SyncDirectoryOf(log_path));
  log_fd_ = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (log_fd_ < 0) {
    return ErrnoError("open", log_path);
  }
  recorded_version_ = config.version();
  log_bytes_ = static_cast<int64_t>(header.size());
  snapshot_bytes_ = bytes;
  need_snapshot_ = false;
  return absl::OkStatus();
}

}  // namespace certgate::edge
