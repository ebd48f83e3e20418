#include "dataplane/config/config_subscription.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/config/state_file.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/dataplane/edge_test_util.h"
#include "tests/unit/dataplane/fake_control_plane.h"

namespace certgate::edge {
namespace {

using testing::FakeControlPlane;
using Received = FakeControlPlane::Received;

struct Event {
  uint64_t version;
  bool applied;
  bool state_write_ok;
  std::string error;
};

v1::ControlMessage SnapshotMessage(const v1::Snapshot& snapshot) {
  v1::ControlMessage message;
  *message.mutable_snapshot() = snapshot;
  return message;
}

v1::ControlMessage DeltaMessage(const v1::Delta& delta) {
  v1::ControlMessage message;
  *message.mutable_delta() = delta;
  return message;
}

bool HasAck(const std::vector<Received>& received, uint64_t version) {
  for (const auto& r : received) {
    if (r.message.has_ack() && r.message.ack().version() == version) {
      return true;
    }
  }
  return false;
}

const v1::Nack* FindNack(const std::vector<Received>& received, uint64_t version) {
  for (const auto& r : received) {
    if (r.message.has_nack() && r.message.nack().version() == version) {
      return &r.message.nack();
    }
  }
  return nullptr;
}

class ConfigSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeCa("Subscription Root");
    dir_ = certgate::testing::MakeTempDir("edge-subscription");
  }
  void TearDown() override {
    if (subscription_) {
      subscription_->Stop();
    }
  }

  void StartSubscription(const std::string& state_file,
                         std::function<void(ConfigSubscriptionOptions&)> more = nullptr) {
    ConfigSubscriptionOptions options;
    options.control_address = absl::StrCat("127.0.0.1:", control_.port());
    options.token = "edge-secret";
    options.node_id = "edge-7";
    options.insecure = true;
    options.state_file = state_file;
    options.software_version = "test-1";
    options.on_zone_failures = on_zone_failures_;
    options.on_config_event = [this](uint64_t version, bool applied, bool state_ok,
                                     const std::string& error) {
      std::lock_guard<std::mutex> lock(events_mu_);
      events_.push_back(Event{version, applied, state_ok, error});
    };
    if (more) {
      more(options);
    }
    auto subscription = ConfigSubscription::Create(std::move(options), &slot_);
    ASSERT_TRUE(subscription.ok()) << subscription.status();
    subscription_ = std::move(subscription).value();
    subscription_->Start();
  }

  v1::EdgeZone Zone(uint64_t id, const std::string& hostname) {
    return testing::MakeZone(id, hostname, {root_.cert.get()});
  }

  std::vector<Event> events() {
    std::lock_guard<std::mutex> lock(events_mu_);
    return events_;
  }

  uint64_t SlotVersion() {
    auto config = slot_.Get();
    return config ? config->version() : 0;
  }

  testing::KeyAndCert root_;
  std::string dir_;
  std::function<void(uint64_t, const std::vector<ZoneFailure>&)> on_zone_failures_;
  FakeControlPlane control_;
  ConfigSlot slot_;
  std::unique_ptr<ConfigSubscription> subscription_;
  std::mutex events_mu_;
  std::vector<Event> events_;
};

TEST_F(ConfigSubscriptionTest, CreateRefusesMissingOptions) {
  ConfigSubscriptionOptions options;
  options.node_id = "edge-1";
  auto no_address = ConfigSubscription::Create(options, &slot_);
  EXPECT_EQ(no_address.status().message(), "control plane address is empty");
  options.control_address = "127.0.0.1:1";
  options.control_ca_file = dir_ + "/absent.pem";
  auto no_ca = ConfigSubscription::Create(options, &slot_);
  EXPECT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.status().message().find("absent.pem"), std::string::npos);
  options.control_ca_file.clear();
  options.insecure = true;
  options.max_message_bytes = 0;
  auto no_bound = ConfigSubscription::Create(options, &slot_);
  EXPECT_EQ(no_bound.status().message(), "max config message bytes must be 1 to 2147483647");
}

