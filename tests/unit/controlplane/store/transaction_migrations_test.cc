#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controlplane/store/database.h"
#include "controlplane/store/migrations.h"
#include "controlplane/store/transaction.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/store/store_engine.h"

namespace certgate::controlplane {
namespace {

int64_t CountRows(Database& db, const std::string& table) {
  auto stmt = db.Prepare("SELECT COUNT(*) FROM " + table);
  EXPECT_TRUE(stmt.ok());
  EXPECT_TRUE(stmt->Step().value_or(false));
  return stmt->ColumnInt64(0);
}

std::unique_ptr<Database> OpenFresh(std::string* path, Engine engine = Engine::kSqlite) {
  *path = FreshStoreTarget(engine);
  auto db = Database::Open(*path);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

// Portable: a test migration whose text is the same on both engines.
Migration Both(int version, const char* sql) { return Migration{version, sql, sql}; }

class TransactionTest : public ::testing::TestWithParam<Engine> {};
class MigrationsTest : public ::testing::TestWithParam<Engine> {};

TEST(DatabaseTest, OpensWithWalForeignKeysAndFullSync) {
  std::string path;
  auto db = OpenFresh(&path);
  auto mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(mode->Step().value());
  EXPECT_EQ(mode->ColumnText(0), "wal");
  auto keys = db->Prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(keys->Step().value());
  EXPECT_EQ(keys->ColumnInt64(0), 1);
  auto sync = db->Prepare("PRAGMA synchronous");
  ASSERT_TRUE(sync->Step().value());
  EXPECT_EQ(sync->ColumnInt64(0), 2);  // FULL
}

TEST_P(TransactionTest, RollsBackUnlessCommitted) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  ASSERT_TRUE(db->Execute("CREATE TABLE t (v INTEGER)").ok());
  {
    Transaction txn(db.get());
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (1)").ok());
    // Leaves scope without Commit: an early error return.
  }
  EXPECT_EQ(CountRows(*db, "t"), 0);
  {
    Transaction txn(db.get());
    ASSERT_TRUE(txn.Begin().ok());
    ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(CountRows(*db, "t"), 1);
  Transaction unopened(db.get());
  EXPECT_FALSE(unopened.Commit().ok());
}

TEST_P(TransactionTest, CommittedDataIsSeenByAnotherConnection) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  ASSERT_TRUE(db->Execute("CREATE TABLE t (v INTEGER)").ok());
  Transaction txn(db.get());
  ASSERT_TRUE(txn.Begin().ok());
  ASSERT_TRUE(db->Execute("INSERT INTO t VALUES (1)").ok());
  auto other = Database::Open(path);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(CountRows(**other, "t"), 0);
  ASSERT_TRUE(txn.Commit().ok());
  EXPECT_EQ(CountRows(**other, "t"), 1);
}

TEST_P(MigrationsTest, RunForwardOnceAndRecordTheVersion) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  std::vector<Migration> v1 = {Both(1, "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (7);")};
  auto version = Migrate(*db, v1);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 1);
  // Running again changes nothing (the INSERT would duplicate the row).
  ASSERT_TRUE(Migrate(*db, v1).ok());
  EXPECT_EQ(CountRows(*db, "a"), 1);

  std::vector<Migration> v2 = v1;
  v2.push_back(Both(2, "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'new';"));
  db.reset();
  auto reopened = Database::Open(path);
  ASSERT_TRUE(reopened.ok());
  version = Migrate(**reopened, v2);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(SchemaVersion(**reopened).value(), 2);
  auto stmt = (*reopened)->Prepare("SELECT x, y FROM a");
  ASSERT_TRUE(stmt->Step().value());
  EXPECT_EQ(stmt->ColumnInt64(0), 7);
  EXPECT_EQ(stmt->ColumnText(1), "new");
}

