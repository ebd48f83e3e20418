#include "controlplane/snapshot/fleet_status.h"

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/store/store_engine.h"

namespace certgate::controlplane {
namespace {

// Two tenants, one zone each; edge-1 fails the hostile tenant's zone.
// On both engines.
class FleetStatusTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    SqliteStoreOptions options;
    options.path = FreshStoreTarget(GetParam());
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto made = store_->Mutate("admin", "seed", [&](StoreTransaction& txn) -> absl::Status {
      RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"acme", "acme", 1}));
      RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"evil", "evil", 1}));
      for (auto [tenant, hostname, id] : {std::tuple{"acme", "shop.acme.test", &acme_zone_},
                                          std::tuple{"evil", "x.evil.test", &evil_zone_}}) {
        ZoneRow row;
        row.tenant_id = tenant;
        row.hostname = hostname;
        row.zone.set_hostname(hostname);
        ASSIGN_OR_RETURN(*id, txn.InsertZone(row));
      }
      RETURN_IF_ERROR(txn.RecordEdgeSeen("edge-1", "1", 1));
      return txn.RecordNack("edge-1", 9, "zone \"x.evil.test\" is bad", 2);
    });
    ASSERT_TRUE(made.ok()) << made.status();
    fleet_ = std::make_unique<FleetStatus>(store_.get());
    google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure> failures;
    v1::ZoneBuildFailure* failure = failures.Add();
    failure->set_zone_id(static_cast<uint64_t>(evil_zone_));
    failure->set_error("server key: DSA keys cannot be used for TLS");
    EXPECT_TRUE(fleet_->SetZoneFailures("edge-1", 8, failures));
    EXPECT_FALSE(fleet_->SetZoneFailures("edge-1", 9, failures)) << "the same failures again";
  }

  v1::StatusResponse Fill(const FleetStatus::StatusScope& scope) {
    v1::StatusResponse response;
    EXPECT_TRUE(fleet_->Fill(&response, scope).ok());
    return response;
  }

  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<FleetStatus> fleet_;
  int64_t acme_zone_ = 0;
  int64_t evil_zone_ = 0;
};

TEST_P(FleetStatusTest, AZonesFailureIsShownToItsTenantAndTheAdminOnly) {
  FleetStatus::StatusScope evil;
  evil.tenant_id = "evil";
  v1::StatusResponse own = Fill(evil);
  ASSERT_EQ(own.edges_size(), 1);
  ASSERT_EQ(own.edges(0).zone_failures_size(), 1);
  EXPECT_EQ(own.edges(0).zone_failures(0).hostname(), "x.evil.test");
  EXPECT_EQ(own.edges(0).zone_failures(0).node_id(), "edge-1");
  EXPECT_EQ(own.edges(0).zone_failures(0).version(), 9u);
  EXPECT_NE(own.edges(0).zone_failures(0).error().find("DSA"), std::string::npos);

  FleetStatus::StatusScope acme;
  acme.tenant_id = "acme";
  v1::StatusResponse other = Fill(acme);
  ASSERT_EQ(other.edges_size(), 1);
  EXPECT_EQ(other.edges(0).zone_failures_size(), 0);
  // Not even inside an edge's NACK text.
  EXPECT_EQ(other.DebugString().find("evil"), std::string::npos) << other.DebugString();
  EXPECT_FALSE(other.edges(0).last_error().empty());
  EXPECT_EQ(other.edges(0).nacked_version(), 9u);

  // With a hostname, only that zone.
  evil.zone_id = static_cast<uint64_t>(acme_zone_);
  EXPECT_EQ(Fill(evil).edges(0).zone_failures_size(), 0);

  FleetStatus::StatusScope admin;
  admin.admin = true;
  v1::StatusResponse fleet = Fill(admin);
  ASSERT_EQ(fleet.edges(0).zone_failures_size(), 1);
  EXPECT_EQ(fleet.edges(0).last_error(), "zone \"x.evil.test\" is bad");

  ASSERT_EQ(fleet_->ZoneFailures(static_cast<uint64_t>(evil_zone_)).size(), 1u);
  EXPECT_TRUE(fleet_->ZoneFailures(static_cast<uint64_t>(acme_zone_)).empty());
}

TEST_P(FleetStatusTest, AnAckWithoutFailuresClearsThem) {
  EXPECT_TRUE(fleet_->SetZoneFailures("edge-1", 10, {}));
  FleetStatus::StatusScope admin;
  admin.admin = true;
  EXPECT_EQ(Fill(admin).edges(0).zone_failures_size(), 0);
  EXPECT_TRUE(fleet_->ZoneFailures(static_cast<uint64_t>(evil_zone_)).empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, FleetStatusTest, kBothEngines, EngineName);

}  // namespace
}  // namespace certgate::controlplane

namespace certgate::controlplane {
namespace {

// The failure listener hears a zone error once per change, not each time an
// edge repeats it in an ack.
TEST(FleetStatusListenerTest, HearsNewAndChangedErrorsOnly) {
  SqliteStoreOptions options;
  options.path = certgate::testing::MakeTempDir("cp-fleet-listener") + "/store.db";
  auto store = SqliteStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  FleetStatus fleet(store->get());
  std::vector<std::string> heard;
  fleet.SetFailureListener(
      [&heard](const std::string& node, uint64_t version, uint64_t zone, const std::string& error) {
        heard.push_back(absl::StrCat(node, " v", version, " zone ", zone, ": ", error));
      });
  google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure> failures;
  v1::ZoneBuildFailure* failure = failures.Add();
  failure->set_zone_id(7);
  failure->set_error("bad key");
  fleet.SetZoneFailures("edge-1", 3, failures);
  fleet.SetZoneFailures("edge-1", 4, failures);  // repeated: not heard again
  fleet.SetZoneFailures("edge-2", 4, failures);  // another edge: heard
  failure->set_error("worse key");
  fleet.SetZoneFailures("edge-1", 5, failures);  // changed: heard
  fleet.SetZoneFailures("edge-1", 6, {});        // fixed: nothing to say
  EXPECT_EQ(heard,
            (std::vector<std::string>{"edge-1 v3 zone 7: bad key", "edge-2 v4 zone 7: bad key",
                                      "edge-1 v5 zone 7: worse key"}));
}

}  // namespace
}  // namespace certgate::controlplane
