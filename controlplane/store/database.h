#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/store/dialect.h"
#include "controlplane/store/statement.h"

namespace certgate::controlplane {

// Database is one connection to the store's database, SQLite or PostgreSQL.
// It is not thread-safe: SqliteStore serialises every use of it.
class Database {
 public:
  // Open connects to `target`: a postgres:// or postgresql:// URL, or else
  // the path of a SQLite file (created if missing).
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& target);
  // IsPostgresUrl: whether Open would treat `target` as a PostgreSQL URL.
  static bool IsPostgresUrl(absl::string_view target);
  // CheckTarget: INVALID_ARGUMENT for what looks like a URL but is not a
  // postgres:// one (a typo such as postgres:/host), which would otherwise
  // become a SQLite file of that name, echoing the password in errors.
  static absl::Status CheckTarget(absl::string_view target);

  virtual ~Database() = default;

  virtual const Dialect& dialect() const = 0;
  // Execute runs one or more statements that return no rows.
  virtual absl::Status Execute(absl::string_view sql) = 0;
  // Prepare compiles one statement.
  virtual absl::StatusOr<Statement> Prepare(absl::string_view sql) = 0;
  // Changes: rows changed by the last statement.
  virtual int Changes() const = 0;
  // Reconnect makes a lost connection usable again (a server restart);
  // UNAVAILABLE when the server still cannot be reached.
  virtual absl::Status Reconnect() { return absl::OkStatus(); }
};

}  // namespace certgate::controlplane
