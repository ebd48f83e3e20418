#include "controlplane/store/store_transaction.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace certgate::controlplane {
namespace {

absl::StatusOr<uint64_t> ReadMeta(Database* db, const char* key) {
  ASSIGN_OR_RETURN(Statement stmt, db->Prepare("SELECT value FROM meta WHERE key=?1"));
  stmt.BindText(1, key);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? static_cast<uint64_t>(stmt.ColumnInt64(0)) : 0;
}

constexpr char kZoneColumns[] =
    "id, tenant_id, hostname, zone, server_key_pem, origin_client_key_pem, state, challenge_token, "
    "verified_unix, verified_by";

const char* StateName(ZoneState state) {
  return state == ZoneState::kActive ? "active" : "pending";
}

// HostnameKey: what the unique hostname column holds. Only an active zone
// holds the bare name; a pending claim is `<hostname>#<tenant id>` ('#' never
// occurs in a hostname), one per tenant and name.
std::string HostnameKey(const ZoneRow& zone) {
  return zone.state == ZoneState::kActive ? zone.hostname
                                          : absl::StrCat(zone.hostname, "#", zone.tenant_id);
}

}  // namespace

absl::StatusOr<uint64_t> StoreTransaction::ConfigVersion() {
  return ReadMeta(db_, "config_version");
}

absl::StatusOr<uint64_t> StoreTransaction::DeltaFloor() { return ReadMeta(db_, "delta_floor"); }

absl::Status StoreTransaction::InsertTenant(const TenantRow& tenant) {
  ASSIGN_OR_RETURN(Statement check, db_->Prepare("SELECT 1 FROM tenants WHERE name=?1"));
  check.BindText(1, tenant.name);
  ASSIGN_OR_RETURN(bool exists, check.Step());
  if (exists) {
    return absl::AlreadyExistsError(absl::StrCat("tenant ", tenant.name, " already exists"));
  }
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("INSERT INTO tenants(id, name, created_unix) "
                                                "VALUES (?1, ?2, ?3)"));
  stmt.BindText(1, tenant.id);
  stmt.BindText(2, tenant.name);
  stmt.BindInt64(3, tenant.created_unix);
  return stmt.Run();
}

absl::StatusOr<TenantRow> StoreTransaction::FindTenant(const std::string& id_or_name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT id, name, created_unix FROM tenants "
                                "WHERE id=?1 OR name=?1 ORDER BY id=?1 DESC LIMIT 1"));
  stmt.BindText(1, id_or_name);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return absl::NotFoundError(absl::StrCat("tenant ", id_or_name, " not found"));
  }
  return TenantRow{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnInt64(2)};
}

absl::StatusOr<std::vector<TenantRow>> StoreTransaction::ListTenants() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT id, name, created_unix FROM tenants ORDER BY name"));
  std::vector<TenantRow> tenants;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    tenants.push_back(TenantRow{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnInt64(2)});
  }
  return tenants;
}

absl::Status StoreTransaction::DeleteTenant(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement zones, db_->Prepare("SELECT id FROM zones WHERE tenant_id=?1"));
  zones.BindText(1, tenant_id);
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, zones.Step());
    if (!has_row) {
      break;
    }
    ZoneChanged(zones.ColumnInt64(0));
  }
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM tenants WHERE id=?1"));
  stmt.BindText(1, tenant_id);
  RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("tenant ", tenant_id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> StoreTransaction::CountZones(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT COUNT(*) FROM zones WHERE tenant_id=?1"));
  stmt.BindText(1, tenant_id);
  RETURN_IF_ERROR(stmt.Step().status());
  return static_cast<int>(stmt.ColumnInt64(0));
}

namespace {

// Quota columns hold -1 for "the default" (Statement has no NULL binding).
constexpr int64_t kDefaultQuota = -1;

int64_t QuotaColumn(const std::optional<int64_t>& value) { return value.value_or(kDefaultQuota); }

std::optional<int64_t> QuotaValue(int64_t column) {
  return column < 0 ? std::nullopt : std::optional<int64_t>(column);
}

}  // namespace

absl::StatusOr<TenantQuotaRow> StoreTransaction::TenantQuota(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT max_zones, max_cas_per_zone, max_revocations_per_zone, "
                                "max_config_bytes FROM tenant_quotas WHERE tenant_id=?1"));
  stmt.BindText(1, tenant_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  TenantQuotaRow quota;
  if (has_row) {
    quota.max_zones = QuotaValue(stmt.ColumnInt64(0));
    quota.max_cas_per_zone = QuotaValue(stmt.ColumnInt64(1));
    quota.max_revocations_per_zone = QuotaValue(stmt.ColumnInt64(2));
    quota.max_config_bytes = QuotaValue(stmt.ColumnInt64(3));
  }
  return quota;
}

