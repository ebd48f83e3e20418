#include "dataplane/config/state_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/config/state_file.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

using certgate::testing::MakeTempDir;
using certgate::testing::ReadFile;
using certgate::testing::WriteFile;

int64_t FileSize(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? info.st_size : -1;
}

// The zones a config serves with the sources they serve, and its failures:
// what a restarted edge must get back.
std::string Served(const EdgeConfig& config) { return config.ToSnapshot().SerializeAsString(); }

class StateLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeCa("State Log Root");
    dir_ = MakeTempDir("edge-state-log");
    path_ = dir_ + "/config.pb";
    template_ = testing::MakeZone(1, "a.pizza", {root_.cert.get()});
  }

  // Zone: a copy of one built zone under another id and name (the server
  // certificate's name is not what makes it build).
  v1::EdgeZone Zone(uint64_t id, const std::string& hostname, v1::Mode mode = v1::MODE_ENFORCE) {
    v1::EdgeZone zone = template_;
    zone.set_id(id);
    zone.set_hostname(hostname);
    zone.set_mode(mode);
    return zone;
  }

  // Versions: a snapshot of 20 zones at version 1, then `deltas` deltas
  // that change, add, remove and rename zones, one config per version.
  std::vector<std::shared_ptr<const EdgeConfig>> Versions(int deltas) {
    std::vector<v1::EdgeZone> zones;
    for (uint64_t id = 1; id <= 20; ++id) {
      zones.push_back(Zone(id, absl::StrCat("z", id, ".pizza")));
    }
    std::vector<std::shared_ptr<const EdgeConfig>> versions;
    auto first = EdgeConfig::FromSnapshot(testing::MakeSnapshot(1, zones));
    EXPECT_TRUE(first.ok()) << first.status();
    versions.push_back(*first);
    for (int i = 0; i < deltas; ++i) {
      v1::Delta delta;
      delta.set_from_version(versions.back()->version());
      delta.set_version(versions.back()->version() + 1);
      uint64_t id = 1 + static_cast<uint64_t>(i) % 20;
      switch (i % 4) {
        case 0:
          *delta.add_upserted() = Zone(id, absl::StrCat("z", id, ".pizza"), v1::MODE_REPORT);
          break;
        case 1:
          *delta.add_upserted() = Zone(100 + i, absl::StrCat("new", i, ".pizza"));
          break;
        case 2:
          delta.add_removed_zone_ids(id);
          break;
        case 3:
          *delta.add_upserted() = Zone(id, absl::StrCat("renamed", i, ".pizza"));
          break;
      }
      auto next = versions.back()->ApplyDelta(delta);
      EXPECT_TRUE(next.ok()) << next.status();
      versions.push_back(*next);
    }
    return versions;
  }

  testing::KeyAndCert root_;
  std::string dir_;
  std::string path_;
  v1::EdgeZone template_;
};

