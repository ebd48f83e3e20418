#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/store/postgres_database.h"
#include "controlplane/store/statement_impl.h"

namespace certgate::controlplane {

// PostgresStatement: a statement run with PQexecParams on its first Step;
// later Steps walk the rows of the result.
class PostgresStatement final : public StatementImpl {
 public:
  PostgresStatement(PostgresDatabase* db, std::string sql) : db_(db), sql_(std::move(sql)) {}

  void BindInt64(int index, int64_t value) override;
  void BindText(int index, absl::string_view value) override;
  void BindBlob(int index, absl::string_view value) override;
  absl::StatusOr<bool> Step() override;
  void Reset() override;
  int64_t ColumnInt64(int column) const override;
  std::string ColumnText(int column) const override;
  std::string ColumnBlob(int column) const override;

 private:
  void Bind(int index, Oid type, absl::string_view value, int format);

  PostgresDatabase* db_;
  std::string sql_;
  std::vector<Oid> types_;
  std::vector<std::string> values_;
  std::vector<int> formats_;
  PgResult result_;
  int row_ = -1;
};

}  // namespace certgate::controlplane