TEST_F(ConfigSubscriptionTest, AppliesSnapshotThenDeltasAcksAndWritesState) {
  std::string state = dir_ + "/state";
  StartSubscription(state);
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return !r.empty(); }));
  v1::EdgeMessage hello = control_.received()[0].message;
  ASSERT_TRUE(hello.has_hello());
  EXPECT_EQ(hello.hello().node_id(), "edge-7");
  EXPECT_EQ(hello.hello().version(), 0u);
  EXPECT_EQ(hello.hello().software_version(), "test-1");
  EXPECT_EQ(control_.authorization(), "Bearer edge-secret");
  EXPECT_TRUE(
      certgate::testing::WaitFor([&] { return subscription_->Connected(); }, absl::Seconds(5)));

  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  EXPECT_EQ(SlotVersion(), 1u);
  EXPECT_EQ(StateFile::Read(state)->version(), 1u);

  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(2, "b.pizza");
  control_.Push(DeltaMessage(delta));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 2); }));
  EXPECT_EQ(SlotVersion(), 2u);
  EXPECT_NE(slot_.Get()->FindBySni("b.pizza"), nullptr);
  auto from_disk = LoadStateFile(state);
  ASSERT_TRUE(from_disk.ok());
  EXPECT_EQ((*from_disk)->version(), 2u);
  EXPECT_EQ((*from_disk)->zone_count(), 2u);
  std::vector<Event> seen = events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].applied);
  EXPECT_TRUE(seen[1].state_write_ok);
}

const v1::Ack* FindAck(const std::vector<Received>& received, uint64_t version) {
  for (const auto& r : received) {
    if (r.message.has_ack() && r.message.ack().version() == version) {
      return &r.message.ack();
    }
  }
  return nullptr;
}

