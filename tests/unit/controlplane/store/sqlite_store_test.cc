#include "controlplane/store/sqlite_store.h"

#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controlplane/store/database.h"
#include "controlplane/store/store_copier.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/store/store_engine.h"

namespace certgate::controlplane {
namespace {

// Every test runs on both engines.
class SqliteStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    options_.path = FreshStoreTarget(GetParam());
    options_.delta_history = 3;
    auto store = SqliteStore::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    ASSERT_TRUE(store_
                    ->Mutate("admin", "CreateTenant",
                             [](StoreTransaction& txn) {
                               return txn.InsertTenant(TenantRow{"t1", "one", 1});
                             })
                    .ok());
  }

  uint64_t Version() {
    uint64_t version = 0;
    EXPECT_TRUE(store_
                    ->Read([&](StoreTransaction& txn) -> absl::Status {
                      ASSIGN_OR_RETURN(version, txn.ConfigVersion());
                      return absl::OkStatus();
                    })
                    .ok());
    return version;
  }

  absl::StatusOr<int64_t> AddZone(const std::string& hostname) {
    int64_t id = 0;
    RETURN_IF_ERROR(store_
                        ->Mutate("t1/tok", "CreateZone",
                                 [&](StoreTransaction& txn) -> absl::Status {
                                   ZoneRow row;
                                   row.tenant_id = "t1";
                                   row.hostname = hostname;
                                   row.zone.set_hostname(hostname);
                                   row.server_key_pem = "key";
                                   ASSIGN_OR_RETURN(id, txn.InsertZone(row));
                                   txn.SetDetail(hostname);
                                   return absl::OkStatus();
                                 })
                        .status());
    return id;
  }

  SqliteStoreOptions options_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_P(SqliteStoreTest, MutateBumpsTheVersionByOneAndWritesAudit) {
  EXPECT_EQ(Version(), 1u);
  uint64_t seen_by_listener = 0;
  store_->SetCommitListener([&](uint64_t version) { seen_by_listener = version; });
  ASSERT_TRUE(AddZone("a.example.test").ok());
  EXPECT_EQ(Version(), 2u);
  EXPECT_EQ(seen_by_listener, 2u);

  std::vector<AuditRow> audit;
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(audit, txn.ListAudit());
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].actor, "admin");
  EXPECT_EQ(audit[1].config_version, 2u);
  EXPECT_EQ(audit[1].actor, "t1/tok");
  EXPECT_EQ(audit[1].action, "CreateZone");
  EXPECT_EQ(audit[1].detail, "a.example.test");
  EXPECT_GT(audit[1].time_unix, 0);
}

TEST_P(SqliteStoreTest, AFailedMutationChangesNothing) {
  ASSERT_TRUE(AddZone("a.example.test").ok());
  bool listener_called = false;
  store_->SetCommitListener([&](uint64_t) { listener_called = true; });
  auto result = store_->Mutate("t1/tok", "Broken", [](StoreTransaction& txn) -> absl::Status {
    ZoneRow row;
    row.tenant_id = "t1";
    row.hostname = "b.example.test";
    RETURN_IF_ERROR(txn.InsertZone(row).status());
    return absl::InvalidArgumentError("refused after a write");
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(listener_called);
  EXPECT_EQ(Version(), 2u);
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(auto zone, txn.FindZoneByHostname("b.example.test"));
                    EXPECT_FALSE(zone.has_value());
                    ASSIGN_OR_RETURN(auto audit, txn.ListAudit());
                    EXPECT_EQ(audit.size(), 2u);
                    ASSIGN_OR_RETURN(auto changed, txn.ZonesChangedSince(2));
                    EXPECT_TRUE(changed.empty());
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(SqliteStoreTest, DuplicateHostnameViolatesTheUniqueIndex) {
  ASSERT_TRUE(AddZone("a.example.test").ok());
  EXPECT_FALSE(AddZone("a.example.test").ok());
  EXPECT_EQ(Version(), 2u);
}

TEST_P(SqliteStoreTest, ChangedZonesAreKeptForTheDeltaHistoryOnly) {
  auto a = AddZone("a.example.test");  // version 2
  auto b = AddZone("b.example.test");  // version 3
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(auto since1, txn.ZonesChangedSince(1));
                    EXPECT_EQ(since1, (std::vector<int64_t>{*a, *b}));
                    ASSIGN_OR_RETURN(auto since2, txn.ZonesChangedSince(2));
                    EXPECT_EQ(since2, (std::vector<int64_t>{*b}));
                    ASSIGN_OR_RETURN(uint64_t floor, txn.DeltaFloor());
                    EXPECT_EQ(floor, 0u);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(AddZone("c.example.test").ok());  // version 4
  ASSERT_TRUE(AddZone("d.example.test").ok());  // version 5: history 3 keeps > 2
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(uint64_t floor, txn.DeltaFloor());
                    EXPECT_EQ(floor, 2u);
                    ASSIGN_OR_RETURN(auto since0, txn.ZonesChangedSince(0));
                    EXPECT_EQ(since0.size(), 3u);  // a's row (version 2) was pruned
                    return absl::OkStatus();
                  })
                  .ok());
}

