#include "controlplane/snapshot/serialized_snapshot.h"

#include <algorithm>

#include "common/status_macros.h"
#include "openssl/sha.h"

namespace certgate::controlplane {

namespace v1 = certgate::v1;

absl::StatusOr<std::shared_ptr<SerializedSnapshot>> SerializedSnapshot::Start(uint64_t version) {
  std::shared_ptr<SerializedSnapshot> serialized(new SerializedSnapshot());
  serialized->version_ = version;
  // Serialised messages concatenate into their merge, and a repeated field
  // merges by appending: the head (version) followed by one single-zone
  // Snapshot per zone is exactly the serialised Snapshot of every zone.
  v1::Snapshot head;
  head.set_version(version);
  std::string piece;
  if (!head.SerializeToString(&piece)) {
    return absl::InternalError("serialising the snapshot head failed");
  }
  serialized->bytes_.Append(std::move(piece));
  return serialized;
}

void SerializedSnapshot::Finish() {
  SHA256_CTX hash;
  SHA256_Init(&hash);
  for (absl::string_view part : bytes_.Chunks()) {
    SHA256_Update(&hash, part.data(), part.size());
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &hash);
  sha256_.assign(reinterpret_cast<const char*>(digest), sizeof(digest));
}

absl::StatusOr<absl::Cord> SerializedSnapshot::ZonePiece(const v1::EdgeZone& zone) {
  v1::Snapshot one;
  *one.add_zones() = zone;
  std::string piece;
  if (!one.SerializeToString(&piece)) {
    return absl::InternalError("serialising a zone into the snapshot failed");
  }
  return absl::Cord(std::move(piece));
}

absl::StatusOr<std::shared_ptr<const SerializedSnapshot>> SerializedSnapshot::Serialize(
    uint64_t version, const ZoneSource& zones) {
  ASSIGN_OR_RETURN(std::shared_ptr<SerializedSnapshot> serialized, Start(version));
  absl::Status appended;
  absl::Status listed = zones([&](const v1::EdgeZone& zone) {
    if (!appended.ok()) {
      return;
    }
    absl::StatusOr<absl::Cord> piece = ZonePiece(zone);
    if (!piece.ok()) {
      appended = piece.status();
      return;
    }
    serialized->bytes_.Append(*std::move(piece));
  });
  RETURN_IF_ERROR(listed);
  RETURN_IF_ERROR(appended);
  serialized->Finish();
  return std::shared_ptr<const SerializedSnapshot>(std::move(serialized));
}

absl::StatusOr<std::shared_ptr<const SerializedSnapshot>> SerializedSnapshot::FromPieces(
    uint64_t version, const PieceSource& pieces) {
  ASSIGN_OR_RETURN(std::shared_ptr<SerializedSnapshot> serialized, Start(version));
  pieces([&](const absl::Cord& piece) { serialized->bytes_.Append(piece); });
  serialized->Finish();
  return std::shared_ptr<const SerializedSnapshot>(std::move(serialized));
}

uint32_t SerializedSnapshot::ChunkCount(size_t chunk_bytes) const {
  if (bytes_.empty()) {
    return 1;
  }
  return static_cast<uint32_t>((bytes_.size() + chunk_bytes - 1) / chunk_bytes);
}

v1::ControlMessage SerializedSnapshot::Chunk(uint32_t index, size_t chunk_bytes) const {
  v1::ControlMessage message;
  v1::SnapshotChunk* chunk = message.mutable_snapshot_chunk();
  chunk->set_version(version_);
  chunk->set_index(index);
  chunk->set_count(ChunkCount(chunk_bytes));
  chunk->set_total_bytes(bytes_.size());
  chunk->set_sha256(sha256_);
  size_t offset = std::min(bytes_.size(), static_cast<size_t>(index) * chunk_bytes);
  chunk->set_offset(offset);
  absl::CopyCordToString(bytes_.Subcord(offset, std::min(chunk_bytes, bytes_.size() - offset)),
                         chunk->mutable_data());
  return message;
}

}  // namespace certgate::controlplane
