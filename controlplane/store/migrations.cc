#include "controlplane/store/migrations.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controlplane/store/transaction.h"

namespace certgate::controlplane {
namespace {

constexpr char kSchemaV1[] = R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_unix INTEGER NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hash BLOB NOT NULL,
  created_unix INTEGER NOT NULL
);
CREATE INDEX tokens_by_tenant ON tokens(tenant_id);
-- A zone's settings are one serialized certgate.v1.Zone: they are always read
-- and written whole, and the edge needs them whole. The server key is kept
-- apart so it never reaches a tenant-facing message by accident.
CREATE TABLE zones (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL UNIQUE,
  zone BLOB NOT NULL,
  server_key_pem TEXT NOT NULL DEFAULT ''
);
CREATE INDEX zones_by_tenant ON zones(tenant_id, hostname);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  config_version INTEGER NOT NULL,
  time_unix INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
-- Which zones each config version touched: what deltas are built from.
CREATE TABLE zone_changes (
  config_version INTEGER NOT NULL,
  zone_id INTEGER NOT NULL,
  PRIMARY KEY (config_version, zone_id)
);
CREATE TABLE edges (
  node_id TEXT PRIMARY KEY,
  acked_version INTEGER NOT NULL DEFAULT 0,
  last_seen_unix INTEGER NOT NULL DEFAULT 0,
  nacked_version INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  software_version TEXT NOT NULL DEFAULT ''
);
INSERT INTO meta(key, value) VALUES ('config_version', 0);
INSERT INTO meta(key, value) VALUES ('delta_floor', 0);
)sql";

// Per-tenant quota overrides; -1 in a column means the control plane's
// default (set by its flags), so a default change reaches every tenant that
// has no limit of its own. tenant_usage holds each tenant's zone count and
// config bytes (the stored size of its zones: settings blob plus key), kept by
// triggers so that every path that writes a zone counts, and a quota check
// costs one row read rather than a scan of the tenant's zones.
constexpr char kSchemaTenantQuotas[] = R"sql(
CREATE TABLE tenant_quotas (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  max_zones INTEGER NOT NULL DEFAULT -1,
  max_cas_per_zone INTEGER NOT NULL DEFAULT -1,
  max_revocations_per_zone INTEGER NOT NULL DEFAULT -1,
  max_config_bytes INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE tenant_usage (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  zones INTEGER NOT NULL DEFAULT 0,
  config_bytes INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tenant_usage(tenant_id, zones, config_bytes)
  SELECT tenant_id, COUNT(*), SUM(length(zone) + length(CAST(server_key_pem AS BLOB)))
  FROM zones GROUP BY tenant_id;
CREATE TRIGGER zones_usage_insert AFTER INSERT ON zones BEGIN
  INSERT INTO tenant_usage(tenant_id, zones, config_bytes)
    VALUES (NEW.tenant_id, 1, length(NEW.zone) + length(CAST(NEW.server_key_pem AS BLOB)))
    ON CONFLICT(tenant_id) DO UPDATE SET zones = zones + 1,
      config_bytes = config_bytes + excluded.config_bytes;
END;
CREATE TRIGGER zones_usage_delete AFTER DELETE ON zones BEGIN
  UPDATE tenant_usage
    SET zones = zones - 1,
      config_bytes = config_bytes - (length(OLD.zone) + length(CAST(OLD.server_key_pem AS BLOB)))
    WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER zones_usage_update AFTER UPDATE OF tenant_id, zone, server_key_pem ON zones BEGIN
  UPDATE tenant_usage
    SET zones = zones - 1,
      config_bytes = config_bytes - (length(OLD.zone) + length(CAST(OLD.server_key_pem AS BLOB)))
    WHERE tenant_id = OLD.tenant_id;
  INSERT INTO tenant_usage(tenant_id, zones, config_bytes)
    VALUES (NEW.tenant_id, 1, length(NEW.zone) + length(CAST(NEW.server_key_pem AS BLOB)))
    ON CONFLICT(tenant_id) DO UPDATE SET zones = zones + 1,
      config_bytes = config_bytes + excluded.config_bytes;
END;
)sql";

// Version 3: the key of the client certificate edges present to a zone's
// https origin, kept apart from the tenant-visible zone like the server key.
constexpr char kSchemaOriginClientKey[] = R"sql(
ALTER TABLE zones ADD COLUMN origin_client_key_pem TEXT NOT NULL DEFAULT '';
)sql";

