#include "dataplane/metrics/worker_metrics.h"

#include "absl/strings/str_cat.h"

namespace certgate::edge {

void WorkerMetrics::CertificateSeen(absl::string_view zone, absl::string_view status,
                                    absl::string_view reason) {
  cert_status.Increment(LabelKey(zone, status));
  if (status == "invalid") {
    cert_invalid.Increment(LabelKey(zone, reason.empty() ? "unknown" : reason));
  }
}

void WorkerMetrics::RequestDone(absl::string_view zone, uint64_t zone_id, int code,
                                absl::string_view cert_status) {
  LastRequest& last = last_request_;
  if (last.requests == nullptr || last.code != code || last.zone_id != zone_id ||
      last.zone != zone || last.cert_status != cert_status) {
    last.zone.assign(zone.data(), zone.size());
    last.zone_id = zone_id;
    last.code = code;
    last.cert_status.assign(cert_status.data(), cert_status.size());
    last.requests = requests.Slot(LabelKey(zone, absl::StrCat(code)));
    last.traffic =
        zone_id != 0 ? zone_traffic.Slot(LabelKey(absl::StrCat(zone_id), cert_status)) : nullptr;
  }
  last.requests->fetch_add(1, std::memory_order_relaxed);
  if (last.traffic != nullptr) {
    last.traffic->fetch_add(1, std::memory_order_relaxed);
  }
}

void WorkerMetrics::RuleMatched(uint64_t zone_id, absl::string_view rule_id, bool refused) {
  absl::flat_hash_map<std::string, RuleSlots>& zone_rules = rule_slots_[zone_id];
  auto it = zone_rules.find(rule_id);
  if (it == zone_rules.end()) {
    std::string rule = absl::StrCat(zone_id, "/", rule_id);
    it = zone_rules
             .emplace(std::string(rule_id),
                      RuleSlots{rule_traffic.Slot(LabelKey(rule, "requests")), nullptr})
             .first;
  }
  it->second.requests->fetch_add(1, std::memory_order_relaxed);
  if (refused) {
    if (it->second.refused == nullptr) {
      // Created on the first refusal only: a rule that never refuses shows
      // no refused series, as before.
      it->second.refused =
          rule_traffic.Slot(LabelKey(absl::StrCat(zone_id, "/", rule_id), "refused"));
    }
    it->second.refused->fetch_add(1, std::memory_order_relaxed);
  }
}

void WorkerMetrics::OriginError() { origin_errors.fetch_add(1, std::memory_order_relaxed); }

void WorkerMetrics::OriginRefused(absl::string_view zone, absl::string_view label) {
  origin_refused.Increment(LabelKey(zone, label));
}

void WorkerMetrics::OriginRetry() { origin_retries.fetch_add(1, std::memory_order_relaxed); }

void WorkerMetrics::OriginLatency(double seconds) {
  size_t i = 0;
  while (i < kOriginLatencyBuckets.size() && seconds > kOriginLatencyBuckets[i]) {
    ++i;
  }
  latency_buckets[i].fetch_add(1, std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
  latency_sum_micros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void WorkerMetrics::ConnectionOpened() { connections_open.fetch_add(1, std::memory_order_relaxed); }

void WorkerMetrics::ConnectionClosed() { connections_open.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace certgate::edge
