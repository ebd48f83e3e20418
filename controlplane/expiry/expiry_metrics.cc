#include "controlplane/expiry/expiry_metrics.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/prometheus_label.h"
#include "common/status_macros.h"
#include "controlplane/expiry/zone_expiry.h"
#include "controlplane/store/store_transaction.h"

namespace certgate::controlplane {

namespace {

void Gauge(std::string& out, absl::string_view name, absl::string_view help, int64_t value) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name, " ", value,
                  "\n");
}

}  // namespace

absl::Status ExpiryMetrics::Reload() {
  uint64_t version = 0;
  std::vector<TenantRow> tenants;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(version, txn.ConfigVersion());
    if (cache_.loaded && cache_.version == version) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(tenants, txn.ListTenants());
    return absl::OkStatus();
  }));
  if (cache_.loaded && cache_.version == version) {
    return absl::OkStatus();
  }
  // One read per tenant, so API calls get the store between them. A change
  // landing meanwhile is newer than `version`: the next scrape reloads.
  Snapshot fresh;
  fresh.version = version;
  fresh.loaded = true;
  fresh.tenants = static_cast<int64_t>(tenants.size());
  for (const TenantRow& tenant : tenants) {
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<ZoneRow> zones, txn.ListZones(tenant.id));
      for (const ZoneRow& zone : zones) {
        (zone.state == ZoneState::kActive ? fresh.zones_active : fresh.zones_pending)++;
        std::string prefix =
            absl::StrCat("{tenant=\"", PrometheusLabelValue(tenant.name), "\",zone=\"",
                         PrometheusLabelValue(zone.zone.hostname()), "\",kind=\"");
        for (const ZoneExpiry& expiry : ZoneExpiries(zone.zone)) {
          fresh.series.push_back(
              Series{absl::StrCat(prefix, expiry.kind, "\",subject=\"",
                                  PrometheusLabelValue(expiry.subject), "\",id=\"",
                                  PrometheusLabelValue(expiry.id), "\"}"),
                     expiry.expires_unix});
        }
      }
      return absl::OkStatus();
    }));
  }
  cache_ = std::move(fresh);
  ++reloads_;
  return absl::OkStatus();
}

std::string ExpiryMetrics::Render(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::string out;
  absl::Status reloaded = Reload();
  if (!reloaded.ok()) {
    absl::StrAppend(&out, "# store read failed; dates as of config version ", cache_.version, "\n");
  }
  int64_t now_unix = absl::ToUnixSeconds(now);
  out.reserve(cache_.series.size() * 160 + 2048);
  absl::StrAppend(&out,
                  "# HELP certgate_control_expiry_seconds Seconds until a zone's certificate "
                  "expires or a CRL's nextUpdate passes; negative once past\n"
                  "# TYPE certgate_control_expiry_seconds gauge\n");
  for (const Series& series : cache_.series) {
    absl::StrAppend(&out, "certgate_control_expiry_seconds", series.labels, " ",
                    series.expires_unix - now_unix, "\n");
  }
  Gauge(out, "certgate_control_tenants", "Tenants", cache_.tenants);
  absl::StrAppend(&out,
                  "# HELP certgate_control_zones Zones by state\n"
                  "# TYPE certgate_control_zones gauge\n"
                  "certgate_control_zones{state=\"active\"} ",
                  cache_.zones_active, "\ncertgate_control_zones{state=\"pending\"} ",
                  cache_.zones_pending, "\n");
  Gauge(out, "certgate_control_config_version", "Config version the dates were read at",
        static_cast<int64_t>(cache_.version));
  certgate::v1::StatusResponse fleet;
  FleetStatus::StatusScope scope;
  scope.admin = true;
  int64_t connected = 0;
  int64_t known = 0;
  if (fleet_->Fill(&fleet, scope).ok()) {
    for (const certgate::v1::EdgeStatus& edge : fleet.edges()) {
      ++known;
      connected += edge.connected() ? 1 : 0;
    }
  }
  Gauge(out, "certgate_control_edges_connected", "Edges with an open config stream", connected);
  Gauge(out, "certgate_control_edges_known", "Edges that ever subscribed", known);
  Gauge(out, "certgate_control_expiry_cache_reloads",
        "Times the expiry dates were read from the store (once per config version)", reloads_);
  return out;
}

}  // namespace certgate::controlplane
