#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "controlplane/store/statement_impl.h"

namespace certgate::controlplane {

// SqliteStatement: a sqlite3_stmt, finalized on destruction.
class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void BindInt64(int index, int64_t value) override;
  void BindText(int index, absl::string_view value) override;
  void BindBlob(int index, absl::string_view value) override;
  absl::StatusOr<bool> Step() override;
  void Reset() override;
  int64_t ColumnInt64(int column) const override;
  std::string ColumnText(int column) const override;
  std::string ColumnBlob(int column) const override;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace certgate::controlplane
