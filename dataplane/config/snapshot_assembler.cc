#include "dataplane/config/snapshot_assembler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/snapshot_chunk_limits.h"
#include "common/status_macros.h"
#include "openssl/mem.h"

namespace certgate::edge {

SnapshotAssembler::SnapshotAssembler(int64_t max_total_bytes) : max_total_bytes_(max_total_bytes) {}

void SnapshotAssembler::Discard() {
  in_progress_ = false;
  version_ = 0;
  next_index_ = 0;
  count_ = 0;
  total_bytes_ = 0;
  sha256_.clear();
  // Give the memory back: a partial snapshot can be hundreds of megabytes.
  std::string().swap(buffer_);
}

absl::Status SnapshotAssembler::Check(const v1::SnapshotChunk& chunk) const {
  if (chunk.data().size() > static_cast<size_t>(kMaxSnapshotChunkBytes)) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunk ", chunk.index(), " carries ",
                                                   chunk.data().size(), " bytes, above the ",
                                                   kMaxSnapshotChunkBytes, " a chunk may hold"));
  }
  if (!in_progress_) {
    if (chunk.index() != 0) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot chunk ", chunk.index(),
                                                     " of version ", chunk.version(),
                                                     " arrived before chunk 0"));
    }
    if (chunk.count() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot chunk of version ", chunk.version(), " announces 0 chunks"));
    }
    if (chunk.total_bytes() > static_cast<uint64_t>(max_total_bytes_)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "snapshot of version ", chunk.version(), " announces ", chunk.total_bytes(),
          " bytes, above the limit of ", max_total_bytes_, " (--max-config-message-bytes)"));
    }
    if (chunk.sha256().size() != SHA256_DIGEST_LENGTH) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot chunk of version ", chunk.version(),
                                                     " has a sha256 of ", chunk.sha256().size(),
                                                     " bytes, not ", SHA256_DIGEST_LENGTH));
    }
  } else {
    if (chunk.version() != version_ || chunk.count() != count_ ||
        chunk.total_bytes() != total_bytes_ || chunk.sha256() != sha256_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "snapshot chunk ", chunk.index(), " says version ", chunk.version(), ", ", chunk.count(),
          " chunks, ", chunk.total_bytes(), " bytes or another sha256, unlike chunk 0 (version ",
          version_, ", ", count_, " chunks, ", total_bytes_, " bytes)"));
    }
    if (chunk.index() != next_index_) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot chunk ", chunk.index(), " of version ", version_,
                       " arrived where chunk ", next_index_, " was expected"));
    }
  }
  if (chunk.index() >= chunk.count()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunk ", chunk.index(), " of version ",
                                                   chunk.version(), " is beyond its count of ",
                                                   chunk.count()));
  }
  if (chunk.offset() != buffer_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunk ", chunk.index(), " of version ",
                                                   chunk.version(), " starts at byte ",
                                                   chunk.offset(), ", not ", buffer_.size()));
  }
  if (chunk.data().empty() && chunk.total_bytes() != 0) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunk ", chunk.index(), " of version ",
                                                   chunk.version(), " is empty"));
  }
  if (chunk.data().size() > chunk.total_bytes() - buffer_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunks of version ", chunk.version(),
                                                   " carry more than the announced ",
                                                   chunk.total_bytes(), " bytes"));
  }
  bool last = chunk.index() + 1 == chunk.count();
  uint64_t after = buffer_.size() + chunk.data().size();
  if (last && after != chunk.total_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot of version ", chunk.version(),
                                                   " ended after ", after, " of its ",
                                                   chunk.total_bytes(), " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> SnapshotAssembler::AddSerialized(
    const v1::SnapshotChunk& chunk) {
  absl::Status checked = Check(chunk);
  if (!checked.ok()) {
    Discard();
    return checked;
  }
  if (!in_progress_) {
    in_progress_ = true;
    version_ = chunk.version();
    count_ = chunk.count();
    total_bytes_ = chunk.total_bytes();
    sha256_ = chunk.sha256();
    SHA256_Init(&hash_);
    // Bounded by max_total_bytes_ above; one allocation, no regrowth copies.
    buffer_.reserve(total_bytes_);
  }
  buffer_.append(chunk.data());
  SHA256_Update(&hash_, chunk.data().data(), chunk.data().size());
  next_index_ = chunk.index() + 1;
  if (next_index_ < count_) {
    return std::nullopt;
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &hash_);
  uint64_t version = version_;
  if (CRYPTO_memcmp(digest, sha256_.data(), SHA256_DIGEST_LENGTH) != 0) {
    Discard();
    return absl::DataLossError(
        absl::StrCat("snapshot of version ", version, " does not match its sha256"));
  }
  std::string bytes = std::move(buffer_);
  Discard();
  return bytes;
}

absl::StatusOr<std::optional<v1::Snapshot>> SnapshotAssembler::Add(const v1::SnapshotChunk& chunk) {
  uint64_t version = chunk.version();
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, AddSerialized(chunk));
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  v1::Snapshot snapshot;
  bool parsed = snapshot.ParseFromString(*bytes);
  std::string().swap(*bytes);  // freed before the caller builds from the parsed one
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot of version ", version, " is not a readable Snapshot message"));
  }
  if (snapshot.version() != version) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunks say version ", version,
                                                   " but the snapshot is version ",
                                                   snapshot.version()));
  }
  return snapshot;
}

}  // namespace certgate::edge