TEST_F(StateLogTest, DeltasAreAppendedAndLoadGivesTheLatestVersion) {
  auto versions = Versions(12);
  StateLog log(path_);
  int64_t after_snapshot = 0;
  for (const auto& config : versions) {
    ASSERT_TRUE(log.Record(*config).ok());
    if (after_snapshot == 0) {
      after_snapshot = log.bytes_written();
    }
  }
  EXPECT_EQ(log.snapshots_written(), 1);
  // O(change): twelve one-zone records cost far less than one more snapshot.
  int64_t per_delta = (log.bytes_written() - after_snapshot) / 12;
  EXPECT_LT(per_delta, static_cast<int64_t>(template_.ByteSizeLong()) * 2);
  EXPECT_GT(per_delta, 0);
  EXPECT_EQ(StateFile::Read(path_)->version(), 1u) << "the snapshot is not rewritten";

  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->version(), versions.back()->version());
  EXPECT_EQ(Served(**loaded), Served(*versions.back()));
  struct stat info {};
  ASSERT_EQ(::stat(StateLog::LogPath(path_).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the log holds private keys";
}

TEST_F(StateLogTest, AStateFileOfZonesAsSentLoadsAndIsWrittenBackByteForByte) {
  // A state file as every version writes it: each zone as sent. Among them
  // zones whose PEM would not come back the same from DER (kept as text).
  std::vector<v1::EdgeZone> zones;
  for (uint64_t id = 1; id <= 6; ++id) {
    zones.push_back(Zone(id, absl::StrCat("z", id, ".pizza")));
  }
  zones[1].set_server_chain_pem("our chain\n" + zones[1].server_chain_pem());
  std::string crlf;
  for (char c : zones[2].server_key_pem()) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  zones[2].set_server_key_pem(crlf);
  zones[3].set_server_key_pem("not a key");  // fails at its first handshake only
  ASSERT_TRUE(StateFile::WriteStreamed(path_, 7, 0, [&](const StateFile::Sink& sink) {
                for (const v1::EdgeZone& zone : zones) {
                  sink.zone(zone);
                }
              }).ok());
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ((*loaded)->zone_count(), zones.size());
  for (const v1::EdgeZone& zone : zones) {
    const ZoneConfig* built = (*loaded)->FindById(zone.id());
    ASSERT_NE(built, nullptr) << zone.id();
    EXPECT_EQ(built->source.Zone().SerializeAsString(), zone.SerializeAsString()) << zone.id();
  }
  // Written back (a new log id), the zones are the same bytes.
  std::string again_path = dir_ + "/again.pb";
  StateLog again(again_path);
  ASSERT_TRUE(again.Record(**loaded).ok());
  auto reread = StateFile::Read(again_path);
  ASSERT_TRUE(reread.ok()) << reread.status();
  auto first = StateFile::Read(path_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(reread->zones_size(), first->zones_size());
  for (int i = 0; i < first->zones_size(); ++i) {
    EXPECT_EQ(reread->zones(i).SerializeAsString(), first->zones(i).SerializeAsString()) << i;
  }
}

TEST_F(StateLogTest, ADamagedStateFileIsDataLossNamingTheFile) {
  auto versions = Versions(0);
  {
    StateLog log(path_);
    ASSERT_TRUE(log.Record(*versions.back()).ok());
  }
  std::string whole = ReadFile(path_);
  std::string magic = "certgate-edge-state v1\n";
  ASSERT_EQ(whole.substr(0, magic.size()), magic);
  // The zones' bytes are parsed one at a time now: damage inside a zone, a
  // cut, or something else than a state file is still refused whole.
  std::string inside_a_zone = whole;
  size_t at = inside_a_zone.find("z7.pizza");
  ASSERT_NE(at, std::string::npos);
  inside_a_zone[at] = '\xff';  // not UTF-8 in a string field
  struct Case {
    const char* what;
    std::string bytes;
    const char* error;
  };
  const Case cases[] = {
      {"invalid zone", inside_a_zone, " is corrupt"},
      {"cut short", whole.substr(0, whole.size() - 100), " is corrupt"},
      {"not a state file", "hello", " is not a certgate edge state file"},
  };
  for (const Case& c : cases) {
    WriteFile(path_, c.bytes, 0600);
    auto loaded = StateLog::Load(path_);
    EXPECT_TRUE(absl::IsDataLoss(loaded.status())) << c.what << ": " << loaded.status();
    EXPECT_EQ(loaded.status().message(), path_ + c.error) << c.what;
  }
  ::unlink(path_.c_str());
  EXPECT_TRUE(absl::IsNotFound(StateLog::Load(path_).status()));
}

TEST_F(StateLogTest, ATornOrCorruptTailLoadsTheLastCompleteVersionAndIsCutOnReopen) {
  auto versions = Versions(6);
  {
    StateLog log(path_);
    for (const auto& config : versions) {
      ASSERT_TRUE(log.Record(*config).ok());
    }
  }
  std::string whole = ReadFile(StateLog::LogPath(path_));
  // Record boundaries: the length of the log after each version.
  std::vector<size_t> ends;
  {
    std::string probe_dir = MakeTempDir("edge-state-log-probe");
    StateLog probe(probe_dir + "/config.pb");
    for (const auto& config : versions) {
      ASSERT_TRUE(probe.Record(*config).ok());
      ends.push_back(static_cast<size_t>(FileSize(StateLog::LogPath(probe_dir + "/config.pb"))));
    }
  }
  ASSERT_EQ(ends.back(), whole.size());
  // Cut the log within the last two records, at every byte of their headers
  // and the payload's first bytes, then every 37th: the version is the one
  // whose record is whole.
  auto next_cut = [&](size_t cut) {
    for (size_t end : ends) {
      if (cut >= end && cut < end + 24) {
        return cut + 1;
      }
    }
    return cut + 37;
  };
  for (size_t cut = ends[ends.size() - 3]; cut < whole.size(); cut = next_cut(cut)) {
    WriteFile(StateLog::LogPath(path_), whole.substr(0, cut), 0600);
    size_t complete = 0;
    while (complete + 1 < ends.size() && ends[complete + 1] <= cut) {
      ++complete;
    }
    auto loaded = StateLog::Load(path_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_EQ((*loaded)->version(), versions[complete]->version()) << "cut at " << cut;
    ASSERT_EQ(Served(**loaded), Served(*versions[complete])) << "cut at " << cut;
  }
  // A flipped byte inside the fourth record ends the log before it.
  std::string corrupt = whole;
  corrupt[ends[3] - 5] ^= 0x40;
  WriteFile(StateLog::LogPath(path_), corrupt, 0600);
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->version(), versions[2]->version());

  // A writer reopening the torn log cuts the tail and continues after the
  // last complete version, without a new snapshot.
  WriteFile(StateLog::LogPath(path_), whole.substr(0, ends[4] + 3), 0600);
  StateLog reopened(path_);
  ASSERT_TRUE(reopened.Record(*versions[5]).ok());
  EXPECT_EQ(reopened.snapshots_written(), 0);
  loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->version(), versions[5]->version());
  EXPECT_EQ(Served(**loaded), Served(*versions[5]));
}

TEST_F(StateLogTest, TheLogIsCompactedIntoANewSnapshotWhenItGrows) {
  auto versions = Versions(8);
  StateLog log(path_, StateLog::Options{.min_compact_bytes = 1});
  for (const auto& config : versions) {
    ASSERT_TRUE(log.Record(*config).ok());
  }
  // min 1 byte, a quarter of a 20-zone snapshot: every few records.
  EXPECT_GT(log.snapshots_written(), 1);
  EXPECT_LT(log.snapshots_written(), 9);
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Served(**loaded), Served(*versions.back()));
}

