#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace certgate::controlplane {

// Engine: which database a store runs on.
enum class Engine { kSqlite, kPostgres };

// Dialect: every difference between the SQL the store sends to SQLite and to
// PostgreSQL, in one place. Statements are written once with ?N parameters
// (PostgreSQL's Statement turns them into $N) and take the engine-specific
// pieces from here; a migration carries one text per engine (migrations.cc).
struct Dialect {
  Engine engine;
  const char* name;
  // Opens a transaction that will write. SQLite takes the write lock at once
  // so a later write cannot fail with SQLITE_BUSY halfway through.
  const char* begin_write;
  // Opens a read-only transaction with one snapshot of the data; nullptr
  // when reads need none (SQLite: the store's lock already excludes writes).
  const char* begin_read;
  // Appended to the SELECT of the config version row in a mutation: every
  // replica's mutation waits on that one row, so versions form one sequence.
  const char* for_update;
  // Run in each mutation's transaction with ?1 = the new version; delivered
  // to every replica at commit (nullptr: one process, nothing to tell).
  const char* notify_commit;
  // Takes and releases the lock that lets only one replica migrate at a time.
  const char* migrate_lock;
  const char* migrate_unlock;
  // The meta table, created before any migration runs.
  const char* create_meta;
  // The larger of two integers.
  const char* greatest;
  // A status write (SqliteStore::WriteStatus) may be lost on power failure,
  // so it skips the flush to disk: run before its transaction, inside it, and
  // after it (nullptr: nothing). A later config change's commit flushes it.
  const char* relaxed_sync_before;
  const char* relaxed_sync_in_txn;
  const char* relaxed_sync_after;

  // ByteLength: SQL for the size in bytes of a TEXT column.
  std::string ByteLength(absl::string_view column) const;
};

const Dialect& SqliteDialect();
const Dialect& PostgresDialect();

}  // namespace certgate::controlplane
