#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/store/statement.h"

namespace certgate::controlplane {

// Database is the one owner of a SQLite connection. It is not thread-safe:
// SqliteStore serialises every use of it.
class Database {
 public:
  // Open creates the file if missing and sets WAL, foreign keys, full
  // synchronous commits and a busy timeout, so an acknowledged commit
  // survives a crash.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Execute runs one or more statements that return no rows.
  absl::Status Execute(absl::string_view sql);
  // Prepare compiles one statement.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // LastInsertRowId: rowid of the last INSERT on this connection.
  int64_t LastInsertRowId() const;
  // Changes: rows changed by the last statement.
  int Changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace certgate::controlplane
