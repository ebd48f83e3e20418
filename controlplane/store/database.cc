#include "controlplane/store/database.h"

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "controlplane/store/postgres_database.h"
#include "controlplane/store/sqlite_database.h"

namespace certgate::controlplane {

bool Database::IsPostgresUrl(absl::string_view target) {
  return absl::StartsWith(target, "postgres://") || absl::StartsWith(target, "postgresql://");
}

absl::Status Database::CheckTarget(absl::string_view target) {
  if (!IsPostgresUrl(target) &&
      (absl::StrContains(target, "://") || absl::StartsWith(target, "postgres:") ||
       absl::StartsWith(target, "postgresql:"))) {
    // Not repeated: it may hold a password.
    return absl::InvalidArgumentError(
        "the database is neither a SQLite file path nor a postgres:// or postgresql:// URL");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& target) {
  RETURN_IF_ERROR(CheckTarget(target));
  if (IsPostgresUrl(target)) {
    return PostgresDatabase::Open(target);
  }
  return SqliteDatabase::Open(target);
}

}  // namespace certgate::controlplane