TEST_P(MigrationsTest, AFailingMigrationLeavesTheOldSchema) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  std::vector<Migration> migrations = {Both(1, "CREATE TABLE a (x INTEGER);"),
                                       Both(2, "CREATE TABLE b (x INTEGER); NOT SQL AT ALL;")};
  auto version = Migrate(*db, migrations);
  EXPECT_FALSE(version.ok());
  EXPECT_EQ(SchemaVersion(*db).value(), 1);
  // Table b went with the failed migration's transaction.
  auto table_b = db->Prepare("SELECT COUNT(*) FROM b");
  EXPECT_FALSE(table_b.ok() && table_b->Step().ok());
  EXPECT_EQ(CountRows(*db, "a"), 0);
}

TEST_P(MigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  std::vector<Migration> v2 = {Both(1, "CREATE TABLE a (x INTEGER);"),
                               Both(2, "CREATE TABLE b (x INTEGER);")};
  ASSERT_TRUE(Migrate(*db, v2).ok());
  std::vector<Migration> v1 = {Both(1, "CREATE TABLE a (x INTEGER);")};
  auto version = Migrate(*db, v1);
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(version.status().message(),
            "database schema version 2 is newer than this binary supports (1)");
}

TEST_P(MigrationsTest, TheProductSchemaApplies) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  auto version = Migrate(*db, SchemaMigrations());
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, SchemaMigrations().back().version);
  for (const char* table : {"tenants", "tokens", "zones", "audit", "zone_changes", "edges"}) {
    EXPECT_EQ(CountRows(*db, table), 0) << table;
  }
}

TEST_P(MigrationsTest, ZonesOfAnUpgradedDatabaseStayServed) {
  // A database at schema 1 (before hostname verification) with one zone.
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  std::vector<Migration> v1 = {SchemaMigrations().front()};
  ASSERT_EQ(Migrate(*db, v1).value_or(0), 1);
  ASSERT_TRUE(
      db->Execute("INSERT INTO tenants(id, name, created_unix) VALUES ('t1', 'one', 1)").ok());
  auto insert = db->Prepare(
      "INSERT INTO zones(tenant_id, hostname, zone) VALUES ('t1', 'old.example.test', ?1)");
  ASSERT_TRUE(insert.ok());
  insert->BindBlob(1, "");
  ASSERT_TRUE(insert->Run().ok());
  ASSERT_EQ(Migrate(*db, SchemaMigrations()).value_or(0), SchemaMigrations().back().version);
  auto stmt = db->Prepare(
      "SELECT hostname, state, challenge_token, verified_by FROM zones WHERE tenant_id='t1'");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(stmt->Step().value_or(false));
  EXPECT_EQ(stmt->ColumnText(0), "old.example.test");
  EXPECT_EQ(stmt->ColumnText(1), "active");
  EXPECT_EQ(stmt->ColumnText(2), "");
  EXPECT_EQ(stmt->ColumnText(3), "upgrade");
}

// A migration written for SQLite only stops on PostgreSQL with a clear
// error instead of running SQL nobody checked there.
TEST_P(MigrationsTest, AMigrationWithoutThisEnginesTextIsRefused) {
  std::string path;
  auto db = OpenFresh(&path, GetParam());
  std::vector<Migration> migrations = {Both(1, "CREATE TABLE a (x INTEGER);"),
                                       GetParam() == Engine::kSqlite
                                           ? Migration{2, nullptr, "CREATE TABLE b (x INTEGER);"}
                                           : Migration{2, "CREATE TABLE b (x INTEGER);"}};
  auto version = Migrate(*db, migrations);
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().message(),
            absl::StrCat("migration 2 has no ", db->dialect().name, " version"));
  EXPECT_EQ(SchemaVersion(*db).value(), 1);
}

// Every product migration carries a text for each engine.
TEST(MigrationsListTest, EveryMigrationHasBothEngines) {
  for (const Migration& migration : SchemaMigrations()) {
    EXPECT_NE(migration.sqlite, nullptr) << migration.version;
    EXPECT_NE(migration.postgres, nullptr) << migration.version;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, TransactionTest, kBothEngines, EngineName);
INSTANTIATE_TEST_SUITE_P(Engines, MigrationsTest, kBothEngines, EngineName);

}  // namespace
}  // namespace certgate::controlplane
