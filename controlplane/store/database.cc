#include "controlplane/store/database.h"

#include "absl/strings/match.h"
#include "controlplane/store/postgres_database.h"
#include "controlplane/store/sqlite_database.h"

namespace certgate::controlplane {

bool Database::IsPostgresUrl(absl::string_view target) {
  return absl::StartsWith(target, "postgres://") || absl::StartsWith(target, "postgresql://");
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& target) {
  if (IsPostgresUrl(target)) {
    return PostgresDatabase::Open(target);
  }
  return SqliteDatabase::Open(target);
}

}  // namespace certgate::controlplane
