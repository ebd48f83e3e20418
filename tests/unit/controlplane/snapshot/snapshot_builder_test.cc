#include "controlplane/snapshot/snapshot_builder.h"

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/store/store_engine.h"

namespace certgate::controlplane {
namespace {

// On both engines.
class SnapshotBuilderTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SqliteStoreOptions options;
    options.path = FreshStoreTarget(GetParam());
    options.delta_history = 5;
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    ASSERT_TRUE(store_
                    ->Mutate("admin", "CreateTenant",
                             [](StoreTransaction& txn) {
                               return txn.InsertTenant(TenantRow{"t1", "one", 1});
                             })
                    .ok());
    builder_ = std::make_unique<SnapshotBuilder>(store_.get());
  }

  int64_t AddZone(const std::string& hostname, ZoneState state = ZoneState::kActive) {
    int64_t id = 0;
    EXPECT_TRUE(store_
                    ->Mutate("t", "CreateZone",
                             [&](StoreTransaction& txn) -> absl::Status {
                               ZoneRow row;
                               row.tenant_id = "t1";
                               row.hostname = hostname;
                               row.zone.set_hostname(hostname);
                               row.zone.set_mode(certgate::v1::MODE_REPORT);
                               row.zone.add_roots()->set_der("root-der");
                               auto* revoked = row.zone.add_revocations();
                               revoked->set_serial_hex("ab");
                               row.zone.mutable_status_header_names()->set_status("X-S");
                               row.server_key_pem = "KEY";
                               row.state = state;
                               ASSIGN_OR_RETURN(id, txn.InsertZone(row));
                               return absl::OkStatus();
                             })
                    .ok());
    return id;
  }

  void DeleteZone(int64_t id) {
    ASSERT_TRUE(
        store_->Mutate("t", "DeleteZone", [&](StoreTransaction& txn) { return txn.DeleteZone(id); })
            .ok());
  }

