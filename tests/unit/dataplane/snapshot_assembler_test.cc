#include "dataplane/config/snapshot_assembler.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/snapshot_chunk_limits.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

v1::Snapshot MakeSnapshot(uint64_t version, int zones) {
  v1::Snapshot snapshot;
  snapshot.set_version(version);
  for (int i = 0; i < zones; ++i) {
    v1::EdgeZone* zone = snapshot.add_zones();
    zone->set_id(i + 1);
    zone->set_hostname(absl::StrCat("z", i, ".example.test"));
    zone->add_roots_der(std::string(200, static_cast<char>('a' + i % 26)));
  }
  return snapshot;
}

using testing::Sha256;

std::vector<v1::SnapshotChunk> Split(uint64_t version, const std::string& bytes,
                                     size_t chunk_bytes) {
  return testing::SplitSnapshot(version, bytes, chunk_bytes);
}

std::vector<v1::SnapshotChunk> Split(const v1::Snapshot& snapshot, size_t chunk_bytes) {
  return Split(snapshot.version(), snapshot.SerializeAsString(), chunk_bytes);
}

constexpr int64_t kLimit = int64_t{1} << 20;

TEST(SnapshotAssemblerTest, YieldsTheSnapshotOnlyAtTheLastChunk) {
  v1::Snapshot snapshot = MakeSnapshot(5, 40);
  std::vector<v1::SnapshotChunk> chunks = Split(snapshot, 1000);
  ASSERT_GT(chunks.size(), 5u);
  SnapshotAssembler assembler(kLimit);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    auto added = assembler.Add(chunks[i]);
    ASSERT_TRUE(added.ok()) << added.status();
    EXPECT_FALSE(added->has_value()) << "applied before the last chunk, at " << i;
    EXPECT_TRUE(assembler.InProgress());
    EXPECT_EQ(assembler.received_bytes(), (i + 1) * 1000);
  }
  auto last = assembler.Add(chunks.back());
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->SerializeAsString(), snapshot.SerializeAsString());
  EXPECT_FALSE(assembler.InProgress());
  EXPECT_EQ(assembler.received_bytes(), 0u);

  // The next snapshot starts afresh, as one chunk.
  v1::Snapshot next = MakeSnapshot(6, 1);
  auto whole = assembler.Add(Split(next, kMaxSnapshotChunkBytes)[0]);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(whole->has_value());
  EXPECT_EQ((*whole)->version(), 6u);
}

TEST(SnapshotAssemblerTest, AnEmptyConfigIsOneEmptyChunk) {
  SnapshotAssembler assembler(kLimit);
  v1::SnapshotChunk chunk;
  chunk.set_count(1);
  chunk.set_sha256(Sha256(""));
  auto added = assembler.Add(chunk);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(added->has_value());
  EXPECT_EQ((*added)->zones_size(), 0);
}

struct BadCase {
  std::string name;
  // Turns a good chunk sequence into a bad one.
  std::function<void(std::vector<v1::SnapshotChunk>&)> spoil;
  std::string error;  // part of the one-line error
};