absl::Status StoreTransaction::SetTenantQuota(const std::string& tenant_id,
                                              const TenantQuotaRow& quota) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("INSERT INTO tenant_quotas(tenant_id, max_zones, max_cas_per_zone, "
                   "max_revocations_per_zone, max_config_bytes) VALUES (?1, ?2, ?3, ?4, ?5) "
                   "ON CONFLICT(tenant_id) DO UPDATE SET max_zones=excluded.max_zones, "
                   "max_cas_per_zone=excluded.max_cas_per_zone, "
                   "max_revocations_per_zone=excluded.max_revocations_per_zone, "
                   "max_config_bytes=excluded.max_config_bytes"));
  stmt.BindText(1, tenant_id);
  stmt.BindInt64(2, QuotaColumn(quota.max_zones));
  stmt.BindInt64(3, QuotaColumn(quota.max_cas_per_zone));
  stmt.BindInt64(4, QuotaColumn(quota.max_revocations_per_zone));
  stmt.BindInt64(5, QuotaColumn(quota.max_config_bytes));
  return stmt.Run();
}

absl::StatusOr<TenantSettingsRow> StoreTransaction::TenantSettings(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT webhook_url, warn_days FROM tenant_settings WHERE tenant_id=?1"));
  stmt.BindText(1, tenant_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  TenantSettingsRow settings;
  if (has_row) {
    settings.webhook_url = stmt.ColumnText(0);
    int64_t days = stmt.ColumnInt64(1);
    if (days >= 0) {
      settings.warn_days = static_cast<int>(days);
    }
  }
  return settings;
}

absl::Status StoreTransaction::SetTenantSettings(const std::string& tenant_id,
                                                 const TenantSettingsRow& settings) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO tenant_settings(tenant_id, webhook_url, warn_days) "
                                "VALUES (?1, ?2, ?3) ON CONFLICT(tenant_id) DO UPDATE SET "
                                "webhook_url=excluded.webhook_url, warn_days=excluded.warn_days"));
  stmt.BindText(1, tenant_id);
  stmt.BindText(2, settings.webhook_url);
  stmt.BindInt64(3, settings.warn_days.has_value() ? *settings.warn_days : -1);
  return stmt.Run();
}

absl::StatusOr<std::vector<std::pair<std::string, TenantSettingsRow>>>
StoreTransaction::WebhookTenants() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT tenant_id, webhook_url, warn_days FROM tenant_settings "
                                "WHERE webhook_url != '' ORDER BY tenant_id"));
  std::vector<std::pair<std::string, TenantSettingsRow>> tenants;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    TenantSettingsRow settings;
    settings.webhook_url = stmt.ColumnText(1);
    if (stmt.ColumnInt64(2) >= 0) {
      settings.warn_days = static_cast<int>(stmt.ColumnInt64(2));
    }
    tenants.emplace_back(stmt.ColumnText(0), std::move(settings));
  }
  return tenants;
}

absl::StatusOr<bool> StoreTransaction::WebhookSent(const std::string& tenant_id,
                                                   const std::string& key) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT 1 FROM webhook_sent WHERE tenant_id=?1 "
                                                "AND event_key=?2"));
  stmt.BindText(1, tenant_id);
  stmt.BindText(2, key);
  return stmt.Step();
}

absl::Status StoreTransaction::RecordWebhookSent(const std::string& tenant_id,
                                                 const std::string& key, int64_t now_unix) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("INSERT INTO webhook_sent(tenant_id, event_key, sent_unix) "
                   "VALUES (?1, ?2, ?3) ON CONFLICT(tenant_id, event_key) DO NOTHING"));
  stmt.BindText(1, tenant_id);
  stmt.BindText(2, key);
  stmt.BindInt64(3, now_unix);
  return stmt.Run();
}