// Version 4: hostname ownership. A pending zone (waiting for proof of control) keeps
// `<hostname>#<tenant id>` in the unique hostname column, so several tenants
// can claim one name while only a proven (active) zone holds the name itself.
// Zones that exist already were served before: they become active.
constexpr char kSchemaHostnameOwnership[] = R"sql(
ALTER TABLE zones ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE zones ADD COLUMN challenge_token TEXT NOT NULL DEFAULT '';
ALTER TABLE zones ADD COLUMN verified_unix INTEGER NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN verified_by TEXT NOT NULL DEFAULT 'upgrade';
CREATE INDEX zones_by_state ON zones(state);
)sql";

// PostgreSQL texts of the migrations above: BIGINT for INTEGER (SQLite's is
// 64-bit), BYTEA for BLOB, identity columns for AUTOINCREMENT, and the usage
// triggers as PL/pgSQL functions.
constexpr char kPostgresSchemaV1[] = R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_unix BIGINT NOT NULL
);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hash BYTEA NOT NULL,
  created_unix BIGINT NOT NULL
);
CREATE INDEX tokens_by_tenant ON tokens(tenant_id);
CREATE TABLE zones (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL UNIQUE,
  zone BYTEA NOT NULL,
  server_key_pem TEXT NOT NULL DEFAULT ''
);
CREATE INDEX zones_by_tenant ON zones(tenant_id, hostname);
CREATE TABLE audit (
  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  config_version BIGINT NOT NULL,
  time_unix BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE zone_changes (
  config_version BIGINT NOT NULL,
  zone_id BIGINT NOT NULL,
  PRIMARY KEY (config_version, zone_id)
);
CREATE TABLE edges (
  node_id TEXT PRIMARY KEY,
  acked_version BIGINT NOT NULL DEFAULT 0,
  last_seen_unix BIGINT NOT NULL DEFAULT 0,
  nacked_version BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  software_version TEXT NOT NULL DEFAULT ''
);
INSERT INTO meta(key, value) VALUES ('config_version', 0);
INSERT INTO meta(key, value) VALUES ('delta_floor', 0);
)sql";

constexpr char kPostgresSchemaTenantQuotas[] = R"sql(
CREATE TABLE tenant_quotas (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  max_zones BIGINT NOT NULL DEFAULT -1,
  max_cas_per_zone BIGINT NOT NULL DEFAULT -1,
  max_revocations_per_zone BIGINT NOT NULL DEFAULT -1,
  max_config_bytes BIGINT NOT NULL DEFAULT -1
);
CREATE TABLE tenant_usage (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  zones BIGINT NOT NULL DEFAULT 0,
  config_bytes BIGINT NOT NULL DEFAULT 0
);
INSERT INTO tenant_usage(tenant_id, zones, config_bytes)
  SELECT tenant_id, COUNT(*), SUM(length(zone) + octet_length(server_key_pem))
  FROM zones GROUP BY tenant_id;
CREATE FUNCTION zones_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE tenant_usage
      SET zones = zones - 1,
        config_bytes = config_bytes - (length(OLD.zone) + octet_length(OLD.server_key_pem))
      WHERE tenant_id = OLD.tenant_id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO tenant_usage AS u(tenant_id, zones, config_bytes)
      VALUES (NEW.tenant_id, 1, length(NEW.zone) + octet_length(NEW.server_key_pem))
      ON CONFLICT(tenant_id) DO UPDATE SET zones = u.zones + 1,
        config_bytes = u.config_bytes + excluded.config_bytes;
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER zones_usage_insert AFTER INSERT ON zones
  FOR EACH ROW EXECUTE FUNCTION zones_usage();
CREATE TRIGGER zones_usage_delete AFTER DELETE ON zones
  FOR EACH ROW EXECUTE FUNCTION zones_usage();
CREATE TRIGGER zones_usage_update AFTER UPDATE OF tenant_id, zone, server_key_pem ON zones
  FOR EACH ROW EXECUTE FUNCTION zones_usage();
)sql";