// A hostile or buggy control plane: every broken sequence is refused with a
// line naming what was wrong, nothing is yielded, and the assembler holds
// nothing afterwards and takes a good sequence again.
TEST(SnapshotAssemblerTest, BrokenSequencesAreRefusedAndDiscarded) {
  const v1::Snapshot snapshot = MakeSnapshot(9, 40);
  const std::string bytes = snapshot.SerializeAsString();
  std::vector<BadCase> cases = {
      {"out of order", [](auto& c) { std::swap(c[1], c[2]); },
       "chunk 2 of version 9 arrived where chunk 1 was expected"},
      {"duplicated", [](auto& c) { c.insert(c.begin() + 1, c[0]); },
       "chunk 0 of version 9 arrived where chunk 1 was expected"},
      {"no first chunk", [](auto& c) { c.erase(c.begin()); },
       "chunk 1 of version 9 arrived before chunk 0"},
      {"version changes", [](auto& c) { c[3].set_version(10); }, "unlike chunk 0"},
      {"count changes", [](auto& c) { c[3].set_count(c[3].count() + 1); }, "unlike chunk 0"},
      {"size changes", [](auto& c) { c[3].set_total_bytes(c[3].total_bytes() + 1); },
       "unlike chunk 0"},
      {"digest changes", [](auto& c) { c[3].set_sha256(std::string(32, 'x')); }, "unlike chunk 0"},
      {"zero chunks", [](auto& c) { c[0].set_count(0); }, "announces 0 chunks"},
      {"index past count",
       [](auto& c) {
         for (auto& chunk : c) {
           chunk.set_count(2);
         }
       },
       "ended after 2000 of its"},
      {"bad digest length",
       [](auto& c) {
         for (auto& chunk : c) {
           chunk.set_sha256("short");
         }
       },
       "sha256 of 5 bytes"},
      {"offset gap", [](auto& c) { c[2].set_offset(c[2].offset() + 1); }, "starts at byte 2001"},
      {"empty chunk", [](auto& c) { c[2].clear_data(); }, "chunk 2 of version 9 is empty"},
      {"more bytes than announced", [](auto& c) { c.back().mutable_data()->append("extra"); },
       "carry more than the announced"},
      {"stops short", [](auto& c) { c.back().mutable_data()->pop_back(); }, "ended after"},
      {"corrupted byte", [](auto& c) { (*c[1].mutable_data())[7] ^= 1; },
       "does not match its sha256"},
      {"chunk above 4 MiB",
       [](auto& c) { c[1].set_data(std::string(kMaxSnapshotChunkBytes + 1, 'x')); },
       "above the 4194304 a chunk may hold"},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.name);
    std::vector<v1::SnapshotChunk> chunks = Split(snapshot, 1000);
    bad.spoil(chunks);
    SnapshotAssembler assembler(kLimit);
    absl::Status refused;
    for (const v1::SnapshotChunk& chunk : chunks) {
      auto added = assembler.Add(chunk);
      if (!added.ok()) {
        refused = added.status();
        break;
      }
      ASSERT_FALSE(added->has_value()) << "a broken sequence was yielded";
    }
    ASSERT_FALSE(refused.ok()) << "never refused";
    EXPECT_TRUE(absl::StrContains(refused.message(), bad.error)) << refused.message();
    EXPECT_EQ(refused.message().find('\n'), std::string::npos);
    EXPECT_FALSE(assembler.InProgress());
    EXPECT_EQ(assembler.received_bytes(), 0u);
    // A good sequence afterwards is taken.
    std::vector<v1::SnapshotChunk> good = Split(snapshot, 1000);
    absl::StatusOr<std::optional<v1::Snapshot>> added;
    for (const v1::SnapshotChunk& chunk : good) {
      added = assembler.Add(chunk);
      ASSERT_TRUE(added.ok()) << added.status();
    }
    ASSERT_TRUE(added->has_value());
    EXPECT_EQ((*added)->version(), 9u);
  }
}

TEST(SnapshotAssemblerTest, ASnapshotAboveTheLimitIsRefusedAtItsFirstChunk) {
  v1::Snapshot snapshot = MakeSnapshot(4, 40);
  std::vector<v1::SnapshotChunk> chunks = Split(snapshot, 1000);
  SnapshotAssembler assembler(static_cast<int64_t>(snapshot.ByteSizeLong()) - 1);
  auto added = assembler.Add(chunks[0]);
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(added.status()));
  EXPECT_TRUE(absl::StrContains(added.status().message(), "(--max-config-message-bytes)"))
      << added.status();
  EXPECT_FALSE(assembler.InProgress());
  // Exactly at the limit is fine.
  SnapshotAssembler exact(static_cast<int64_t>(snapshot.ByteSizeLong()));
  for (const v1::SnapshotChunk& chunk : chunks) {
    ASSERT_TRUE(exact.Add(chunk).ok());
  }
}

// Bytes that hash right but are no Snapshot, or a Snapshot of another
// version than the chunks said, are refused too.
TEST(SnapshotAssemblerTest, UnreadableOrMislabelledContentIsRefused) {
  SnapshotAssembler assembler(kLimit);
  auto garbage = assembler.Add(Split(3, std::string("\xff\xff\xff\xff", 4), 1000)[0]);
  ASSERT_FALSE(garbage.ok());
  EXPECT_TRUE(absl::StrContains(garbage.status().message(), "not a readable Snapshot"))
      << garbage.status();
  auto mislabelled = assembler.Add(Split(3, MakeSnapshot(4, 2).SerializeAsString(), 1000)[0]);
  ASSERT_FALSE(mislabelled.ok());
  EXPECT_TRUE(absl::StrContains(mislabelled.status().message(),
                                "chunks say version 3 but the snapshot is version 4"))
      << mislabelled.status();
}

TEST(SnapshotAssemblerTest, DiscardDropsAPartialSnapshot) {
  std::vector<v1::SnapshotChunk> chunks = Split(MakeSnapshot(8, 40), 1000);
  SnapshotAssembler assembler(kLimit);
  ASSERT_TRUE(assembler.Add(chunks[0]).ok());
  ASSERT_TRUE(assembler.Add(chunks[1]).ok());
  EXPECT_EQ(assembler.version(), 8u);
  assembler.Discard();
  EXPECT_FALSE(assembler.InProgress());
  // The rest of the old sequence no longer fits anywhere.
  EXPECT_FALSE(assembler.Add(chunks[2]).ok());
}

}  // namespace
}  // namespace certgate::edge