absl::StatusOr<int64_t> StoreTransaction::TenantConfigBytes(const std::string& tenant_id,
                                                            int64_t except_zone_id) {
  // tenant_usage is kept by triggers (migration 2): one row, not a scan.
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare(absl::StrCat(
          "SELECT COALESCE((SELECT config_bytes FROM tenant_usage WHERE tenant_id=?1), 0) "
          "- COALESCE((SELECT length(zone) + ",
          db_->dialect().ByteLength("server_key_pem"),
          " FROM zones WHERE id=?2 AND tenant_id=?1), 0)")));
  stmt.BindText(1, tenant_id);
  stmt.BindInt64(2, except_zone_id);
  RETURN_IF_ERROR(stmt.Step().status());
  return stmt.ColumnInt64(0);
}

absl::StatusOr<int64_t> StoreTransaction::TenantZoneCount(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT COALESCE((SELECT zones FROM tenant_usage WHERE tenant_id=?1), 0)"));
  stmt.BindText(1, tenant_id);
  RETURN_IF_ERROR(stmt.Step().status());
  return stmt.ColumnInt64(0);
}

absl::Status StoreTransaction::InsertToken(const TokenRow& token) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO tokens(id, tenant_id, hash, created_unix) "
                                "VALUES (?1, ?2, ?3, ?4)"));
  stmt.BindText(1, token.id);
  stmt.BindText(2, token.tenant_id);
  stmt.BindBlob(3, token.hash);
  stmt.BindInt64(4, token.created_unix);
  return stmt.Run();
}

absl::StatusOr<std::optional<TokenRow>> StoreTransaction::FindToken(const std::string& token_id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT id, tenant_id, hash, created_unix "
                                                "FROM tokens WHERE id=?1"));
  stmt.BindText(1, token_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return std::optional<TokenRow>();
  }
  return std::optional<TokenRow>(
      TokenRow{stmt.ColumnText(0), stmt.ColumnText(1), stmt.ColumnBlob(2), stmt.ColumnInt64(3)});
}

absl::StatusOr<std::vector<std::string>> StoreTransaction::TokenIds(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_->Prepare("SELECT id FROM tokens WHERE tenant_id=?1 ORDER BY created_unix, id"));
  stmt.BindText(1, tenant_id);
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    ids.push_back(stmt.ColumnText(0));
  }
  return ids;
}

absl::Status StoreTransaction::DeleteToken(const std::string& token_id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM tokens WHERE id=?1"));
  stmt.BindText(1, token_id);
  RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("token ", token_id, " not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ZoneRow> StoreTransaction::ReadZone(Statement& stmt) {
  ZoneRow row;
  row.id = stmt.ColumnInt64(0);
  row.tenant_id = stmt.ColumnText(1);
  row.hostname = stmt.ColumnText(2);
  row.hostname = row.hostname.substr(0, row.hostname.find('#'));
  if (!row.zone.ParseFromString(stmt.ColumnBlob(3))) {
    return absl::DataLossError(absl::StrCat("zone ", row.hostname, " is corrupt"));
  }
  row.server_key_pem = stmt.ColumnText(4);
  row.origin_client_key_pem = stmt.ColumnText(5);
  row.state = stmt.ColumnText(6) == "pending" ? ZoneState::kPending : ZoneState::kActive;
  row.challenge_token = stmt.ColumnText(7);
  row.verified_unix = stmt.ColumnInt64(8);
  row.verified_by = stmt.ColumnText(9);
  return row;
}

absl::StatusOr<int64_t> StoreTransaction::InsertZone(const ZoneRow& zone) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO zones(tenant_id, hostname, zone, server_key_pem, "
                                "origin_client_key_pem, state, challenge_token, verified_unix, "
                                "verified_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                                "RETURNING id"));
  stmt.BindText(1, zone.tenant_id);
  stmt.BindText(2, HostnameKey(zone));
  stmt.BindBlob(3, zone.zone.SerializeAsString());
  stmt.BindText(4, zone.server_key_pem);
  stmt.BindText(5, zone.origin_client_key_pem);
  stmt.BindText(6, StateName(zone.state));
  stmt.BindText(7, zone.challenge_token);
  stmt.BindInt64(8, zone.verified_unix);
  stmt.BindText(9, zone.verified_by);
  ASSIGN_OR_RETURN(bool inserted, stmt.Step());
  if (!inserted) {
    return absl::InternalError("zone insert returned no id");
  }
  int64_t id = stmt.ColumnInt64(0);
  // A pending zone is nothing to edges until it becomes active.
  if (zone.state == ZoneState::kActive) {
    ZoneChanged(id);
  }
  return id;
}

absl::StatusOr<std::optional<ZoneRow>> StoreTransaction::FindZoneByHostname(
    const std::string& hostname) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(absl::StrCat("SELECT ", kZoneColumns,
                                                             " FROM zones WHERE hostname=?1")));
  stmt.BindText(1, hostname);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return std::optional<ZoneRow>();
  }
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(stmt));
  return std::optional<ZoneRow>(std::move(row));
}