// The config-bytes quota reads tenant_usage, which triggers keep equal to
// the stored size of the tenant's zones through insert, update and delete.
TEST_P(SqliteStoreTest, TenantConfigBytesFollowsEveryZoneWrite) {
  auto config_bytes = [&](int64_t except = 0) {
    int64_t bytes = -1;
    EXPECT_TRUE(store_
                    ->Read([&](StoreTransaction& txn) -> absl::Status {
                      ASSIGN_OR_RETURN(bytes, txn.TenantConfigBytes("t1", except));
                      return absl::OkStatus();
                    })
                    .ok());
    return bytes;
  };
  auto size_of = [](const ZoneRow& row) {
    return static_cast<int64_t>(row.zone.SerializeAsString().size() + row.server_key_pem.size());
  };
  EXPECT_EQ(config_bytes(), 0);
  auto a = AddZone("a.example.test");
  auto b = AddZone("b.example.test");
  ASSERT_TRUE(a.ok() && b.ok());
  ZoneRow row;
  row.zone.set_hostname("a.example.test");
  row.server_key_pem = "key";
  int64_t one = size_of(row);
  EXPECT_EQ(config_bytes(), 2 * one);
  EXPECT_EQ(config_bytes(*a), one);
  auto zone_count = [&] {
    int64_t count = -1;
    EXPECT_TRUE(store_
                    ->Read([&](StoreTransaction& txn) -> absl::Status {
                      ASSIGN_OR_RETURN(count, txn.TenantZoneCount("t1"));
                      return absl::OkStatus();
                    })
                    .ok());
    return count;
  };
  EXPECT_EQ(zone_count(), 2);

  ASSERT_TRUE(store_
                  ->Mutate("t1/tok", "Grow",
                           [&](StoreTransaction& txn) -> absl::Status {
                             ASSIGN_OR_RETURN(std::optional<ZoneRow> zone, txn.FindZoneById(*a));
                             zone->zone.set_origin(std::string(1000, 'o'));
                             zone->server_key_pem = std::string(500, 'k');
                             row = *zone;
                             return txn.UpdateZone(*zone);
                           })
                  .ok());
  EXPECT_EQ(config_bytes(), one + size_of(row));
  EXPECT_EQ(zone_count(), 2);
  EXPECT_EQ(config_bytes(*a), one);
  EXPECT_EQ(config_bytes(*b), size_of(row));

  ASSERT_TRUE(store_
                  ->Mutate("t1/tok", "DeleteZone",
                           [&](StoreTransaction& txn) { return txn.DeleteZone(*a); })
                  .ok());
  EXPECT_EQ(config_bytes(), one);
  EXPECT_EQ(zone_count(), 1);

  // Quota rows: unset limits read back unset, set ones as set.
  TenantQuotaRow quota;
  quota.max_zones = 0;
  quota.max_config_bytes = 123;
  ASSERT_TRUE(store_
                  ->Mutate("admin", "SetTenantQuota",
                           [&](StoreTransaction& txn) { return txn.SetTenantQuota("t1", quota); })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantQuotaRow read, txn.TenantQuota("t1"));
                    EXPECT_EQ(read.max_zones, std::optional<int64_t>(0));
                    EXPECT_EQ(read.max_config_bytes, std::optional<int64_t>(123));
                    EXPECT_FALSE(read.max_cas_per_zone.has_value());
                    EXPECT_FALSE(read.max_revocations_per_zone.has_value());
                    ASSIGN_OR_RETURN(TenantQuotaRow none, txn.TenantQuota("nobody"));
                    EXPECT_FALSE(none.max_zones.has_value());
                    return absl::OkStatus();
                  })
                  .ok());
}

