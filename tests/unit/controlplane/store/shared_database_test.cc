// Several stores (replicas) on one PostgreSQL database.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/store/database.h"
#include "controlplane/store/postgres_database.h"
#include "controlplane/store/sqlite_store.h"
#include "controlplane/store/store_copier.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/store/store_engine.h"

namespace certgate::controlplane {
namespace {

std::unique_ptr<SqliteStore> OpenStore(const std::string& url) {
  SqliteStoreOptions options;
  options.path = url;
  auto store = SqliteStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

absl::StatusOr<uint64_t> AddTenant(SqliteStore& store, const std::string& name) {
  return store.Mutate("admin", "CreateTenant", [&](StoreTransaction& txn) {
    return txn.InsertTenant(TenantRow{name, name, 1});
  });
}

// VersionLog records what a store's commit listener heard.
struct VersionLog {
  absl::Mutex mu;
  uint64_t highest = 0;
  void Heard(uint64_t version) {
    absl::MutexLock lock(&mu);
    highest = std::max(highest, version);
  }
  uint64_t Highest() {
    absl::MutexLock lock(&mu);
    return highest;
  }
  // AwaitAtLeast: true once `version` was heard, false after `timeout`.
  bool AwaitAtLeast(uint64_t version, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto heard = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return highest >= version; };
    return mu.AwaitWithTimeout(absl::Condition(&heard), timeout);
  }
};

// Replicas: stores A and B on one database, and what B's commit listener
// heard. The log is declared first so that it outlives B's feed thread.
struct Replicas {
  explicit Replicas(const std::string& url) : a(OpenStore(url)), b(OpenStore(url)) {
    if (b != nullptr) {
      b->SetCommitListener([this](uint64_t version) { heard_by_b.Heard(version); });
    }
  }
  bool ok() const { return a != nullptr && b != nullptr; }