absl::StatusOr<std::optional<ZoneRow>> StoreTransaction::FindTenantZone(
    const std::string& tenant_id, const std::string& hostname) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat("SELECT ", kZoneColumns,
                                             " FROM zones WHERE tenant_id=?2 AND "
                                             "(hostname=?1 OR hostname=?1 || '#' || ?2)")));
  stmt.BindText(1, hostname);
  stmt.BindText(2, tenant_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return std::optional<ZoneRow>();
  }
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(stmt));
  return std::optional<ZoneRow>(std::move(row));
}

absl::StatusOr<std::vector<ZoneRow>> StoreTransaction::ReadZones(Statement& stmt) {
  std::vector<ZoneRow> zones;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    ASSIGN_OR_RETURN(ZoneRow row, ReadZone(stmt));
    zones.push_back(std::move(row));
  }
  return zones;
}

absl::StatusOr<std::vector<ZoneRow>> StoreTransaction::ListPendingZones() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat("SELECT ", kZoneColumns,
                                             " FROM zones WHERE state='pending' ORDER BY id")));
  return ReadZones(stmt);
}

absl::StatusOr<std::optional<ZoneRow>> StoreTransaction::FindZoneById(int64_t zone_id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat("SELECT ", kZoneColumns, " FROM zones WHERE id=?1")));
  stmt.BindInt64(1, zone_id);
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return std::optional<ZoneRow>();
  }
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(stmt));
  return std::optional<ZoneRow>(std::move(row));
}

absl::Status StoreTransaction::UpdateZone(const ZoneRow& zone) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("UPDATE zones SET zone=?2, server_key_pem=?3, hostname=?4, "
                                "state=?5, challenge_token=?6, verified_unix=?7, verified_by=?8, "
                                "origin_client_key_pem=?9 WHERE id=?1"));
  stmt.BindInt64(1, zone.id);
  stmt.BindBlob(2, zone.zone.SerializeAsString());
  stmt.BindText(3, zone.server_key_pem);
  stmt.BindText(4, HostnameKey(zone));
  stmt.BindText(5, StateName(zone.state));
  stmt.BindText(6, zone.challenge_token);
  stmt.BindInt64(7, zone.verified_unix);
  stmt.BindText(8, zone.verified_by);
  stmt.BindText(9, zone.origin_client_key_pem);
  RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("zone ", zone.hostname, " not found"));
  }
  if (zone.state == ZoneState::kActive) {
    ZoneChanged(zone.id);
  }
  return absl::OkStatus();
}

absl::Status StoreTransaction::DeleteZone(int64_t zone_id) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("DELETE FROM zones WHERE id=?1"));
  stmt.BindInt64(1, zone_id);
  RETURN_IF_ERROR(stmt.Run());
  ZoneChanged(zone_id);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
StoreTransaction::ZonesOneLevelUnder(const std::string& parent) {
  // Hostnames hold only [a-z0-9.-*], so LIKE's own wildcards cannot occur.
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT hostname, tenant_id FROM zones "
                                                "WHERE hostname LIKE '%.' || ?1 AND "
                                                "state='active'"));
  stmt.BindText(1, parent);
  std::vector<std::pair<std::string, std::string>> zones;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    std::string hostname = stmt.ColumnText(0);
    std::string label = hostname.substr(0, hostname.size() - parent.size() - 1);
    if (label.find('.') == std::string::npos && label != "*") {
      zones.emplace_back(std::move(hostname), stmt.ColumnText(1));
    }
  }
  return zones;
}

absl::StatusOr<std::vector<ZoneRow>> StoreTransaction::ListZones(const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat("SELECT ", kZoneColumns,
                                             " FROM zones WHERE tenant_id=?1 ORDER BY hostname")));
  stmt.BindText(1, tenant_id);
  return ReadZones(stmt);
}