// Zones written before migration 2 count: it fills tenant_usage from them.
TEST_P(SqliteStoreTest, TenantUsageMigrationCountsZonesThatExistedBefore) {
  store_.reset();
  SqliteStoreOptions options;
  options.path = FreshStoreTarget(GetParam());
  std::vector<Migration> first = {SchemaMigrations().front()};
  int64_t bytes = 0;
  {
    options.migrations = &first;
    auto old = SqliteStore::Open(options);
    ASSERT_TRUE(old.ok()) << old.status();
  }
  // Seeded with SQL of schema 1 itself: the store's own writes follow the
  // newest schema, which has columns a version-1 database lacks.
  {
    auto db = Database::Open(options.path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)
                    ->Execute("INSERT INTO tenants(id, name, created_unix) "
                              "VALUES ('t1', 'one', 1)")
                    .ok());
    for (const char* host : {"a.example.test", "bb.example.test"}) {
      certgate::v1::Zone zone;
      zone.set_hostname(host);
      std::string blob = zone.SerializeAsString();
      bytes += blob.size() + 3;  // + "key"
      auto insert = (*db)->Prepare(
          "INSERT INTO zones(tenant_id, hostname, zone, server_key_pem) "
          "VALUES ('t1', ?1, ?2, 'key')");
      ASSERT_TRUE(insert.ok()) << insert.status();
      insert->BindText(1, host);
      insert->BindBlob(2, blob);
      ASSERT_TRUE(insert->Run().ok());
    }
  }
  options.migrations = nullptr;
  auto store = SqliteStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(int64_t zones, txn.TenantZoneCount("t1"));
                    EXPECT_EQ(zones, 2);
                    ASSIGN_OR_RETURN(int64_t config_bytes, txn.TenantConfigBytes("t1"));
                    EXPECT_EQ(config_bytes, bytes);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(SqliteStoreTest, DeletingATenantDeletesItsZonesAndTokens) {
  auto a = AddZone("a.example.test");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(store_
                  ->Mutate("admin", "CreateTenantToken",
                           [](StoreTransaction& txn) {
                             return txn.InsertToken(TokenRow{"tok", "t1", "hash", 1});
                           })
                  .ok());
  auto version = store_->Mutate("admin", "DeleteTenant",
                                [](StoreTransaction& txn) { return txn.DeleteTenant("t1"); });
  ASSERT_TRUE(version.ok()) << version.status();
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(auto zone, txn.FindZoneById(*a));
                    EXPECT_FALSE(zone.has_value());
                    ASSIGN_OR_RETURN(auto token, txn.FindToken("tok"));
                    EXPECT_FALSE(token.has_value());
                    ASSIGN_OR_RETURN(auto changed, txn.ZonesChangedSince(*version - 1));
                    EXPECT_EQ(changed, (std::vector<int64_t>{*a}));
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(SqliteStoreTest, EdgeAnswersPersistWithoutAVersionBump) {
  ASSERT_TRUE(store_
                  ->Write([](StoreTransaction& txn) -> absl::Status {
                    RETURN_IF_ERROR(txn.RecordEdgeSeen("edge-1", "1.0", 10));
                    RETURN_IF_ERROR(txn.RecordAck("edge-1", 5, 11));
                    RETURN_IF_ERROR(txn.RecordNack("edge-1", 6, "bad root", 12));
                    RETURN_IF_ERROR(txn.RecordEdgeSeen("edge-1", "", 12));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Version(), 1u);
  store_.reset();
  auto reopened = SqliteStore::Open(options_);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(auto edges, txn.ListEdges());
                    EXPECT_EQ(edges.size(), 1u);
                    EXPECT_EQ(edges[0].acked_version, 5u);
                    EXPECT_EQ(edges[0].nacked_version, 6u);
                    EXPECT_EQ(edges[0].last_error, "bad root");
                    EXPECT_EQ(edges[0].last_seen_unix, 12);
                    EXPECT_EQ(edges[0].software_version, "1.0");
                    return absl::OkStatus();
                  })
                  .ok());
}