  VersionLog heard_by_b;
  std::unique_ptr<SqliteStore> a;
  std::unique_ptr<SqliteStore> b;
};

TEST(SharedDatabaseTest, ConcurrentReplicasKeepOneGapFreeVersionSequence) {
  std::string url = FreshStoreTarget(Engine::kPostgres);
  auto a = OpenStore(url);
  auto b = OpenStore(url);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  absl::Mutex mu;
  std::vector<uint64_t> versions;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    SqliteStore* store = t % 2 == 0 ? a.get() : b.get();
    threads.emplace_back([&, store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<uint64_t> version = AddTenant(*store, absl::StrCat("t", t, "-", i));
        if (!version.ok()) {
          ++failures;
          continue;
        }
        absl::MutexLock lock(&mu);
        versions.push_back(*version);
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  std::sort(versions.begin(), versions.end());
  ASSERT_EQ(versions.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < versions.size(); ++i) {
    ASSERT_EQ(versions[i], i + 1) << "versions must be 1..N, each once";
  }
  ASSERT_TRUE(a->Read([&](StoreTransaction& txn) -> absl::Status {
                 ASSIGN_OR_RETURN(std::vector<AuditRow> audit, txn.ListAudit());
                 EXPECT_EQ(audit.size(), versions.size());
                 ASSIGN_OR_RETURN(std::vector<TenantRow> tenants, txn.ListTenants());
                 EXPECT_EQ(tenants.size(), versions.size());
                 return absl::OkStatus();
               }).ok());
}

TEST(SharedDatabaseTest, EveryReplicaHearsEveryOtherReplicasCommit) {
  std::string url = FreshStoreTarget(Engine::kPostgres);
  Replicas replicas(url);
  ASSERT_TRUE(replicas.ok());
  std::vector<double> delays_ms;
  for (int i = 0; i < 20; ++i) {
    absl::Time start = absl::Now();
    absl::StatusOr<uint64_t> version = AddTenant(*replicas.a, absl::StrCat("tenant-", i));
    ASSERT_TRUE(version.ok()) << version.status();
    ASSERT_TRUE(replicas.heard_by_b.AwaitAtLeast(*version, absl::Seconds(5)))
        << "replica B never heard of version " << *version;
    delays_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::sort(delays_ms.begin(), delays_ms.end());
  // Informational (benchmarks state speed): from the call on A to B's
  // listener, the mutation included.
  std::printf("commit to other replica: p50 %.1f ms, max %.1f ms\n", delays_ms[10],
              delays_ms.back());
}

TEST(SharedDatabaseTest, ReplicasReconnectAfterTheDatabaseRestarts) {
  auto cluster = certgate::testing::PostgresCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto url = (*cluster)->CreateDatabase();
  ASSERT_TRUE(url.ok());
  Replicas replicas(*url);
  ASSERT_TRUE(replicas.ok());
  ASSERT_TRUE(AddTenant(*replicas.a, "before").ok());

  (*cluster)->Crash();
  // While it is down: a clear UNAVAILABLE, nothing pretends to succeed.
  absl::StatusOr<uint64_t> down = AddTenant(*replicas.a, "while-down");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  ASSERT_TRUE((*cluster)->Restart().ok());

  // The first write after the restart succeeds on a fresh connection, and
  // B's feed reconnects and hears it.
  absl::StatusOr<uint64_t> after = AddTenant(*replicas.a, "after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, 2u);
  EXPECT_TRUE(certgate::testing::WaitFor([&] { return replicas.heard_by_b.Highest() >= *after; },
                                         absl::Seconds(10)));
  ASSERT_TRUE(replicas.b
                  ->Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(std::vector<TenantRow> tenants, txn.ListTenants());
                    EXPECT_EQ(tenants.size(), 2u);
                    return absl::OkStatus();
                  })
                  .ok());
}

// Commits made while a replica's feed connection is gone (their NOTIFYs
// lost with it) are caught up by version when it reconnects.
TEST(SharedDatabaseTest, AReplicaCatchesUpOnCommitsMadeWhileItsFeedWasCut) {
  std::string url = FreshStoreTarget(Engine::kPostgres);
  Replicas replicas(url);
  ASSERT_TRUE(replicas.ok());
  absl::StatusOr<uint64_t> first = AddTenant(*replicas.a, "first");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(certgate::testing::WaitFor([&] { return replicas.heard_by_b.Highest() >= *first; },
                                         absl::Seconds(5)));

  // Cut every LISTEN connection and commit at once, while they are down.
  auto admin = Database::Open(url);
  ASSERT_TRUE(admin.ok());
  auto cut = (*admin)->Prepare(
      "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'certgate-control-feed'");
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE(cut->Step().value_or(false));
  EXPECT_EQ(cut->ColumnInt64(0), 2) << "one feed per store";
  uint64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<uint64_t> version = AddTenant(*replicas.a, absl::StrCat("while-cut-", i));
    ASSERT_TRUE(version.ok()) << version.status();
    last = *version;
  }
  EXPECT_TRUE(certgate::testing::WaitFor([&] { return replicas.heard_by_b.Highest() >= last; },
                                         absl::Seconds(5)))
      << "B heard up to " << replicas.heard_by_b.Highest() << ", want " << last;
}

// migrate copies every table of the schema, those of later migrations
// (tenant settings, sent webhooks) included: a table the copier does not
// know would be lost on the way to PostgreSQL without an error.
TEST(StoreCopierTest, EveryTableOfTheSchemaArrivesInPostgres) {
  std::string path = FreshStoreTarget(Engine::kSqlite);
  {
    SqliteStoreOptions options;
    options.path = path;
    auto source = SqliteStore::Open(options);
    ASSERT_TRUE(source.ok()) << source.status();
    ASSERT_TRUE((*source)
                    ->Mutate("admin", "CreateTenant",
                             [](StoreTransaction& txn) -> absl::Status {
                               RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t1", "one", 1}));
                               TenantSettingsRow settings;
                               settings.webhook_url = "https://hooks.example/x";
                               settings.warn_days = 12;
                               RETURN_IF_ERROR(txn.SetTenantSettings("t1", settings));
                               RETURN_IF_ERROR(txn.RecordWebhookSent("t1", "expiry:1:cert", 77));
                               return txn.RecordEdgeSeen("edge-1", "1.0", 5);
                             })
                    .ok());
  }
  auto from = Database::Open(path);
  auto to = Database::Open(FreshStoreTarget(Engine::kPostgres));
  ASSERT_TRUE(from.ok() && to.ok());
  ASSERT_TRUE(StoreCopier::Copy(**from, **to).ok());

  auto tables = (*from)->Prepare(
      "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
  ASSERT_TRUE(tables.ok());
  int compared = 0;
  while (tables->Step().value_or(false)) {
    std::string table = tables->ColumnText(0);
    std::string count = absl::StrCat("SELECT COUNT(*) FROM ", table);
    auto in_source = (*from)->Prepare(count);
    auto in_target = (*to)->Prepare(count);
    ASSERT_TRUE(in_source.ok() && in_target.ok()) << table;
    ASSERT_TRUE(in_source->Step().value_or(false) && in_target->Step().value_or(false)) << table;
    EXPECT_EQ(in_target->ColumnInt64(0), in_source->ColumnInt64(0)) << table;
    ++compared;
  }
  EXPECT_GE(compared, 11);
  auto check = (*to)->Prepare(
      "SELECT s.webhook_url, s.warn_days, w.event_key, w.sent_unix FROM tenant_settings s "
      "JOIN webhook_sent w ON w.tenant_id = s.tenant_id WHERE s.tenant_id='t1'");
  ASSERT_TRUE(check.ok());
  ASSERT_TRUE(check->Step().value_or(false));
  EXPECT_EQ(check->ColumnText(0), "https://hooks.example/x");
  EXPECT_EQ(check->ColumnInt64(1), 12);
  EXPECT_EQ(check->ColumnText(2), "expiry:1:cert");
  EXPECT_EQ(check->ColumnInt64(3), 77);
}

TEST(PostgresDatabaseTest, AnUnreachableServerIsOneLineWithoutThePassword) {
  int port = certgate::testing::FreePort();
  auto db = Database::Open(
      absl::StrCat("postgresql://certgate:hunter2-secret@127.0.0.1:", port, "/certgate"));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
  std::string message(db.status().message());
  EXPECT_EQ(message.rfind("cannot connect to PostgreSQL: ", 0), 0u) << message;
  EXPECT_EQ(message.find("hunter2-secret"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// libpq repeats a malformed URL (or the token it could not decode) in its
// error: the password must not come along into logs or the CLI's output.
TEST(PostgresDatabaseTest, AMalformedUrlIsRefusedWithoutThePassword) {
  for (const char* url : {
           "postgresql://certgate:hunter2-secret@[::1/certgate",
           "postgresql://certgate:hunter2%zzsecret@127.0.0.1/certgate",
           "postgresql://certgate:hunter2-secret@127.0.0.1:5x/certgate",
           "postgresql://certgate:hunter2-secret@127.0.0.1/certgate?password=hunter2%zz",
           "postgresql://certgate@127.0.0.1/certgate?sslmode=x&password=hunter2%zzsecret",
       }) {
    auto db = Database::Open(url);
    ASSERT_FALSE(db.ok()) << url;
    std::string message(db.status().message());
    EXPECT_EQ(message.rfind("cannot connect to PostgreSQL: ", 0), 0u) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
}

// A mistyped URL is not taken for a SQLite file name (which would create
// that file, and repeat the password in the error).
TEST(PostgresDatabaseTest, AMistypedUrlIsNoSqliteFileName) {
  for (const char* target : {"postgres:/certgate:hunter2@127.0.0.1/certgate",
                             "postgresql:certgate:hunter2@127.0.0.1/certgate",
                             "postgress://certgate:hunter2@127.0.0.1/certgate"}) {
    auto db = Database::Open(target);
    ASSERT_FALSE(db.ok()) << target;
    EXPECT_EQ(db.status().code(), absl::StatusCode::kInvalidArgument) << db.status();
    EXPECT_EQ(std::string(db.status().message()).find("hunter2"), std::string::npos);
    EXPECT_NE(::access(target, F_OK), 0) << target << " was created";
  }
}

TEST(PostgresDatabaseTest, ParametersBecomeDollarsOutsideStringLiterals) {
  EXPECT_EQ(PostgresDatabase::ToDollarParameters("SELECT ?1, '?2', ?12 WHERE a=?3"),
            "SELECT $1, '?2', $12 WHERE a=$3");
  EXPECT_EQ(PostgresDatabase::ToDollarParameters("SELECT 'it''s ?1', ?2"), "SELECT 'it''s ?1', $2");
}

}  // namespace
}  // namespace certgate::controlplane