absl::Status StoreTransaction::ForEachActiveZone(const std::function<void(ZoneRow&&)>& visit) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat("SELECT ", kZoneColumns,
                                             " FROM zones WHERE state='active' ORDER BY id")));
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    ASSIGN_OR_RETURN(ZoneRow row, ReadZone(stmt));
    visit(std::move(row));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> StoreTransaction::ZonesChangedSince(uint64_t version) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT DISTINCT zone_id FROM zone_changes "
                                                "WHERE config_version > ?1 ORDER BY zone_id"));
  stmt.BindInt64(1, static_cast<int64_t>(version));
  std::vector<int64_t> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    ids.push_back(stmt.ColumnInt64(0));
  }
  return ids;
}

absl::Status StoreTransaction::RecordEdgeSeen(const std::string& node_id,
                                              const std::string& software_version,
                                              int64_t now_unix) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("INSERT INTO edges(node_id, last_seen_unix, software_version) "
                                "VALUES (?1, ?2, ?3) ON CONFLICT(node_id) DO UPDATE SET "
                                "last_seen_unix=excluded.last_seen_unix, "
                                "software_version=CASE WHEN excluded.software_version='' "
                                "THEN edges.software_version "
                                "ELSE excluded.software_version END"));
  stmt.BindText(1, node_id);
  stmt.BindInt64(2, now_unix);
  stmt.BindText(3, software_version);
  return stmt.Run();
}

absl::Status StoreTransaction::RecordAck(const std::string& node_id, uint64_t version,
                                         int64_t now_unix) {
  // A later ACK clears an earlier NACK: the edge holds a good config again.
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare(absl::StrCat(
                       "INSERT INTO edges(node_id, acked_version, last_seen_unix) "
                       "VALUES (?1, ?2, ?3) ON CONFLICT(node_id) DO UPDATE SET acked_version=",
                       db_->dialect().greatest,
                       "(edges.acked_version, excluded.acked_version), "
                       "last_seen_unix=excluded.last_seen_unix, "
                       "nacked_version=0, last_error=''")));
  stmt.BindText(1, node_id);
  stmt.BindInt64(2, static_cast<int64_t>(version));
  stmt.BindInt64(3, now_unix);
  return stmt.Run();
}

absl::Status StoreTransaction::RecordNack(const std::string& node_id, uint64_t version,
                                          const std::string& error, int64_t now_unix) {
  ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("INSERT INTO edges(node_id, nacked_version, "
                                                "last_error, last_seen_unix) "
                                                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(node_id) "
                                                "DO UPDATE SET "
                                                "nacked_version=excluded.nacked_version, "
                                                "last_error=excluded.last_error, "
                                                "last_seen_unix=excluded.last_seen_unix"));
  stmt.BindText(1, node_id);
  stmt.BindInt64(2, static_cast<int64_t>(version));
  stmt.BindText(3, error);
  stmt.BindInt64(4, now_unix);
  return stmt.Run();
}

absl::StatusOr<std::vector<EdgeRow>> StoreTransaction::ListEdges() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT node_id, acked_version, last_seen_unix, nacked_version, "
                                "last_error, software_version FROM edges ORDER BY node_id"));
  std::vector<EdgeRow> edges;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    EdgeRow row;
    row.node_id = stmt.ColumnText(0);
    row.acked_version = static_cast<uint64_t>(stmt.ColumnInt64(1));
    row.last_seen_unix = stmt.ColumnInt64(2);
    row.nacked_version = static_cast<uint64_t>(stmt.ColumnInt64(3));
    row.last_error = stmt.ColumnText(4);
    row.software_version = stmt.ColumnText(5);
    edges.push_back(std::move(row));
  }
  return edges;
}

absl::StatusOr<std::vector<AuditRow>> StoreTransaction::ListAudit() {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_->Prepare("SELECT config_version, time_unix, actor, action, detail "
                                "FROM audit ORDER BY seq"));
  std::vector<AuditRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) {
      break;
    }
    rows.push_back(AuditRow{static_cast<uint64_t>(stmt.ColumnInt64(0)), stmt.ColumnInt64(1),
                            stmt.ColumnText(2), stmt.ColumnText(3), stmt.ColumnText(4)});
  }
  return rows;
}

}  // namespace certgate::controlplane