// Status writes skip their own flush to disk but are still transactions:
// committed whole or not at all, read back after a restart, and a config
// change after them commits as usual.
TEST_P(SqliteStoreTest, StatusWritesCommitWholeAndLeaveConfigChangesAsTheyWere) {
  ASSERT_TRUE(store_
                  ->WriteStatus([](StoreTransaction& txn) -> absl::Status {
                    RETURN_IF_ERROR(txn.RecordEdgeSeen("edge-1", "1.0", 10));
                    return txn.RecordAck("edge-1", 5, 11);
                  })
                  .ok());
  absl::Status failed = store_->WriteStatus([](StoreTransaction& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.RecordAck("edge-1", 9, 20));
    return absl::InvalidArgumentError("edge message refused");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  auto version = store_->Mutate("admin", "CreateTenant", [](StoreTransaction& txn) {
    return txn.InsertTenant(TenantRow{"t9", "nine", 1});
  });
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2u);
  store_.reset();
  auto reopened = SqliteStore::Open(options_);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(auto edges, txn.ListEdges());
                    EXPECT_EQ(edges.size(), 1u);
                    EXPECT_EQ(edges[0].acked_version, 5u);  // not the refused 9
                    EXPECT_EQ(edges[0].last_seen_unix, 11);
                    ASSIGN_OR_RETURN(uint64_t current, txn.ConfigVersion());
                    EXPECT_EQ(current, 2u);
                    return absl::OkStatus();
                  })
                  .ok());
}

// The lookups whose SQL differs most between engines (concatenation, LIKE,
// ordering by a comparison), each with its answer for another tenant.
TEST_P(SqliteStoreTest, LookupsAnswerAlikeOnEveryEngine) {
  auto made = store_->Mutate("admin", "seed", [&](StoreTransaction& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t2", "two", 2}));
    // A tenant whose name is another tenant's id: the id wins.
    RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t3", "t1", 3}));
    RETURN_IF_ERROR(txn.InsertToken(TokenRow{"tok-b", "t1", std::string("\0\xff", 2), 5}));
    RETURN_IF_ERROR(txn.InsertToken(TokenRow{"tok-a", "t1", "hash", 5}));
    for (const char* host :
         {"a.example.test", "b.a.example.test", "*.a.example.test", "c.b.a.example.test"}) {
      ZoneRow row;
      row.tenant_id = "t1";
      row.hostname = host;
      row.zone.set_hostname(host);
      RETURN_IF_ERROR(txn.InsertZone(row).status());
    }
    ZoneRow pending;
    pending.tenant_id = "t2";
    pending.hostname = "a.example.test";
    pending.state = ZoneState::kPending;
    pending.challenge_token = "challenge";
    return txn.InsertZone(pending).status();
  });
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantRow by_id, txn.FindTenant("t1"));
                    EXPECT_EQ(by_id.name, "one");
                    ASSIGN_OR_RETURN(TenantRow by_name, txn.FindTenant("two"));
                    EXPECT_EQ(by_name.id, "t2");
                    EXPECT_EQ(txn.FindTenant("nobody").status().code(),
                              absl::StatusCode::kNotFound);
                    ASSIGN_OR_RETURN(auto ids, txn.TokenIds("t1"));
                    EXPECT_EQ(ids, (std::vector<std::string>{"tok-a", "tok-b"}));
                    ASSIGN_OR_RETURN(auto token, txn.FindToken("tok-b"));
                    EXPECT_EQ(token->hash, std::string("\0\xff", 2));
                    ASSIGN_OR_RETURN(auto under, txn.ZonesOneLevelUnder("a.example.test"));
                    EXPECT_EQ(under, (std::vector<std::pair<std::string, std::string>>{
                                         {"b.a.example.test", "t1"}}));
                    ASSIGN_OR_RETURN(auto mine, txn.FindTenantZone("t2", "a.example.test"));
                    EXPECT_TRUE(mine.has_value() && mine->state == ZoneState::kPending &&
                                mine->hostname == "a.example.test");
                    ASSIGN_OR_RETURN(auto active, txn.FindZoneByHostname("a.example.test"));
                    EXPECT_TRUE(active.has_value() && active->tenant_id == "t1");
                    ASSIGN_OR_RETURN(auto none, txn.FindTenantZone("t3", "a.example.test"));
                    EXPECT_FALSE(none.has_value());
                    ASSIGN_OR_RETURN(auto pending, txn.ListPendingZones());
                    EXPECT_EQ(pending.size(), 1u);
                    ASSIGN_OR_RETURN(auto listed, txn.ListZones("t1"));
                    EXPECT_EQ(listed.size(), 4u);
                    ASSIGN_OR_RETURN(int count, txn.CountZones("t2"));
                    EXPECT_EQ(count, 1);
                    return absl::OkStatus();
                  })
                  .ok());
  auto removed = store_->Mutate("admin", "RevokeToken",
                                [&](StoreTransaction& txn) { return txn.DeleteToken("tok-a"); });
  ASSERT_TRUE(removed.ok());
  auto again = store_->Mutate("admin", "RevokeToken",
                              [&](StoreTransaction& txn) { return txn.DeleteToken("tok-a"); });
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
}

