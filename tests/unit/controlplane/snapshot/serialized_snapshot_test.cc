#include "controlplane/snapshot/serialized_snapshot.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"

namespace certgate::controlplane {
namespace {

namespace v1 = certgate::v1;

v1::Snapshot MakeSnapshot(uint64_t version, int zones) {
  v1::Snapshot snapshot;
  snapshot.set_version(version);
  for (int i = 0; i < zones; ++i) {
    v1::EdgeZone* zone = snapshot.add_zones();
    zone->set_id(i + 1);
    zone->set_hostname(absl::StrCat("z", i, ".example.test"));
    zone->set_origin("http://127.0.0.1:9000");
    zone->add_roots_der(std::string(300, static_cast<char>('a' + i % 26)));
  }
  return snapshot;
}

std::shared_ptr<const SerializedSnapshot> SerializeOf(const v1::Snapshot& snapshot) {
  auto serialized = SerializedSnapshot::Serialize(
      snapshot.version(), [&](const std::function<void(const v1::EdgeZone&)>& add) {
        for (const v1::EdgeZone& zone : snapshot.zones()) {
          add(zone);
        }
        return absl::OkStatus();
      });
  EXPECT_TRUE(serialized.ok()) << serialized.status();
  return serialized.ok() ? *serialized : nullptr;
}

// Zone by zone, the bytes are exactly the serialised Snapshot message.
TEST(SerializedSnapshotTest, BytesAreTheSnapshotMessageWithItsSha256) {
  v1::Snapshot snapshot = MakeSnapshot(42, 20);
  auto serialized = SerializeOf(snapshot);
  ASSERT_NE(serialized, nullptr);
  EXPECT_EQ(serialized->version(), 42u);
  EXPECT_EQ(serialized->bytes(), snapshot.SerializeAsString());
  uint8_t digest[SHA256_DIGEST_LENGTH];
  std::string bytes(serialized->bytes());
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  EXPECT_EQ(serialized->sha256(), std::string(reinterpret_cast<const char*>(digest), 32));
}

TEST(SerializedSnapshotTest, ChunksAreBoundedContiguousAndCarryTheWholeDescription) {
  v1::Snapshot snapshot = MakeSnapshot(7, 30);
  auto serialized = SerializeOf(snapshot);
  ASSERT_NE(serialized, nullptr);
  const size_t chunk_bytes = 1000;
  ASSERT_GT(serialized->bytes().size(), 5 * chunk_bytes);
  uint32_t count = serialized->ChunkCount(chunk_bytes);
  EXPECT_EQ(count, (serialized->bytes().size() + chunk_bytes - 1) / chunk_bytes);
  std::string joined;
  for (uint32_t i = 0; i < count; ++i) {
    v1::ControlMessage message = serialized->Chunk(i, chunk_bytes);
    ASSERT_TRUE(message.has_snapshot_chunk());
    const v1::SnapshotChunk& chunk = message.snapshot_chunk();
    EXPECT_EQ(chunk.version(), 7u);
    EXPECT_EQ(chunk.index(), i);
    EXPECT_EQ(chunk.count(), count);
    EXPECT_EQ(chunk.total_bytes(), serialized->bytes().size());
    EXPECT_EQ(chunk.sha256(), serialized->sha256());
    EXPECT_EQ(chunk.offset(), joined.size());
    EXPECT_LE(chunk.data().size(), chunk_bytes);
    EXPECT_FALSE(chunk.data().empty());
    joined += chunk.data();
  }
  EXPECT_EQ(joined, serialized->bytes());
}

TEST(SerializedSnapshotTest, AnEmptyConfigIsOneEmptyChunk) {
  auto serialized = SerializeOf(v1::Snapshot());
  ASSERT_NE(serialized, nullptr);
  EXPECT_EQ(serialized->ChunkCount(1000), 1u);
  v1::ControlMessage message = serialized->Chunk(0, 1000);
  EXPECT_EQ(message.snapshot_chunk().count(), 1u);
  EXPECT_EQ(message.snapshot_chunk().total_bytes(), 0u);
  EXPECT_TRUE(message.snapshot_chunk().data().empty());
  EXPECT_EQ(message.snapshot_chunk().sha256().size(), 32u);
}

TEST(SerializedSnapshotTest, AFailureListingZonesIsReturned) {
  auto serialized =
      SerializedSnapshot::Serialize(3, [](const std::function<void(const v1::EdgeZone&)>& add) {
        add(v1::EdgeZone());
        return absl::UnavailableError("database went away");
      });
  ASSERT_FALSE(serialized.ok());
  EXPECT_EQ(serialized.status().message(), "database went away");
}

}  // namespace
}  // namespace certgate::controlplane
