#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate::controlplane {

// Statement owns one prepared statement; finalized on destruction.
// Parameters are numbered from 1, columns from 0, as in SQLite.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind* copy the value into SQLite.
  void BindInt64(int index, int64_t value);
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value);

  // Step: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Run steps a statement that returns no rows.
  absl::Status Run();
  // Reset makes the statement runnable again (bindings are kept).
  void Reset();

  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace certgate::controlplane