// Tenant settings and delivered webhook events: upserts, the default when a
// tenant set nothing, a second record of one event, and the cascade.
TEST_P(SqliteStoreTest, TenantSettingsAndSentWebhooksAnswerAlikeOnEveryEngine) {
  auto written = store_->Mutate("admin", "settings", [](StoreTransaction& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t2", "two", 2}));
    RETURN_IF_ERROR(txn.SetTenantSettings("t1", TenantSettingsRow{"https://a.test/x", 7}));
    RETURN_IF_ERROR(txn.SetTenantSettings("t1", TenantSettingsRow{"https://b.test/y", 0}));
    RETURN_IF_ERROR(txn.SetTenantSettings("t2", TenantSettingsRow{"", 3}));
    return absl::OkStatus();
  });
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE(store_
                  ->Write([](StoreTransaction& txn) -> absl::Status {
                    RETURN_IF_ERROR(txn.RecordWebhookSent("t1", "expiring|1|\"quoted\"\n", 10));
                    // Recording one event twice is not an error.
                    return txn.RecordWebhookSent("t1", "expiring|1|\"quoted\"\n", 11);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantSettingsRow one, txn.TenantSettings("t1"));
                    EXPECT_EQ(one.webhook_url, "https://b.test/y");
                    EXPECT_EQ(one.warn_days, 0);
                    ASSIGN_OR_RETURN(TenantSettingsRow none, txn.TenantSettings("nobody"));
                    EXPECT_EQ(none.webhook_url, "");
                    EXPECT_FALSE(none.warn_days.has_value());
                    ASSIGN_OR_RETURN(auto tenants, txn.WebhookTenants());
                    EXPECT_EQ(tenants.size(), 1u);
                    EXPECT_EQ(tenants.empty() ? "" : tenants[0].first, "t1");
                    ASSIGN_OR_RETURN(bool sent, txn.WebhookSent("t1", "expiring|1|\"quoted\"\n"));
                    EXPECT_TRUE(sent);
                    ASSIGN_OR_RETURN(bool other, txn.WebhookSent("t2", "expiring|1|\"quoted\"\n"));
                    EXPECT_FALSE(other);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Mutate("admin", "DeleteTenant",
                           [](StoreTransaction& txn) { return txn.DeleteTenant("t1"); })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantSettingsRow gone, txn.TenantSettings("t1"));
                    EXPECT_EQ(gone.webhook_url, "");
                    ASSIGN_OR_RETURN(bool sent, txn.WebhookSent("t1", "expiring|1|\"quoted\"\n"));
                    EXPECT_FALSE(sent);
                    return absl::OkStatus();
                  })
                  .ok());
}

