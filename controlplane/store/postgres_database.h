#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "controlplane/store/database.h"

namespace certgate::controlplane {

// PgResultDeleter frees a libpq result.
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// PostgresDatabase: the owner of one libpq connection.
class PostgresDatabase final : public Database {
 public:
  // Open connects to `url` (postgres://user:password@host:port/db?...).
  // Errors never repeat the URL: it may hold the password.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& url);
  ~PostgresDatabase() override;

  const Dialect& dialect() const override { return PostgresDialect(); }
  absl::Status Execute(absl::string_view sql) override;
  absl::StatusOr<Statement> Prepare(absl::string_view sql) override;
  int Changes() const override { return changes_; }
  absl::Status Reconnect() override;

  // ExecParams runs `sql` ($N parameters) with text or binary parameters and
  // text results; maps errors to statuses (a constraint violation is
  // FAILED_PRECONDITION, a lost connection UNAVAILABLE).
  absl::StatusOr<PgResult> ExecParams(const std::string& sql, const std::vector<Oid>& types,
                                      const std::vector<const char*>& values,
                                      const std::vector<int>& lengths,
                                      const std::vector<int>& formats);

  // ToDollarParameters rewrites ?N parameters as PostgreSQL's $N, leaving
  // string literals alone.
  static std::string ToDollarParameters(absl::string_view sql);

 private:
  explicit PostgresDatabase(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<PgResult> Check(PGresult* result);

  PGconn* conn_;
  int changes_ = 0;
};

// ConnectPostgres: a new connection to `url`, or UNAVAILABLE with libpq's
// reason (never the URL). Quiet: server notices are dropped.
// `application_name` is what pg_stat_activity shows (unless the URL sets one).
absl::StatusOr<PGconn*> ConnectPostgres(const std::string& url, const char* application_name);

}  // namespace certgate::controlplane