  // SnapshotOf: what an edge reads from the chunks of `update`.
  static certgate::v1::Snapshot SnapshotOf(const absl::StatusOr<EdgeUpdate>& update) {
    certgate::v1::Snapshot snapshot;
    EXPECT_TRUE(update.ok());
    if (!update.ok() || update->snapshot == nullptr) {
      ADD_FAILURE() << "no snapshot";
      return snapshot;
    }
    EXPECT_TRUE(snapshot.ParseFromString(std::string(update->snapshot->bytes())));
    EXPECT_EQ(snapshot.version(), update->snapshot->version());
    return snapshot;
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SnapshotBuilder> builder_;
};

TEST_P(SnapshotBuilderTest, SnapshotHoldsEveryZoneWithEverythingAnEdgeNeeds) {
  AddZone("a.example.test");
  AddZone("b.example.test");
  auto message = builder_->Build(0);
  ASSERT_TRUE(message.ok());
  ASSERT_NE(message->snapshot, nullptr);
  EXPECT_EQ(message->delta, nullptr);
  certgate::v1::Snapshot snapshot = SnapshotOf(message);
  EXPECT_EQ(snapshot.version(), 3u);
  ASSERT_EQ(snapshot.zones_size(), 2);
  const certgate::v1::EdgeZone& zone = snapshot.zones(0);
  EXPECT_EQ(zone.hostname(), "a.example.test");
  EXPECT_EQ(zone.mode(), certgate::v1::MODE_REPORT);
  EXPECT_EQ(zone.roots_der(0), "root-der");
  EXPECT_EQ(zone.revoked(0).serial_hex(), "ab");
  EXPECT_EQ(zone.status_header_names().status(), "X-S");
  EXPECT_EQ(zone.server_key_pem(), "KEY");
  EXPECT_EQ(zone.tenant_id(), "t1");
  EXPECT_EQ(snapshot.zones(1).hostname(), "b.example.test");
}

// Many edges asking at once for the same version share one serialisation;
// a new version replaces it, and the old one lives only while a stream
// still sends it.
TEST_P(SnapshotBuilderTest, EdgesAtOneVersionShareOneSerialisedSnapshot) {
  AddZone("a.example.test");
  std::vector<std::shared_ptr<const SerializedSnapshot>> got(16);
  std::vector<std::thread> edges;
  for (size_t i = 0; i < got.size(); ++i) {
    edges.emplace_back([&, i] {
      absl::StatusOr<EdgeUpdate> update = builder_->Build(0);
      if (update.ok()) {
        got[i] = update->snapshot;
      }
    });
  }
  for (std::thread& edge : edges) {
    edge.join();
  }
  ASSERT_NE(got[0], nullptr);
  for (const auto& snapshot : got) {
    EXPECT_EQ(snapshot.get(), got[0].get());
  }
  // An edge too far behind is sent the same bytes as a new one.
  EXPECT_EQ(builder_->Build(99)->snapshot.get(), got[0].get());

  std::weak_ptr<const SerializedSnapshot> old = got[0];
  std::shared_ptr<const SerializedSnapshot> still_sending = got[0];
  got.clear();
  AddZone("b.example.test");
  auto next = builder_->Build(0);
  ASSERT_TRUE(next.ok());
  ASSERT_NE(next->snapshot, nullptr);
  EXPECT_NE(next->snapshot.get(), still_sending.get());
  EXPECT_GT(next->snapshot->version(), still_sending->version());
  EXPECT_EQ(SnapshotOf(next).zones_size(), 2);
  // The stream sending the old version keeps it whole until it is done.
  EXPECT_FALSE(old.expired());
  EXPECT_EQ(SnapshotOf(EdgeUpdate{nullptr, still_sending}).zones_size(), 1);
  still_sending.reset();
  EXPECT_TRUE(old.expired());
}

TEST_P(SnapshotBuilderTest, DeltaHoldsOnlyChangedAndRemovedZones) {
  int64_t a = AddZone("a.example.test");  // v2
  int64_t b = AddZone("b.example.test");  // v3
  int64_t c = AddZone("c.example.test");  // v4
  DeleteZone(b);                          // v5
  auto message = builder_->Build(3);
  ASSERT_TRUE(message.ok());
  ASSERT_NE(message->delta, nullptr);
  EXPECT_EQ(message->snapshot, nullptr);
  const certgate::v1::Delta& delta = message->delta->delta();
  EXPECT_EQ(delta.from_version(), 3u);
  EXPECT_EQ(delta.version(), 5u);
  ASSERT_EQ(delta.upserted_size(), 1);
  EXPECT_EQ(delta.upserted(0).id(), static_cast<uint64_t>(c));
  ASSERT_EQ(delta.removed_zone_ids_size(), 1);
  EXPECT_EQ(delta.removed_zone_ids(0), static_cast<uint64_t>(b));
  (void)a;

  // An edge already at the current version gets nothing.
  auto nothing = builder_->Build(5);
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->delta, nullptr);
  EXPECT_EQ(nothing->snapshot, nullptr);
  // Ahead of the store: a snapshot replaces whatever it holds.
  auto ahead = builder_->Build(99);
  ASSERT_TRUE(ahead.ok());
  EXPECT_NE(ahead->snapshot, nullptr);
}

TEST_P(SnapshotBuilderTest, TooFarBehindGetsASnapshot) {
  for (int i = 0; i < 8; ++i) {
    AddZone("z" + std::to_string(i) + ".example.test");  // v2..v9; history 5 keeps > 4
  }
  auto old = builder_->Build(2);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(SnapshotOf(old).zones_size(), 8);
  auto recent = builder_->Build(7);
  ASSERT_TRUE(recent.ok());
  ASSERT_NE(recent->delta, nullptr);
  EXPECT_EQ(recent->delta->delta().upserted_size(), 2);
}