absl::StatusOr<int64_t> CountRows(Database& db, const std::string& table) {
  ASSIGN_OR_RETURN(Statement count, db.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table)));
  RETURN_IF_ERROR(count.Step().status());
  return count.ColumnInt64(0);
}

// `certgate-control migrate` from SQLite into each engine: every table of the
// source (found in the schema, so a new table cannot be forgotten) arrives
// with all its rows, and the copied store answers with them.
TEST_P(SqliteStoreTest, TheCopierCopiesEveryTable) {
  SqliteStoreOptions source_options;
  source_options.path = FreshStoreTarget(Engine::kSqlite);
  {
    auto source = SqliteStore::Open(source_options);
    ASSERT_TRUE(source.ok()) << source.status();
    auto made = (*source)->Mutate("admin", "seed", [](StoreTransaction& txn) -> absl::Status {
      RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t1", "one", 1}));
      RETURN_IF_ERROR(txn.InsertToken(TokenRow{"tok", "t1", "hash", 1}));
      RETURN_IF_ERROR(txn.SetTenantQuota("t1", TenantQuotaRow{}));
      RETURN_IF_ERROR(txn.SetTenantSettings("t1", TenantSettingsRow{"https://h.test/x", 9}));
      ZoneRow row;
      row.tenant_id = "t1";
      row.hostname = "a.example.test";
      row.zone.set_hostname("a.example.test");
      return txn.InsertZone(row).status();
    });
    ASSERT_TRUE(made.ok()) << made.status();
    ASSERT_TRUE((*source)
                    ->Write([](StoreTransaction& txn) -> absl::Status {
                      RETURN_IF_ERROR(txn.RecordEdgeSeen("edge-1", "1.0", 10));
                      return txn.RecordWebhookSent("t1", "key", 10);
                    })
                    .ok());
  }
  auto from = Database::Open(source_options.path);
  ASSERT_TRUE(from.ok()) << from.status();
  std::string target = FreshStoreTarget(GetParam());
  auto to = Database::Open(target);
  ASSERT_TRUE(to.ok()) << to.status();
  absl::Status copied = StoreCopier::Copy(**from, **to);
  ASSERT_TRUE(copied.ok()) << copied;

  auto tables = (*from)->Prepare(
      "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name");
  ASSERT_TRUE(tables.ok()) << tables.status();
  int checked = 0;
  while (tables->Step().value_or(false)) {
    std::string table = tables->ColumnText(0);
    auto want = CountRows(**from, table);
    auto got = CountRows(**to, table);
    ASSERT_TRUE(want.ok() && got.ok()) << table;
    EXPECT_GT(*want, 0) << table << ": seed a row so that the copy is checked";
    EXPECT_EQ(*got, *want) << table;
    ++checked;
  }
  EXPECT_GE(checked, 10);
  to->reset();

  SqliteStoreOptions copy_options;
  copy_options.path = target;
  auto copy = SqliteStore::Open(copy_options);
  ASSERT_TRUE(copy.ok()) << copy.status();
  ASSERT_TRUE((*copy)
                  ->Read([](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantSettingsRow settings, txn.TenantSettings("t1"));
                    EXPECT_EQ(settings.webhook_url, "https://h.test/x");
                    EXPECT_EQ(settings.warn_days, 9);
                    ASSIGN_OR_RETURN(bool sent, txn.WebhookSent("t1", "key"));
                    EXPECT_TRUE(sent);
                    return absl::OkStatus();
                  })
                  .ok());
}

// Tenant settings and the sent-webhook record (migration 5) work on every
// engine; recording the same event twice keeps one row.
TEST_P(SqliteStoreTest, WebhookBookkeepingWorksOnEveryEngine) {
  ASSERT_TRUE(store_
                  ->Write([&](StoreTransaction& txn) -> absl::Status {
                    TenantSettingsRow settings;
                    settings.webhook_url = "https://hooks.example/t1";
                    RETURN_IF_ERROR(txn.SetTenantSettings("t1", settings));
                    RETURN_IF_ERROR(txn.RecordWebhookSent("t1", "expiry:7", 100));
                    return txn.RecordWebhookSent("t1", "expiry:7", 200);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(bool sent, txn.WebhookSent("t1", "expiry:7"));
                    EXPECT_TRUE(sent);
                    ASSIGN_OR_RETURN(bool other, txn.WebhookSent("t1", "expiry:8"));
                    EXPECT_FALSE(other);
                    ASSIGN_OR_RETURN(auto tenants, txn.WebhookTenants());
                    EXPECT_EQ(tenants.size(), 1u);
                    ASSIGN_OR_RETURN(TenantSettingsRow settings, txn.TenantSettings("t1"));
                    EXPECT_EQ(settings.webhook_url, "https://hooks.example/t1");
                    EXPECT_FALSE(settings.warn_days.has_value());
                    return absl::OkStatus();
                  })
                  .ok());
}