TEST_F(ConfigSubscriptionTest, ABadZoneIsAckedAsAFailureAndEveryOtherZoneApplies) {
  std::string state = dir_ + "/state";
  std::vector<ZoneFailure> reported;
  std::mutex reported_mu;
  on_zone_failures_ = [&](uint64_t version, const std::vector<ZoneFailure>& failures) {
    std::lock_guard<std::mutex> lock(reported_mu);
    EXPECT_EQ(version, 2u);
    reported.insert(reported.end(), failures.begin(), failures.end());
  };
  StartSubscription(state);
  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  ASSERT_EQ(FindAck(control_.received(), 1)->failures_size(), 0);

  v1::EdgeZone bad = Zone(2, "bad.pizza");
  bad.set_server_key_pem("not a key");
  control_.Push(
      SnapshotMessage(testing::MakeSnapshot(2, {Zone(1, "a.pizza"), bad, Zone(3, "c.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 2); }));
  std::vector<Received> received = control_.received();
  EXPECT_EQ(FindNack(received, 2), nullptr);
  const v1::Ack* ack = FindAck(received, 2);
  ASSERT_EQ(ack->failures_size(), 1);
  EXPECT_EQ(ack->failures(0).zone_id(), 2u);
  EXPECT_NE(ack->failures(0).error().find("server key"), std::string::npos)
      << ack->failures(0).error();
  EXPECT_EQ(SlotVersion(), 2u);
  EXPECT_NE(slot_.Get()->FindBySni("c.pizza"), nullptr);
  EXPECT_EQ(slot_.Get()->FindBySni("bad.pizza"), nullptr);
  {
    std::lock_guard<std::mutex> lock(reported_mu);
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_EQ(reported[0].hostname, "bad.pizza");
  }
  std::vector<Event> seen = events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].applied);

  // The state file holds the failure: a restarted edge says it in its Hello.
  auto from_disk = LoadStateFile(state);
  ASSERT_TRUE(from_disk.ok()) << from_disk.status();
  EXPECT_EQ((*from_disk)->version(), 2u);
  ASSERT_EQ((*from_disk)->Failures().size(), 1u);
  subscription_->Stop();
  subscription_.reset();
  ConfigSlot restarted;
  restarted.Publish(*from_disk);
  ConfigSubscriptionOptions options;
  options.control_address = absl::StrCat("127.0.0.1:", control_.port());
  options.node_id = "edge-7";
  options.insecure = true;
  auto again = ConfigSubscription::Create(std::move(options), &restarted);
  ASSERT_TRUE(again.ok());
  (*again)->Start();
  ASSERT_TRUE(control_.WaitFor(
      [](const auto& r) { return r.back().stream == 2 && r.back().message.has_hello(); }));
  v1::Hello hello = control_.received().back().message.hello();
  (*again)->Stop();
  EXPECT_EQ(hello.version(), 2u);
  ASSERT_EQ(hello.failures_size(), 1);
  EXPECT_EQ(hello.failures(0).zone_id(), 2u);
  EXPECT_EQ(hello.failures(0).error(), ack->failures(0).error());
}

TEST_F(ConfigSubscriptionTest, ASnapshotThatListsAZoneTwiceIsNackedAndTheOldConfigStays) {
  std::string state = dir_ + "/state";
  StartSubscription(state);
  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  auto before = slot_.Get();

  control_.Push(
      SnapshotMessage(testing::MakeSnapshot(2, {Zone(1, "a.pizza"), Zone(1, "b.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return FindNack(r, 2) != nullptr; }));
  std::vector<Received> received = control_.received();
  const v1::Nack* nack = FindNack(received, 2);
  ASSERT_NE(nack, nullptr);
  EXPECT_EQ(nack->error(), "snapshot lists zone id 1 twice");
  EXPECT_EQ(slot_.Get(), before);
  EXPECT_EQ(StateFile::Read(state)->version(), 1u);
  std::vector<Event> seen = events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[1].applied);
  EXPECT_EQ(seen[1].version, 2u);
  EXPECT_EQ(seen[1].error, nack->error());
}

TEST_F(ConfigSubscriptionTest, DeltaOutOfStepIsNackedAndTheEdgeSaysHelloAgain) {
  StartSubscription(dir_ + "/state");
  control_.Push(SnapshotMessage(testing::MakeSnapshot(5, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 5); }));
  v1::Delta delta;
  delta.set_from_version(3);
  delta.set_version(4);
  delta.add_removed_zone_ids(1);
  control_.Push(DeltaMessage(delta));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) {
    for (const auto& m : r) {
      if (m.stream == 2 && m.message.has_hello()) {
        return true;
      }
    }
    return false;
  }));
  std::vector<Received> received = control_.received();
  const v1::Nack* nack = FindNack(received, 4);
  ASSERT_NE(nack, nullptr);
  EXPECT_EQ(nack->error(), "delta from version 3 does not apply to version 5");
  EXPECT_EQ(received.back().message.hello().version(), 5u);
  EXPECT_EQ(SlotVersion(), 5u);
  EXPECT_NE(slot_.Get()->FindBySni("a.pizza"), nullptr);
}

TEST_F(ConfigSubscriptionTest, StateWriteFailureIsReportedButTheConfigIsAppliedAndAcked) {
  StartSubscription(dir_ + "/missing-dir/state");
  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  EXPECT_EQ(SlotVersion(), 1u);
  std::vector<Event> seen = events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].applied);
  EXPECT_FALSE(seen[0].state_write_ok);
  EXPECT_NE(seen[0].error.find("missing-dir"), std::string::npos) << seen[0].error;
}

TEST_F(ConfigSubscriptionTest, ReconnectsAfterTheStreamBreaksWithTheVersionHeld) {
  StartSubscription(dir_ + "/state");
  control_.Push(SnapshotMessage(testing::MakeSnapshot(9, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 9); }));
  control_.CloseStream();
  ASSERT_TRUE(control_.WaitFor(
      [](const auto& r) { return r.back().stream == 2 && r.back().message.has_hello(); }));
  EXPECT_EQ(control_.received().back().message.hello().version(), 9u);
  EXPECT_EQ(SlotVersion(), 9u);
}

