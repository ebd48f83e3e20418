#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/store/database.h"

namespace certgate::controlplane {

// Migration moves the schema from version - 1 to version.
struct Migration {
  int version;
  const char* sql;
};

// SchemaMigrations: the control plane's schema, oldest first. Never edit a
// released migration; append a new one.
const std::vector<Migration>& SchemaMigrations();

// Migrate runs, each in its own transaction, every migration newer than the
// version recorded in the meta table, and returns the resulting version.
// A database newer than `migrations` is refused (FAILED_PRECONDITION).
absl::StatusOr<int> Migrate(Database& db, const std::vector<Migration>& migrations);

// SchemaVersion reads the version from the meta table (0 for a new database).
absl::StatusOr<int> SchemaVersion(Database& db);

}  // namespace certgate::controlplane