// A tenant's strings come back byte for byte on every engine, whatever
// quoting, escaping or parameter syntax they hold; a NUL byte, which
// PostgreSQL's TEXT cannot hold, is refused on every engine alike instead of
// being cut short on one.
TEST_P(SqliteStoreTest, HostileStringsRoundTripAlikeOnEveryEngine) {
  const std::string hostile =
      "it's \"quoted\" \\ back\\\\slash \\x00 \\0 ?1 $1 %_ '); DROP TABLE tenants; -- \xc3\xa9\t\n";
  auto made = store_->Mutate("admin", hostile, [&](StoreTransaction& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t-hostile", hostile, 7}));
    TenantSettingsRow settings;
    settings.webhook_url = hostile;
    RETURN_IF_ERROR(txn.SetTenantSettings("t-hostile", settings));
    txn.SetDetail(hostile);
    return absl::OkStatus();
  });
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TenantRow by_name, txn.FindTenant(hostile));
                    EXPECT_EQ(by_name.id, "t-hostile");
                    EXPECT_EQ(by_name.name, hostile);
                    ASSIGN_OR_RETURN(TenantSettingsRow settings, txn.TenantSettings("t-hostile"));
                    EXPECT_EQ(settings.webhook_url, hostile);
                    ASSIGN_OR_RETURN(std::vector<AuditRow> audit, txn.ListAudit());
                    EXPECT_EQ(audit.back().action, hostile);
                    EXPECT_EQ(audit.back().detail, hostile);
                    return absl::OkStatus();
                  })
                  .ok());

  uint64_t before = Version();
  const std::string with_nul("evil\0tail", 9);
  auto refused = store_->Mutate("admin", "CreateTenant", [&](StoreTransaction& txn) {
    return txn.InsertTenant(TenantRow{"t-nul", with_nul, 8});
  });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(Version(), before);
  ASSERT_TRUE(store_
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    EXPECT_EQ(txn.FindTenant("t-nul").status().code(), absl::StatusCode::kNotFound);
                    EXPECT_EQ(txn.FindTenant("evil").status().code(), absl::StatusCode::kNotFound);
                    return absl::OkStatus();
                  })
                  .ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, SqliteStoreTest, kBothEngines, EngineName);

// The database holds every zone's server key: it and its -wal and -shm are
// 0600 whatever the umask, and an older, readable file is made private.
TEST(SqliteStorePrivacyTest, TheDatabaseAndItsWalFilesArePrivateWhateverTheUmask) {
  std::string dir = certgate::testing::MakeTempDir("cp-sqlite-private");
  SqliteStoreOptions options;
  options.path = dir + "/fresh.db";
  std::string legacy = dir + "/legacy.db";
  certgate::testing::WriteFile(legacy, "", 0644);
  mode_t old = umask(022);
  auto fresh = SqliteStore::Open(options);
  SqliteStoreOptions legacy_options;
  legacy_options.path = legacy;
  auto opened_legacy = SqliteStore::Open(legacy_options);
  umask(old);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(opened_legacy.ok()) << opened_legacy.status();
  for (const std::string& path : {options.path, options.path + "-wal", options.path + "-shm",
                                  legacy, legacy + "-wal", legacy + "-shm"}) {
    struct stat info;
    ASSERT_EQ(stat(path.c_str(), &info), 0) << path;
    EXPECT_EQ(info.st_mode & 0777, 0600u) << path;
  }
}

}  // namespace
}  // namespace certgate::controlplane
