#include "controlplane/store/database.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace certgate::controlplane {

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return absl::UnavailableError(absl::StrCat("cannot open database ", path, ": ", message));
  }
  std::unique_ptr<Database> db(new Database(handle));
  sqlite3_busy_timeout(handle, 5000);
  RETURN_IF_ERROR(db->Execute("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(db->Execute("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(db->Execute("PRAGMA synchronous=FULL"));
  // journal_mode answers with a row; make sure WAL really took effect.
  ASSIGN_OR_RETURN(Statement mode, db->Prepare("PRAGMA journal_mode"));
  ASSIGN_OR_RETURN(bool has_row, mode.Step());
  if (!has_row || mode.ColumnText(0) != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, " cannot use WAL journal mode"));
  }
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

absl::Status Database::Execute(absl::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    return absl::InternalError(absl::StrCat("sqlite: ", message));
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite prepare: ", sqlite3_errmsg(db_)));
  }
  return Statement(db_, stmt);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int Database::Changes() const { return sqlite3_changes(db_); }

}  // namespace certgate::controlplane