// ChunkMessages: `snapshot` as a control plane sends it, chunked.
std::vector<v1::ControlMessage> ChunkMessages(const v1::Snapshot& snapshot, size_t chunk_bytes) {
  std::vector<v1::ControlMessage> messages;
  for (v1::SnapshotChunk& chunk :
       testing::SplitSnapshot(snapshot.version(), snapshot.SerializeAsString(), chunk_bytes)) {
    v1::ControlMessage message;
    *message.mutable_snapshot_chunk() = std::move(chunk);
    messages.push_back(std::move(message));
  }
  return messages;
}

bool HelloOnStream(const std::vector<Received>& received, int stream) {
  for (const auto& r : received) {
    if (r.stream == stream && r.message.has_hello()) {
      return true;
    }
  }
  return false;
}

TEST_F(ConfigSubscriptionTest, AChunkedSnapshotIsAppliedOnlyAfterItsLastChunk) {
  std::string state = dir_ + "/state";
  StartSubscription(state);
  v1::Snapshot snapshot =
      testing::MakeSnapshot(3, {Zone(1, "a.pizza"), Zone(2, "b.pizza"), Zone(3, "c.pizza")});
  std::vector<v1::ControlMessage> chunks = ChunkMessages(snapshot, 512);
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    control_.Push(chunks[i]);
  }
  // Every chunk but the last is in: nothing is applied or answered. The
  // edge answers in order, so a traffic-free stream shows no ACK yet.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(SlotVersion(), 0u);
  EXPECT_FALSE(HasAck(control_.received(), 3));
  EXPECT_TRUE(events().empty());
  control_.Push(chunks.back());
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 3); }));
  EXPECT_EQ(SlotVersion(), 3u);
  EXPECT_NE(slot_.Get()->FindBySni("c.pizza"), nullptr);
  EXPECT_EQ(StateFile::Read(state)->version(), 3u);
  EXPECT_EQ(control_.streams(), 1);
}

// A hostile or buggy control plane: a chunk out of order, a corrupted one, a
// delta between chunks. Each is NACKed with one line naming what was wrong,
// nothing of it is applied, and the edge reconnects for a fresh start. Each
// sequence ends where it is refused, so nothing is left over for the next
// stream.
TEST_F(ConfigSubscriptionTest, ABrokenChunkSequenceIsNackedAndTheHeldConfigStays) {
  std::string state = dir_ + "/state";
  StartSubscription(state);
  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  auto before = slot_.Get();
  v1::Snapshot next = testing::MakeSnapshot(2, {Zone(1, "a.pizza"), Zone(2, "b.pizza")});
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);

  struct Case {
    std::string name;
    std::function<std::vector<v1::ControlMessage>(std::vector<v1::ControlMessage>)> spoil;
    std::string error;
  };
  std::vector<Case> cases = {
      {"out of order",
       [](auto c) {
         return std::vector<v1::ControlMessage>{c[0], c[2]};
       },
       "snapshot chunk 2 of version 2 arrived where chunk 1 was expected"},
      {"corrupted",
       [](auto c) {
         (*c[1].mutable_snapshot_chunk()->mutable_data())[3] ^= 1;
         return c;
       },
       "snapshot of version 2 does not match its sha256"},
      {"delta between chunks",
       [&](auto c) {
         return std::vector<v1::ControlMessage>{c[0], DeltaMessage(delta)};
       },
       "a delta arrived before the last chunk of snapshot version 2"},
      // Whole and matching their sha256, but not a Snapshot, or another
      // version than the chunks say: found while the zones are built from the
      // bytes, refused the same way.
      {"not a snapshot",
       [](auto) {
         std::vector<v1::ControlMessage> messages;
         for (v1::SnapshotChunk& chunk :
              testing::SplitSnapshot(2, std::string(2000, '\xff'), 512)) {
           messages.emplace_back();
           *messages.back().mutable_snapshot_chunk() = std::move(chunk);
         }
         return messages;
       },
       "snapshot of version 2 is not a readable Snapshot message"},
      {"another version inside",
       [&](auto) {
         v1::Snapshot other = next;
         other.set_version(4);
         std::vector<v1::ControlMessage> messages;
         for (v1::SnapshotChunk& chunk :
              testing::SplitSnapshot(2, other.SerializeAsString(), 512)) {
           messages.emplace_back();
           *messages.back().mutable_snapshot_chunk() = std::move(chunk);
         }
         return messages;
       },
       "snapshot chunks say version 2 but the snapshot is version 4"},
  };
  int stream = 1;
  for (const Case& bad : cases) {
    SCOPED_TRACE(bad.name);
    size_t events_before = events().size();
    for (const v1::ControlMessage& message : bad.spoil(ChunkMessages(next, 512))) {
      control_.Push(message);
    }
    ASSERT_TRUE(control_.WaitFor([&](const auto& r) { return HelloOnStream(r, stream + 1); }));
    ++stream;
    std::vector<Received> received = control_.received();
    const v1::Nack* nack = FindNack(received, 2);
    ASSERT_NE(nack, nullptr);
    EXPECT_EQ(nack->error(), absl::StrCat(bad.error,
                                          "; discarded the partial snapshot, keeping config "
                                          "version 1"));
    EXPECT_EQ(received.back().message.hello().version(), 1u);
    EXPECT_FALSE(HasAck(received, 2));
    EXPECT_EQ(slot_.Get(), before);
    EXPECT_EQ(StateFile::Read(state)->version(), 1u);
    std::vector<Event> seen = events();
    ASSERT_EQ(seen.size(), events_before + 1);
    EXPECT_FALSE(seen.back().applied);
    EXPECT_EQ(seen.back().error, nack->error());
    control_.ClearReceived();
  }
  // A good sequence on the next stream is taken.
  for (const v1::ControlMessage& message : ChunkMessages(next, 512)) {
    control_.Push(message);
  }
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 2); }));
  EXPECT_EQ(SlotVersion(), 2u);
}

