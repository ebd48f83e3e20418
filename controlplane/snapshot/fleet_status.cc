#include "controlplane/snapshot/fleet_status.h"

#include "common/status_macros.h"

namespace certgate::controlplane {
namespace {

constexpr int64_t kBuckets = FleetStatus::kTrafficWindowSeconds / 60;

}  // namespace

void FleetStatus::EdgeConnected(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  ++connected_[node_id];
}

void FleetStatus::EdgeDisconnected(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  auto it = connected_.find(node_id);
  if (it != connected_.end() && --it->second <= 0) {
    connected_.erase(it);
  }
}

void FleetStatus::AddTraffic(const certgate::v1::TrafficReport& report, absl::Time now) {
  int64_t minute = absl::ToUnixSeconds(now) / 60;
  absl::MutexLock lock(&mu_);
  for (const certgate::v1::ZoneCounts& counts : report.zones()) {
    std::deque<Bucket>& buckets = traffic_[counts.zone_id()];
    if (buckets.empty() || buckets.back().minute != minute) {
      buckets.push_back(Bucket{minute, 0, 0, 0});
    }
    buckets.back().none += counts.none();
    buckets.back().valid += counts.valid();
    buckets.back().invalid += counts.invalid();
    while (!buckets.empty() && buckets.front().minute <= minute - kBuckets) {
      buckets.pop_front();
    }
  }
}

certgate::v1::ZoneTraffic FleetStatus::Traffic(uint64_t zone_id, absl::Time now) {
  int64_t minute = absl::ToUnixSeconds(now) / 60;
  certgate::v1::ZoneTraffic traffic;
  traffic.set_window_seconds(kTrafficWindowSeconds);
  absl::MutexLock lock(&mu_);
  auto it = traffic_.find(zone_id);
  if (it == traffic_.end()) {
    return traffic;
  }
  for (const Bucket& bucket : it->second) {
    if (bucket.minute > minute - kBuckets) {
      traffic.set_none(traffic.none() + bucket.none);
      traffic.set_valid(traffic.valid() + bucket.valid);
      traffic.set_invalid(traffic.invalid() + bucket.invalid);
    }
  }
  return traffic;
}

absl::Status FleetStatus::Fill(certgate::v1::StatusResponse* response) {
  std::vector<EdgeRow> edges;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t version, txn.ConfigVersion());
    response->set_config_version(version);
    ASSIGN_OR_RETURN(edges, txn.ListEdges());
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mu_);
  for (const EdgeRow& row : edges) {
    certgate::v1::EdgeStatus* edge = response->add_edges();
    edge->set_node_id(row.node_id);
    edge->set_acked_version(row.acked_version);
    edge->set_last_seen_unix(row.last_seen_unix);
    edge->set_connected(connected_.contains(row.node_id));
    edge->set_nacked_version(row.nacked_version);
    edge->set_last_error(row.last_error);
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
