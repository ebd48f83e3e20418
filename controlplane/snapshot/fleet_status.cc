#include "controlplane/snapshot/fleet_status.h"

#include <algorithm>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace certgate::controlplane {
namespace {

constexpr int64_t kBuckets = FleetStatus::kTrafficWindowSeconds / 60;
// What a tenant reads instead of an edge's NACK text, which may be anything
// the edge wrote (including names of zones that are not the tenant's).
constexpr char kTenantNackText[] =
    "the edge could not read this config message; the operator's status shows why";

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
      buckets.push_back(Bucket{minute, 0, 0, 0, {}});
    }
    for (const certgate::v1::RuleTraffic& rule : counts.rules()) {
      std::pair<uint64_t, uint64_t>& sums = buckets.back().rules[rule.rule_id()];
      sums.first += rule.requests();
      sums.second += rule.refused();
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
  std::map<std::string, std::pair<uint64_t, uint64_t>> rules;
  for (const Bucket& bucket : it->second) {
    if (bucket.minute > minute - kBuckets) {
      for (const auto& [id, sums] : bucket.rules) {
        rules[id].first += sums.first;
        rules[id].second += sums.second;
      }
      traffic.set_none(traffic.none() + bucket.none);
      traffic.set_valid(traffic.valid() + bucket.valid);
      traffic.set_invalid(traffic.invalid() + bucket.invalid);
    }
  }
  for (const auto& [id, sums] : rules) {
    certgate::v1::RuleTraffic* rule = traffic.add_rules();
    rule->set_rule_id(id);
    rule->set_requests(sums.first);
    rule->set_refused(sums.second);
  }
  return traffic;
}

bool FleetStatus::SetZoneFailures(
    const std::string& node_id, uint64_t version,
    const google::protobuf::RepeatedPtrField<certgate::v1::ZoneBuildFailure>& failures) {
  absl::flat_hash_map<uint64_t, std::string> errors;
  for (const certgate::v1::ZoneBuildFailure& failure : failures) {
    errors[failure.zone_id()] = failure.error();
  }
  std::vector<std::pair<uint64_t, std::string>> fresh;  // what the listener hears
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = failures_.find(node_id);
    changed = it == failures_.end() ? !errors.empty() : it->second.errors != errors;
    if (failure_listener_) {
      for (const auto& [zone_id, error] : errors) {
        auto before = it == failures_.end() ? nullptr : &it->second.errors;
        auto old = before == nullptr ? errors.end() : before->find(zone_id);
        if (before == nullptr || old == before->end() || old->second != error) {
          fresh.emplace_back(zone_id, error);
        }
      }
    }
    if (errors.empty()) {
      if (it != failures_.end()) {
        failures_.erase(it);
      }
    } else {
      EdgeFailures& edge = failures_[node_id];
      edge.version = version;
      edge.errors = std::move(errors);
    }
  }
  for (const auto& [zone_id, error] : fresh) {
    failure_listener_(node_id, version, zone_id, error);
  }
  return changed;
}

std::vector<certgate::v1::ZoneBuildFailureStatus> FleetStatus::ZoneFailures(uint64_t zone_id) {
  std::vector<certgate::v1::ZoneBuildFailureStatus> result;
  absl::MutexLock lock(&mu_);
  for (const auto& [node_id, edge] : failures_) {
    auto it = edge.errors.find(zone_id);
    if (it != edge.errors.end()) {
      certgate::v1::ZoneBuildFailureStatus status;
      status.set_node_id(node_id);
      status.set_error(it->second);
      status.set_version(edge.version);
      result.push_back(std::move(status));
    }
  }
  std::sort(result.begin(), result.end(),
            [](const auto& a, const auto& b) { return a.node_id() < b.node_id(); });
  return result;
}

absl::Status FleetStatus::Fill(certgate::v1::StatusResponse* response, const StatusScope& scope) {
  // Failures first (memory), then the store resolves which zones they are.
  absl::flat_hash_map<std::string, EdgeFailures> failures;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [node_id, edge] : failures_) {
      EdgeFailures& copy = failures[node_id];
      copy.version = edge.version;
      for (const auto& [zone_id, error] : edge.errors) {
        if (scope.zone_id == 0 || zone_id == scope.zone_id) {
          copy.errors.emplace(zone_id, error);
        }
      }
    }
  }
  std::vector<EdgeRow> edges;
  absl::flat_hash_map<uint64_t, std::string> visible;  // zone id -> hostname
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t version, txn.ConfigVersion());
    response->set_config_version(version);
    ASSIGN_OR_RETURN(edges, txn.ListEdges());
    for (const auto& [node_id, edge] : failures) {
      for (const auto& [zone_id, error] : edge.errors) {
        if (visible.contains(zone_id)) {
          continue;
        }
        ASSIGN_OR_RETURN(std::optional<ZoneRow> row,
                         txn.FindZoneById(static_cast<int64_t>(zone_id)));
        if (row.has_value() && (scope.admin || row->tenant_id == scope.tenant_id)) {
          visible.emplace(zone_id, row->hostname);
        }
      }
    }
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
    if (!row.last_error.empty()) {
      edge->set_last_error(scope.admin ? row.last_error : kTenantNackText);
    }
    auto it = failures.find(row.node_id);
    if (it == failures.end()) {
      continue;
    }
    absl::btree_map<std::string, const std::string*> sorted;  // by hostname
    for (const auto& [zone_id, error] : it->second.errors) {
      auto name = visible.find(zone_id);
      if (name != visible.end()) {
        sorted.emplace(name->second, &error);
      }
    }
    for (const auto& [hostname, error] : sorted) {
      certgate::v1::ZoneBuildFailureStatus* failure = edge->add_zone_failures();
      failure->set_hostname(hostname);
      failure->set_error(*error);
      failure->set_node_id(row.node_id);
      failure->set_version(it->second.version);
    }
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