TEST_F(ConfigSubscriptionTest, AStreamCutMidSnapshotKeepsTheHeldConfigAndStartsOver) {
  std::string state = dir_ + "/state";
  StartSubscription(state);
  control_.Push(SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  auto before = slot_.Get();
  v1::Snapshot next = testing::MakeSnapshot(2, {Zone(2, "b.pizza")});
  std::vector<v1::ControlMessage> chunks = ChunkMessages(next, 512);
  ASSERT_GT(chunks.size(), 2u);
  control_.Push(chunks[0]);
  control_.Push(chunks[1]);
  ASSERT_TRUE(control_.WaitUntilSent());
  absl::SleepFor(absl::Milliseconds(100));
  control_.CloseStream();
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HelloOnStream(r, 2); }));
  std::vector<Received> received = control_.received();
  EXPECT_EQ(received.back().message.hello().version(), 1u);
  EXPECT_EQ(FindNack(received, 2), nullptr);
  EXPECT_EQ(slot_.Get(), before);
  EXPECT_TRUE(events().size() == 1 && events()[0].applied);
  // The rest of the cut sequence is not taken as a continuation.
  control_.Push(chunks[2]);
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return FindNack(r, 2) != nullptr; }));
  EXPECT_EQ(slot_.Get(), before);
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HelloOnStream(r, 3); }));
  for (const v1::ControlMessage& message : chunks) {
    control_.Push(message);
  }
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 2); }));
  EXPECT_EQ(SlotVersion(), 2u);
  EXPECT_NE(slot_.Get()->FindBySni("b.pizza"), nullptr);
  EXPECT_EQ(slot_.Get()->FindBySni("a.pizza"), nullptr);
}

