#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "certgate/v1/edge_config.pb.h"

namespace certgate::controlplane {

// A stream holds about four times its chunk while writing it (the message,
// gRPC's copy, the transport's buffers): 256 KiB keeps 100 edges taking a
// snapshot at once near 100 MiB beyond the snapshot itself, and costs no
// measurable time against 1 MiB (tests/bench/analysis.md);
// --snapshot-chunk-bytes changes it, up to kMaxSnapshotChunkBytes.
inline constexpr int64_t kDefaultSnapshotChunkBytes = int64_t{256} << 10;

// SerializedSnapshot is one config version's Snapshot, serialised once and
// never changed, so every edge that needs it is sent the same bytes as
// SnapshotChunks: memory is one copy per version, not one per edge.
class SerializedSnapshot {
 public:
  // ZoneSource calls its argument once per zone, in order.
  using ZoneSource =
      std::function<absl::Status(const std::function<void(const certgate::v1::EdgeZone&)>&)>;

  // Serialize builds a Snapshot of `version` from `zones` straight into bytes,
  // one zone at a time, so the whole Snapshot message is never held; the
  // bytes are a rope of the zones' pieces, so they never need a second,
  // contiguous copy while they grow.
  static absl::StatusOr<std::shared_ptr<const SerializedSnapshot>> Serialize(
      uint64_t version, const ZoneSource& zones);

  // ZonePiece: one zone as it appears in a serialised Snapshot (its field
  // tag, length and bytes). A Snapshot's bytes are its head followed by its
  // zones' pieces, so a caller that keeps each zone's piece builds any
  // version by concatenation (FromPieces) instead of serialising every zone.
  static absl::StatusOr<absl::Cord> ZonePiece(const certgate::v1::EdgeZone& zone);
  // PieceSource calls its argument once per zone piece, in order.
  using PieceSource = std::function<void(const std::function<void(const absl::Cord&)>&)>;
  // FromPieces: the Snapshot of `version` made of `pieces`; the bytes share
  // the pieces' memory rather than copy it.
  static absl::StatusOr<std::shared_ptr<const SerializedSnapshot>> FromPieces(
      uint64_t version, const PieceSource& pieces);

  uint64_t version() const { return version_; }
  const absl::Cord& bytes() const { return bytes_; }
  // SHA-256 of bytes(), 32 bytes.
  const std::string& sha256() const { return sha256_; }

  // ChunkCount: how many chunks of at most `chunk_bytes` (at least 1).
  uint32_t ChunkCount(size_t chunk_bytes) const;
  // Chunk: the `index`th of those chunks as a message.
  certgate::v1::ControlMessage Chunk(uint32_t index, size_t chunk_bytes) const;

 private:
  SerializedSnapshot() = default;
  // Start: an empty snapshot of `version` holding only its head.
  static absl::StatusOr<std::shared_ptr<SerializedSnapshot>> Start(uint64_t version);
  // Finish computes the hash once every piece is in.
  void Finish();

  uint64_t version_ = 0;
  absl::Cord bytes_;
  std::string sha256_;
};

}  // namespace certgate::controlplane
