#include "controlplane/store/dialect.h"

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

// The channel every replica LISTENs on; the payload is the committed version.
constexpr char kCommitChannelNotify[] = "SELECT pg_notify('certgate_config', CAST(?1 AS TEXT))";

// Any fixed number: the advisory lock key of schema migration.
constexpr char kPostgresMigrateLock[] = "SELECT pg_advisory_lock(7415120318)";
constexpr char kPostgresMigrateUnlock[] = "SELECT pg_advisory_unlock(7415120318)";

std::string Dialect::ByteLength(absl::string_view column) const {
  if (engine == Engine::kPostgres) {
    return absl::StrCat("octet_length(", column, ")");
  }
  return absl::StrCat("length(CAST(", column, " AS BLOB))");
}

const Dialect& SqliteDialect() {
  static const Dialect dialect{
      Engine::kSqlite,
      "sqlite",
      "BEGIN IMMEDIATE",
      nullptr,
      "",
      nullptr,
      nullptr,
      nullptr,
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
      "MAX",
      // WAL mode: NORMAL writes the commit to the log without fsync; the
      // next FULL commit (every config change) syncs the log, this one too.
      "PRAGMA synchronous=NORMAL",
      nullptr,
      "PRAGMA synchronous=FULL",
  };
  return dialect;
}

const Dialect& PostgresDialect() {
  static const Dialect dialect{
      Engine::kPostgres,
      "postgres",
      "BEGIN",
      "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
      " FOR UPDATE",
      kCommitChannelNotify,
      kPostgresMigrateLock,
      kPostgresMigrateUnlock,
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
      "GREATEST",
      nullptr,
      "SET LOCAL synchronous_commit TO OFF",
      nullptr,
  };
  return dialect;
}

}  // namespace certgate::controlplane
