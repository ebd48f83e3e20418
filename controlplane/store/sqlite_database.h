#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "controlplane/store/database.h"

namespace certgate::controlplane {

// SqliteDatabase: the owner of one SQLite connection.
class SqliteDatabase final : public Database {
 public:
  // Open creates the file if missing and sets WAL, foreign keys, full
  // synchronous commits and a busy timeout, so an acknowledged commit
  // survives a crash.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~SqliteDatabase() override;

  const Dialect& dialect() const override { return SqliteDialect(); }
  absl::Status Execute(absl::string_view sql) override;
  absl::StatusOr<Statement> Prepare(absl::string_view sql) override;
  int Changes() const override;

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace certgate::controlplane
