#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/store/database.h"

namespace certgate::controlplane {

// Migration moves the schema from version - 1 to version. It carries one
// text per engine: types, triggers and upserts differ, and only a reviewed
// text may run on a database (a missing one stops the migration).
struct Migration {
  int version;
  const char* sqlite;
  const char* postgres = nullptr;

  // For: the text to run on `dialect`'s engine (nullptr: none written).
  const char* For(const Dialect& dialect) const {
    return dialect.engine == Engine::kPostgres ? postgres : sqlite;
  }
};

// SchemaMigrations: the control plane's schema, oldest first. Never edit a
// released migration; append a new one.
const std::vector<Migration>& SchemaMigrations();

// Migrate runs, each in its own transaction, every migration newer than the
// version recorded in the meta table, and returns the resulting version.
// Replicas starting together on one PostgreSQL database take turns.
// A database newer than `migrations` is refused (FAILED_PRECONDITION).
absl::StatusOr<int> Migrate(Database& db, const std::vector<Migration>& migrations);

// SchemaVersion reads the version from the meta table (0 for a new database).
absl::StatusOr<int> SchemaVersion(Database& db);

}  // namespace certgate::controlplane
