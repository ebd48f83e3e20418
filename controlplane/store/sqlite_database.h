#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "controlplane/store/database.h"
#include "controlplane/store/wal_checkpointer.h"

namespace certgate::controlplane {

// SqliteDatabase: the owner of one SQLite connection.
class SqliteDatabase final : public Database {
 public:
  // Open creates the file if missing and sets WAL, foreign keys, full
  // synchronous commits and a busy timeout, so an acknowledged commit
  // survives a crash. A file's log is checkpointed by a WalCheckpointer,
  // never inside a commit.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~SqliteDatabase() override;

  const Dialect& dialect() const override { return SqliteDialect(); }
  absl::Status Execute(absl::string_view sql) override;
  absl::StatusOr<Statement> Prepare(absl::string_view sql) override;
  int Changes() const override;

  // Checkpoints the background checkpointer ran (0 for an in-memory database).
  uint64_t background_checkpoints() const;

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

}  // namespace certgate::controlplane