constexpr char kPostgresSchemaHostnameOwnership[] = R"sql(
ALTER TABLE zones ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE zones ADD COLUMN challenge_token TEXT NOT NULL DEFAULT '';
ALTER TABLE zones ADD COLUMN verified_unix BIGINT NOT NULL DEFAULT 0;
ALTER TABLE zones ADD COLUMN verified_by TEXT NOT NULL DEFAULT 'upgrade';
CREATE INDEX zones_by_state ON zones(state);
)sql";

// Version 5: tenant notifications. A tenant's webhook URL and expiry warning
// window (-1: the control plane's default), and which webhook events were
// delivered, so that a restart does not send one again.
constexpr char kSchemaTenantNotifications[] = R"sql(
CREATE TABLE tenant_settings (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  webhook_url TEXT NOT NULL DEFAULT '',
  warn_days INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE webhook_sent (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  event_key TEXT NOT NULL,
  sent_unix INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, event_key)
);
)sql";

constexpr char kPostgresSchemaTenantNotifications[] = R"sql(
CREATE TABLE tenant_settings (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  webhook_url TEXT NOT NULL DEFAULT '',
  warn_days BIGINT NOT NULL DEFAULT -1
);
CREATE TABLE webhook_sent (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  event_key TEXT NOT NULL,
  sent_unix BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, event_key)
);
)sql";

}  // namespace

const std::vector<Migration>& SchemaMigrations() {
  // {version, SQLite text, PostgreSQL text}; a text valid on both is
  // given twice.
  static const auto* migrations =
      new std::vector<Migration>{{1, kSchemaV1, kPostgresSchemaV1},
                                 {2, kSchemaTenantQuotas, kPostgresSchemaTenantQuotas},
                                 {3, kSchemaOriginClientKey, kSchemaOriginClientKey},
                                 {4, kSchemaHostnameOwnership, kPostgresSchemaHostnameOwnership},
                                 {5, kSchemaTenantNotifications, kPostgresSchemaTenantNotifications}};
  return *migrations;
}

absl::StatusOr<int> SchemaVersion(Database& db) {
  RETURN_IF_ERROR(db.Execute(db.dialect().create_meta));
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT value FROM meta WHERE key='schema_version'"));
  ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  return has_row ? static_cast<int>(stmt.ColumnInt64(0)) : 0;
}

// MigrateLocked: Migrate, with the migration lock held.
static absl::StatusOr<int> MigrateLocked(Database& db, const std::vector<Migration>& migrations);

absl::StatusOr<int> Migrate(Database& db, const std::vector<Migration>& migrations) {
  const Dialect& dialect = db.dialect();
  if (dialect.migrate_lock == nullptr) {
    return MigrateLocked(db, migrations);
  }
  RETURN_IF_ERROR(db.Execute(dialect.migrate_lock));
  absl::StatusOr<int> version = MigrateLocked(db, migrations);
  absl::Status unlocked = db.Execute(dialect.migrate_unlock);
  if (version.ok() && !unlocked.ok()) {
    return unlocked;
  }
  return version;
}

static absl::StatusOr<int> MigrateLocked(Database& db, const std::vector<Migration>& migrations) {
  ASSIGN_OR_RETURN(int version, SchemaVersion(db));
  int newest = migrations.empty() ? 0 : migrations.back().version;
  if (version > newest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", version, " is newer than this binary supports (", newest, ")"));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= version) {
      continue;
    }
    if (migration.version != version + 1) {
      return absl::InternalError(absl::StrCat("migration ", version + 1, " is missing"));
    }
    const char* sql = migration.For(db.dialect());
    if (sql == nullptr) {
      return absl::InternalError(
          absl::StrCat("migration ", migration.version, " has no ", db.dialect().name, " version"));
    }
    Transaction txn(&db);
    RETURN_IF_ERROR(txn.Begin());
    absl::Status applied = db.Execute(sql);
    if (!applied.ok()) {
      return absl::InternalError(
          absl::StrCat("migration ", migration.version, " failed: ", applied.message()));
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     db.Prepare("INSERT INTO meta(key, value) VALUES ('schema_version', ?1) "
                                "ON CONFLICT(key) DO UPDATE SET value=excluded.value"));
    stmt.BindInt64(1, migration.version);
    RETURN_IF_ERROR(stmt.Run());
    RETURN_IF_ERROR(txn.Commit());
    version = migration.version;
  }
  return version;
}

}  // namespace certgate::controlplane
