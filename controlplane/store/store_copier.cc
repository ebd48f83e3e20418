#include "controlplane/store/store_copier.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "controlplane/store/migrations.h"
#include "controlplane/store/transaction.h"

namespace certgate::controlplane {
namespace {

enum class Column { kInt, kText, kBlob };

struct TableSpec {
  const char* name;
  std::vector<std::pair<const char*, Column>> columns;
};

// Every table of the newest schema except tenant_usage (kept by triggers as
// zones are inserted) and meta (copied by key below), parents first. A new
// table in a migration needs its line here.
const std::vector<TableSpec>& Tables() {
  static const auto* tables = new std::vector<TableSpec>{
      {"tenants", {{"id", Column::kText}, {"name", Column::kText}, {"created_unix", Column::kInt}}},
      {"tokens",
       {{"id", Column::kText},
        {"tenant_id", Column::kText},
        {"hash", Column::kBlob},
        {"created_unix", Column::kInt}}},
      {"tenant_quotas",
       {{"tenant_id", Column::kText},
        {"max_zones", Column::kInt},
        {"max_cas_per_zone", Column::kInt},
        {"max_revocations_per_zone", Column::kInt},
        {"max_config_bytes", Column::kInt}}},
      {"zones",
       {{"id", Column::kInt},
        {"tenant_id", Column::kText},
        {"hostname", Column::kText},
        {"zone", Column::kBlob},
        {"server_key_pem", Column::kText},
        {"origin_client_key_pem", Column::kText},
        {"state", Column::kText},
        {"challenge_token", Column::kText},
        {"verified_unix", Column::kInt},
        {"verified_by", Column::kText}}},
      {"audit",
       {{"seq", Column::kInt},
        {"config_version", Column::kInt},
        {"time_unix", Column::kInt},
        {"actor", Column::kText},
        {"action", Column::kText},
        {"detail", Column::kText}}},
      {"zone_changes", {{"config_version", Column::kInt}, {"zone_id", Column::kInt}}},
      {"edges",
       {{"node_id", Column::kText},
        {"acked_version", Column::kInt},
        {"last_seen_unix", Column::kInt},
        {"nacked_version", Column::kInt},
        {"last_error", Column::kText},
        {"software_version", Column::kText}}},
      {"tenant_settings",
       {{"tenant_id", Column::kText}, {"webhook_url", Column::kText}, {"warn_days", Column::kInt}}},
      {"webhook_sent",
       {{"tenant_id", Column::kText}, {"event_key", Column::kText}, {"sent_unix", Column::kInt}}},
  };
  return *tables;
}

// Identity columns whose next value must follow the copied ids.
constexpr const char* kIdentities[][2] = {{"zones", "id"}, {"audit", "seq"}};

absl::StatusOr<int64_t> ReadInt(Database& db, const std::string& sql) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? stmt.ColumnInt64(0) : 0;
}

absl::Status CopyTable(Database& from, Database& to, const TableSpec& table) {
  std::vector<std::string> names;
  std::vector<std::string> params;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    names.push_back(table.columns[i].first);
    params.push_back(absl::StrCat("?", i + 1));
  }
  std::string columns = absl::StrJoin(names, ", ");
  ASSIGN_OR_RETURN(Statement read,
                   from.Prepare(absl::StrCat("SELECT ", columns, " FROM ", table.name)));
  ASSIGN_OR_RETURN(Statement write,
                   to.Prepare(absl::StrCat("INSERT INTO ", table.name, "(", columns, ") VALUES (",
                                           absl::StrJoin(params, ", "), ")")));
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, read.Step());
    if (!has_row) {
      return absl::OkStatus();
    }
    write.Reset();
    for (size_t i = 0; i < table.columns.size(); ++i) {
      int column = static_cast<int>(i);
      switch (table.columns[i].second) {
        case Column::kInt:
          write.BindInt64(column + 1, read.ColumnInt64(column));
          break;
        case Column::kText:
          write.BindText(column + 1, read.ColumnText(column));
          break;
        case Column::kBlob:
          write.BindBlob(column + 1, read.ColumnBlob(column));
          break;
      }
    }
    absl::Status written = write.Run();
    if (!written.ok()) {
      return absl::InternalError(
          absl::StrCat("copying table ", table.name, ": ", written.message()));
    }
  }
}

}  // namespace

absl::Status StoreCopier::Copy(Database& from, Database& to) {
  RETURN_IF_ERROR(Migrate(from, SchemaMigrations()).status());
  RETURN_IF_ERROR(Migrate(to, SchemaMigrations()).status());
  ASSIGN_OR_RETURN(int64_t target_version,
                   ReadInt(to, "SELECT value FROM meta WHERE key='config_version'"));
  ASSIGN_OR_RETURN(int64_t target_tenants, ReadInt(to, "SELECT COUNT(*) FROM tenants"));
  if (target_version != 0 || target_tenants != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the target database is not empty (config version ", target_version, ", ",
                     target_tenants, " tenants); migrate only into a new database"));
  }
  Transaction read(&from);
  RETURN_IF_ERROR(read.BeginRead());
  Transaction write(&to);
  RETURN_IF_ERROR(write.Begin());
  for (const TableSpec& table : Tables()) {
    RETURN_IF_ERROR(CopyTable(from, to, table));
  }
  for (const char* key : {"config_version", "delta_floor"}) {
    ASSIGN_OR_RETURN(int64_t value,
                     ReadInt(from, absl::StrCat("SELECT value FROM meta WHERE key='", key, "'")));
    ASSIGN_OR_RETURN(Statement set, to.Prepare("UPDATE meta SET value=?1 WHERE key=?2"));
    set.BindInt64(1, value);
    set.BindText(2, key);
    RETURN_IF_ERROR(set.Run());
  }
  if (to.dialect().engine == Engine::kPostgres) {
    for (const auto& [table, column] : kIdentities) {
      RETURN_IF_ERROR(to.Execute(absl::StrCat("SELECT setval(pg_get_serial_sequence('", table,
                                              "', '", column, "'), COALESCE((SELECT ", "MAX(",
                                              column, ") FROM ", table, "), 0) + 1, false)")));
    }
  }
  return write.Commit();
}

}  // namespace certgate::controlplane
