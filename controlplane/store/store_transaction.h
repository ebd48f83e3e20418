#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controlplane/store/database.h"
#include "controlplane/store/rows.h"

namespace certgate::controlplane {

// StoreTransaction: typed reads and writes inside one SqliteStore::Mutate,
// Read or Write call. Only SqliteStore creates it, with its lock held.
class StoreTransaction {
 public:
  StoreTransaction(Database* db, uint64_t new_version) : db_(db), new_version_(new_version) {}

  // The committed config version (before this mutation).
  absl::StatusOr<uint64_t> ConfigVersion();
  // The lowest version a delta can start from (older change lists pruned).
  absl::StatusOr<uint64_t> DeltaFloor();
  // The version this mutation commits as (0 outside Mutate).
  uint64_t new_version() const { return new_version_; }
  // ZoneChanged marks a zone as changed (or removed) at new_version().
  void ZoneChanged(int64_t zone_id) { changed_zones_.insert(zone_id); }
  const absl::btree_set<int64_t>& changed_zones() const { return changed_zones_; }
  // SetDetail: the audit row's detail.
  void SetDetail(std::string detail) { detail_ = std::move(detail); }
  const std::string& detail() const { return detail_; }

  // Tenants. InsertTenant: ALREADY_EXISTS when the name is taken.
  absl::Status InsertTenant(const TenantRow& tenant);
  // FindTenant by id or name; NOT_FOUND when neither matches.
  absl::StatusOr<TenantRow> FindTenant(const std::string& id_or_name);
  absl::StatusOr<std::vector<TenantRow>> ListTenants();
  // DeleteTenant removes its tokens and zones too (marking them changed).
  absl::Status DeleteTenant(const std::string& tenant_id);
  absl::StatusOr<int> CountZones(const std::string& tenant_id);
  // TenantQuota: the limits an admin set for the tenant (none set: all unset).
  absl::StatusOr<TenantQuotaRow> TenantQuota(const std::string& tenant_id);
  absl::Status SetTenantQuota(const std::string& tenant_id, const TenantQuotaRow& quota);
  // TenantConfigBytes: the stored size of the tenant's zones (settings blob
  // plus key), leaving out zone `except_zone_id` (0: none). Kept up to date
  // by triggers on `zones`, so it costs one row read.
  absl::StatusOr<int64_t> TenantConfigBytes(const std::string& tenant_id,
                                            int64_t except_zone_id = 0);
  // TenantZoneCount: CountZones from the same trigger-kept row (one read).
  absl::StatusOr<int64_t> TenantZoneCount(const std::string& tenant_id);

  // TenantSettings: webhook and warning window (none set: all unset).
  absl::StatusOr<TenantSettingsRow> TenantSettings(const std::string& tenant_id);
  absl::Status SetTenantSettings(const std::string& tenant_id, const TenantSettingsRow& settings);
  // WebhookTenants: (tenant id, settings) of every tenant with a webhook.
  absl::StatusOr<std::vector<std::pair<std::string, TenantSettingsRow>>> WebhookTenants();
  // WebhookSent: whether event `key` was delivered to the tenant's webhook.
  absl::StatusOr<bool> WebhookSent(const std::string& tenant_id, const std::string& key);
  absl::Status RecordWebhookSent(const std::string& tenant_id, const std::string& key,
                                 int64_t now_unix);

  // Tokens.
  absl::Status InsertToken(const TokenRow& token);
  absl::StatusOr<std::optional<TokenRow>> FindToken(const std::string& token_id);
  absl::StatusOr<std::vector<std::string>> TokenIds(const std::string& tenant_id);
  // DeleteToken: NOT_FOUND when no such token.
  absl::Status DeleteToken(const std::string& token_id);

  // Zones. InsertZone returns the new id (and marks it changed when active:
  // a pending zone is nothing to edges).
  absl::StatusOr<int64_t> InsertZone(const ZoneRow& zone);
  // FindZoneByHostname: the ACTIVE zone of that name (whoever owns it).
  absl::StatusOr<std::optional<ZoneRow>> FindZoneByHostname(const std::string& hostname);
  // FindTenantZone: the tenant's own zone of that name, active or pending.
  absl::StatusOr<std::optional<ZoneRow>> FindTenantZone(const std::string& tenant_id,
                                                        const std::string& hostname);
  // ListPendingZones: every tenant's pending zones, by id.
  absl::StatusOr<std::vector<ZoneRow>> ListPendingZones();
  absl::StatusOr<std::optional<ZoneRow>> FindZoneById(int64_t zone_id);
  // UpdateZone writes the zone back whole (state included) and marks it
  // changed when it is active. ALREADY_EXISTS-like failure (a constraint
  // error) when it becomes active under a name another active zone holds.
  absl::Status UpdateZone(const ZoneRow& zone);
  // DeleteZone removes it and marks it changed.
  absl::Status DeleteZone(int64_t zone_id);
  // ZonesOneLevelUnder: (hostname, tenant id) of active exact zones one label under
  // `parent` (what `*.parent` would cover).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ZonesOneLevelUnder(
      const std::string& parent);
  // ListZones: one tenant's zones, by hostname.
  absl::StatusOr<std::vector<ZoneRow>> ListZones(const std::string& tenant_id);
  // ForEachActiveZone visits every active zone (what edges serve), by id.
  absl::Status ForEachActiveZone(const std::function<void(ZoneRow&&)>& visit);
  // ZonesChangedSince: ids of zones changed or removed after `version`.
  absl::StatusOr<std::vector<int64_t>> ZonesChangedSince(uint64_t version);

  // Edges (not config: no version bump). An empty software_version keeps
  // the one the edge sent in its hello.
  absl::Status RecordEdgeSeen(const std::string& node_id, const std::string& software_version,
                              int64_t now_unix);
  absl::Status RecordAck(const std::string& node_id, uint64_t version, int64_t now_unix);
  absl::Status RecordNack(const std::string& node_id, uint64_t version, const std::string& error,
                          int64_t now_unix);
  absl::StatusOr<std::vector<EdgeRow>> ListEdges();

  // Audit log, oldest first.
  absl::StatusOr<std::vector<AuditRow>> ListAudit();

 private:
  static absl::StatusOr<ZoneRow> ReadZone(Statement& stmt);
  // ReadZones: every row `stmt` yields (it selects kZoneColumns).
  static absl::StatusOr<std::vector<ZoneRow>> ReadZones(Statement& stmt);

  Database* db_;
  uint64_t new_version_;
  absl::btree_set<int64_t> changed_zones_;
  std::string detail_;
};

}  // namespace certgate::controlplane
