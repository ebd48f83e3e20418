#include "controlplane/store/sqlite_database.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controlplane/store/sqlite_statement.h"

namespace certgate::controlplane {

namespace {

// MakePrivate creates `path` mode 0600 if missing and takes group and other
// access away from it if present (a database from an older release). SQLite
// gives the -wal and -shm files the database file's mode, so they follow.
absl::Status MakePrivate(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", path, ": ", std::strerror(errno)));
  }
  struct stat info;
  absl::Status status;
  if (::fstat(fd, &info) != 0 ||
      ((info.st_mode & 077) != 0 && ::fchmod(fd, info.st_mode & 0700) != 0)) {
    status = absl::UnavailableError(
        absl::StrCat("cannot make database ", path, " private: ", std::strerror(errno)));
  }
  ::close(fd);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> SqliteDatabase::Open(const std::string& path) {
  // The database holds every zone's server private key: 0600, and so are
  // its -wal and -shm, whatever the umask.
  if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    RETURN_IF_ERROR(MakePrivate(path));
    for (const char* suffix : {"-wal", "-shm"}) {
      struct stat info;
      std::string side = path + suffix;
      if (::stat(side.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
        RETURN_IF_ERROR(MakePrivate(side));
      }
    }
  }
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return absl::UnavailableError(absl::StrCat("cannot open database ", path, ": ", message));
  }
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(handle));
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
  if (!path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0) {
    ASSIGN_OR_RETURN(db->checkpointer_, WalCheckpointer::Start(path));
    db->checkpointer_->Attach(handle);
  }
  return std::unique_ptr<Database>(std::move(db));
}

SqliteDatabase::~SqliteDatabase() {
  if (checkpointer_ != nullptr) {
    WalCheckpointer::Detach(db_);
    checkpointer_.reset();
  }
  sqlite3_close_v2(db_);
}

uint64_t SqliteDatabase::background_checkpoints() const {
  return checkpointer_ != nullptr ? checkpointer_->checkpoints() : 0;
}

absl::Status SqliteDatabase::Execute(absl::string_view sql) {
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

absl::StatusOr<Statement> SqliteDatabase::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite prepare: ", sqlite3_errmsg(db_)));
  }
  return Statement(std::make_unique<SqliteStatement>(db_, stmt));
}

int SqliteDatabase::Changes() const { return sqlite3_changes(db_); }

}  // namespace certgate::controlplane
