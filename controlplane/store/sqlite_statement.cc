#include "controlplane/store/sqlite_statement.h"

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::BindInt64(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void SqliteStatement::BindText(int index, absl::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void SqliteStatement::BindBlob(int index, absl::string_view value) {
  // An empty blob must still be a blob, not NULL: SQLite treats a null
  // pointer as NULL.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(),
                      SQLITE_TRANSIENT);
}

absl::StatusOr<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    return absl::FailedPreconditionError(absl::StrCat("sqlite constraint: ", sqlite3_errmsg(db_)));
  }
  return absl::InternalError(absl::StrCat("sqlite: ", sqlite3_errmsg(db_)));
}

void SqliteStatement::Reset() { sqlite3_reset(stmt_); }

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::string SqliteStatement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) {
    return "";
  }
  return std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
}

}  // namespace certgate::controlplane