TEST_F(StateLogTest, AStaleLogIsIgnoredAfterACrashBetweenSnapshotAndLogRename) {
  auto versions = Versions(4);
  StateLog log(path_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log.Record(*versions[i]).ok());
  }
  std::string old_log = ReadFile(StateLog::LogPath(path_));
  // A snapshot arrives from the control plane (versions[4] rebuilt whole).
  auto whole = EdgeConfig::FromSnapshot(versions[4]->ToSnapshot());
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(log.Record(**whole).ok());
  EXPECT_EQ(log.snapshots_written(), 2);
  // The crash left the old log under the log's name: its records (of the
  // old snapshot) must not be replayed onto the new one.
  WriteFile(StateLog::LogPath(path_), old_log, 0600);
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->version(), versions[4]->version());
  EXPECT_EQ(Served(**loaded), Served(*versions[4]));
  // The writer starts a new snapshot rather than append to a foreign log.
  StateLog reopened(path_);
  v1::Delta delta;
  delta.set_from_version(versions[4]->version());
  delta.set_version(versions[4]->version() + 1);
  delta.add_removed_zone_ids(20);
  auto next = (*loaded)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(reopened.Record(**next).ok());
  EXPECT_EQ(reopened.snapshots_written(), 1);
  EXPECT_EQ(Served(**StateLog::Load(path_)), Served(**next));
}

TEST_F(StateLogTest, AFailedZoneIsRestoredWithItsLastGoodBuildAndItsError) {
  auto first = EdgeConfig::FromSnapshot(testing::MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(first.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  v1::EdgeZone bad = Zone(1, "a.pizza", v1::MODE_REPORT);
  bad.set_server_key_pem("not a key");
  *delta.add_upserted() = bad;
  *delta.add_upserted() = Zone(2, "b.pizza");
  auto second = (*first)->ApplyDelta(delta);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ((*second)->failure_count(), 1u);
  // Version 3 touches zone 2 only: its record does not repeat zone 1's
  // failure, which still stands after it.
  v1::Delta third;
  third.set_from_version(2);
  third.set_version(3);
  *third.add_upserted() = Zone(2, "b.pizza", v1::MODE_REPORT);
  auto after = (*second)->ApplyDelta(third);
  ASSERT_TRUE(after.ok());
  StateLog log(path_);
  ASSERT_TRUE(log.Record(**first).ok());
  ASSERT_TRUE(log.Record(**second).ok());
  int64_t before_third = log.bytes_written();
  ASSERT_TRUE(log.Record(**after).ok());
  std::string log_text = ReadFile(StateLog::LogPath(path_));
  std::string error = (*second)->Failures()[0].error;
  size_t third_at = log_text.size() - static_cast<size_t>(log.bytes_written() - before_third);
  EXPECT_NE(log_text.find(error), std::string::npos) << "version 2's record has it";
  EXPECT_EQ(log_text.find(error, third_at), std::string::npos) << "version 3's does not";
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->version(), 3u);
  ASSERT_EQ((*loaded)->failure_count(), 1u);
  EXPECT_EQ((*loaded)->Failures()[0].zone_id, 1u);
  const ZoneConfig* served = (*loaded)->FindBySni("a.pizza");
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->mode, v1::MODE_ENFORCE) << "the last good build serves";
  EXPECT_NE((*loaded)->FindBySni("b.pizza"), nullptr);
}

TEST_F(StateLogTest, AnOldWholeStateFileStillLoadsAndIsReplacedOnTheFirstWrite) {
  auto versions = Versions(1);
  ASSERT_TRUE(StateFile::Write(path_, versions[0]->ToSnapshot()).ok());
  auto loaded = StateLog::Load(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Served(**loaded), Served(*versions[0]));
  StateLog log(path_);
  ASSERT_TRUE(log.Record(*versions[1]).ok());
  EXPECT_EQ(log.snapshots_written(), 1);
  EXPECT_EQ(Served(**StateLog::Load(path_)), Served(*versions[1]));
}

}  // namespace
}  // namespace certgate::edge