TEST_F(ConfigSubscriptionTest, TrafficReportsInterleaveWithAcks) {
  ConfigSubscriptionOptions options;
  options.control_address = absl::StrCat("127.0.0.1:", control_.port());
  options.node_id = "edge-traffic";
  options.insecure = true;
  options.traffic_interval_ms = 10;
  std::atomic<uint64_t> calls{0};
  options.traffic_source = [&calls] {
    v1::TrafficReport report;
    v1::ZoneCounts* counts = report.add_zones();
    counts->set_zone_id(1);
    counts->set_valid(++calls);
    return report;
  };
  auto subscription = ConfigSubscription::Create(std::move(options), &slot_);
  ASSERT_TRUE(subscription.ok());
  (*subscription)->Start();
  for (uint64_t version = 1; version <= 5; ++version) {
    control_.Push(SnapshotMessage(testing::MakeSnapshot(version, {Zone(1, "a.pizza")})));
  }
  ASSERT_TRUE(control_.WaitFor([](const auto& r) {
    int traffic = 0;
    for (const auto& m : r) {
      traffic += m.message.has_traffic() ? 1 : 0;
    }
    return HasAck(r, 5) && traffic >= 3;
  }));
  (*subscription)->Stop();
  std::vector<Received> received = control_.received();
  EXPECT_TRUE(received[0].message.has_hello()) << "Hello is always first";
  uint64_t last = 0;
  for (const auto& m : received) {
    if (m.message.has_traffic()) {
      ASSERT_EQ(m.message.traffic().zones_size(), 1);
      EXPECT_GT(m.message.traffic().zones(0).valid(), last);
      last = m.message.traffic().zones(0).valid();
    }
  }
}

TEST_F(ConfigSubscriptionTest, StopEndsTheThreadPromptly) {
  StartSubscription("");
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return !r.empty(); }));
  subscription_->Stop();
  EXPECT_FALSE(subscription_->Connected());
  subscription_.reset();
}

TEST(ConfigSubscriptionUnreachableTest, KeepsServingWhileTheControlPlaneIsDown) {
  ConfigSlot slot;
  testing::KeyAndCert root = testing::MakeCa("Offline Root");
  auto config = EdgeConfig::FromSnapshot(
      testing::MakeSnapshot(4, {testing::MakeZone(1, "a.pizza", {root.cert.get()})}));
  ASSERT_TRUE(config.ok());
  slot.Publish(*config);
  ConfigSubscriptionOptions options;
  options.control_address = absl::StrCat("127.0.0.1:", certgate::testing::FreePort());
  options.node_id = "edge-1";
  options.insecure = true;
  auto subscription = ConfigSubscription::Create(std::move(options), &slot);
  ASSERT_TRUE(subscription.ok());
  (*subscription)->Start();
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE((*subscription)->Connected());
  EXPECT_EQ(slot.Get(), *config);
  (*subscription)->Stop();
}

// A zone whose TLS context fails when first used, after its version was
// applied and acknowledged, is reported like an apply-time failure: the
// version is acknowledged again with it.
TEST_F(ConfigSubscriptionTest, AFailureFoundAfterTheAckIsReportedInAnotherAck) {
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> failing{false};
  StartSubscription("", [&](ConfigSubscriptionOptions& options) {
    options.traffic_interval_ms = 20;
    options.late_failure_generation = [&] { return generation.load(); };
    options.late_failures = [&](const EdgeConfig& config) {
      std::vector<ZoneFailure> failures;
      if (failing.load() && config.FindById(2) != nullptr) {
        failures.push_back(ZoneFailure{2, "b.pizza", "server certificate and key cannot be used"});
      }
      return failures;
    };
  });
  control_.Push(
      SnapshotMessage(testing::MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza")})));
  ASSERT_TRUE(control_.WaitFor([](const auto& r) { return HasAck(r, 1); }));
  failing.store(true);
  generation.store(1);
  ASSERT_TRUE(control_.WaitFor([](const auto& received) {
    for (const auto& r : received) {
      if (r.message.has_ack() && r.message.ack().version() == 1 &&
          r.message.ack().failures_size() == 1 && r.message.ack().failures(0).zone_id() == 2) {
        return true;
      }
    }
    return false;
  })) << "no second Ack with the failure";
}

}  // namespace
}  // namespace certgate::edge