TEST_P(SnapshotBuilderTest, PendingZonesNeverReachAnEdgeUntilActive) {
  int64_t served = AddZone("a.example.test");
  int64_t pending = AddZone("b.example.test", ZoneState::kPending);
  auto snapshot = builder_->Build(0);
  ASSERT_EQ(SnapshotOf(snapshot).zones_size(), 1);
  EXPECT_EQ(SnapshotOf(snapshot).zones(0).id(), static_cast<uint64_t>(served));
  uint64_t version = snapshot->snapshot->version();

  // A change to the pending zone sends nothing of it either.
  ASSERT_TRUE(store_
                  ->Mutate("t", "SetMode",
                           [&](StoreTransaction& txn) -> absl::Status {
                             ASSIGN_OR_RETURN(std::optional<ZoneRow> row,
                                              txn.FindZoneById(pending));
                             row->zone.set_mode(certgate::v1::MODE_ENFORCE);
                             return txn.UpdateZone(*row);
                           })
                  .ok());
  auto delta = builder_->Build(version);
  ASSERT_TRUE(delta.ok());
  ASSERT_NE(delta->delta, nullptr);
  EXPECT_EQ(delta->delta->delta().upserted_size(), 0);
  version = delta->delta->delta().version();

  // Activation is what sends it.
  ASSERT_TRUE(store_
                  ->Mutate("t", "ActivateZone",
                           [&](StoreTransaction& txn) -> absl::Status {
                             ASSIGN_OR_RETURN(std::optional<ZoneRow> row,
                                              txn.FindZoneById(pending));
                             row->state = ZoneState::kActive;
                             return txn.UpdateZone(*row);
                           })
                  .ok());
  delta = builder_->Build(version);
  ASSERT_TRUE(delta.ok());
  ASSERT_NE(delta->delta, nullptr);
  ASSERT_EQ(delta->delta->delta().upserted_size(), 1);
  EXPECT_EQ(delta->delta->delta().upserted(0).hostname(), "b.example.test");
  snapshot = builder_->Build(0);
  EXPECT_EQ(SnapshotOf(snapshot).zones_size(), 2);
}

// A snapshot concatenated from the kept zone pieces is byte for byte the one
// a builder with nothing kept reads from the store, after every kind of
// change: a zone changed, deleted, added pending, activated; with the pieces
// refreshed after each commit (past the change history) and without.
TEST_P(SnapshotBuilderTest, SnapshotFromKeptPiecesEqualsOneReadFromTheStore) {
  int64_t a = AddZone("a.example.test");
  int64_t b = AddZone("b.example.test");
  ASSERT_NE(SnapshotOf(builder_->Build(0)).zones_size(), 0);  // loads the pieces
  auto expect_fresh = [&] {
    SnapshotBuilder fresh(store_.get());
    auto kept = builder_->Build(0);
    auto read = fresh.Build(0);
    ASSERT_TRUE(kept.ok() && read.ok());
    ASSERT_NE(kept->snapshot, nullptr);
    ASSERT_NE(read->snapshot, nullptr);
    EXPECT_EQ(kept->snapshot->version(), read->snapshot->version());
    EXPECT_EQ(kept->snapshot->bytes(), read->snapshot->bytes());
    EXPECT_EQ(kept->snapshot->sha256(), read->snapshot->sha256());
  };
  auto set_mode = [&](int64_t id, certgate::v1::Mode mode, ZoneState state) {
    ASSERT_TRUE(store_
                    ->Mutate("t", "Change",
                             [&](StoreTransaction& txn) -> absl::Status {
                               ASSIGN_OR_RETURN(std::optional<ZoneRow> row, txn.FindZoneById(id));
                               row->zone.set_mode(mode);
                               row->state = state;
                               return txn.UpdateZone(*row);
                             })
                    .ok());
  };
  set_mode(a, certgate::v1::MODE_ENFORCE, ZoneState::kActive);
  expect_fresh();
  DeleteZone(b);
  int64_t pending = AddZone("c.example.test", ZoneState::kPending);
  ASSERT_TRUE(builder_->Refresh().ok());
  expect_fresh();
  set_mode(pending, certgate::v1::MODE_ENFORCE, ZoneState::kActive);
  ASSERT_TRUE(builder_->Refresh().ok());
  expect_fresh();
  EXPECT_EQ(SnapshotOf(builder_->Build(0)).zones_size(), 2);
  // Refreshed after every commit, the pieces follow more changes than the
  // history keeps (5)...
  for (int i = 0; i < 8; ++i) {
    set_mode(a, i % 2 == 0 ? certgate::v1::MODE_REPORT : certgate::v1::MODE_ENFORCE,
             ZoneState::kActive);
    ASSERT_TRUE(builder_->Refresh().ok());
  }
  expect_fresh();
  // ...and left behind the history they are read again whole.
  for (int i = 0; i < 8; ++i) {
    AddZone("d" + std::to_string(i) + ".example.test");
  }
  set_mode(pending, certgate::v1::MODE_REPORT, ZoneState::kPending);
  expect_fresh();
  EXPECT_EQ(SnapshotOf(builder_->Build(0)).zones_size(), 9);
}

INSTANTIATE_TEST_SUITE_P(Engines, SnapshotBuilderTest, kBothEngines, EngineName);

}  // namespace
}  // namespace certgate::controlplane
