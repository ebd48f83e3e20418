#include "controlplane/snapshot/serialized_snapshot.h"

#include <algorithm>

#include "openssl/sha.h"

namespace certgate::controlplane {

namespace v1 = certgate::v1;

absl::StatusOr<std::shared_ptr<const SerializedSnapshot>> SerializedSnapshot::Serialize(
    uint64_t version, const ZoneSource& zones) {
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
  v1::Snapshot one;
  bool appended = true;
  absl::Status listed = zones([&](const v1::EdgeZone& zone) {
    *one.add_zones() = zone;
    std::string zone_piece;
    appended = appended && one.SerializeToString(&zone_piece);
    serialized->bytes_.Append(std::move(zone_piece));
    one.clear_zones();
  });
  if (!listed.ok()) {
    return listed;
  }
  if (!appended) {
    return absl::InternalError("serialising a zone into the snapshot failed");
  }
  SHA256_CTX hash;
  SHA256_Init(&hash);
  for (absl::string_view part : serialized->bytes_.Chunks()) {
    SHA256_Update(&hash, part.data(), part.size());
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &hash);
  serialized->sha256_.assign(reinterpret_cast<const char*>(digest), sizeof(digest));
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
