#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/sha.h"

namespace certgate::edge {

// SnapshotAssembler gathers the SnapshotChunks of one snapshot, in order, and
// yields the Snapshot only once the last chunk arrived, the bytes add up to
// the announced size and hash to the announced SHA-256. Anything else (a
// chunk out of order or repeated, a field that changes between chunks, more
// bytes than announced or than the limit) refuses the sequence and discards
// what was gathered. It holds the gathered bytes only; the caller holds the
// one chunk being added.
class SnapshotAssembler {
 public:
  // `max_total_bytes`: the largest snapshot taken (the edge's
  // --max-config-message-bytes).
  explicit SnapshotAssembler(int64_t max_total_bytes);

  // Add takes the next chunk: the Snapshot when it was the last one,
  // nullopt when more are needed, or an error (one line, naming what was
  // wrong) after which the assembler is empty again.
  absl::StatusOr<std::optional<v1::Snapshot>> Add(const v1::SnapshotChunk& chunk);
  // AddSerialized: the same, yielding the snapshot's bytes unparsed (for
  // EdgeConfig::FromSerializedSnapshot, which builds zone by zone).
  absl::StatusOr<std::optional<std::string>> AddSerialized(const v1::SnapshotChunk& chunk);

  // Discard drops a partial snapshot (the stream ended or a non-chunk
  // message came in between).
  void Discard();

  // In progress: some chunks of a snapshot are held.
  bool InProgress() const { return in_progress_; }
  uint64_t version() const { return version_; }
  uint64_t received_bytes() const { return buffer_.size(); }
  uint64_t total_bytes() const { return total_bytes_; }

 private:
  absl::Status Check(const v1::SnapshotChunk& chunk) const;

  const int64_t max_total_bytes_;
  bool in_progress_ = false;
  uint64_t version_ = 0;
  uint32_t next_index_ = 0;
  uint32_t count_ = 0;
  uint64_t total_bytes_ = 0;
  std::string sha256_;
  SHA256_CTX hash_;
  std::string buffer_;
};

}  // namespace certgate::edge
