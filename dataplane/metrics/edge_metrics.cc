#include "dataplane/metrics/edge_metrics.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/prometheus_label.h"

namespace certgate::edge {
namespace {

void Header(std::string* out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Scalar(std::string* out, absl::string_view name, absl::string_view type,
            absl::string_view help, uint64_t value) {
  Header(out, name, type, help);
  absl::StrAppend(out, name, " ", value, "\n");
}

// Sums one labeled family over the workers and prints it.
void Labeled(std::string* out, const std::vector<std::unique_ptr<WorkerMetrics>>& workers,
             LabeledCounter WorkerMetrics::*family, absl::string_view name, absl::string_view help,
             absl::string_view label1, absl::string_view label2) {
  std::map<std::string, uint64_t> sums;
  for (const auto& w : workers) {
    ((*w).*family).ForEach([&](const std::string& key, uint64_t v) { sums[key] += v; });
  }
  Header(out, name, "counter", help);
  for (const auto& [key, value] : sums) {
    auto [a, b] = SplitLabelKey(key);
    absl::StrAppend(out, name, "{", label1, "=\"", PrometheusLabelValue(a), "\",", label2, "=\"",
                    PrometheusLabelValue(b), "\"} ", value, "\n");
  }
}

}  // namespace

EdgeMetrics::EdgeMetrics(int workers) {
  for (int i = 0; i < workers; ++i) {
    workers_.push_back(std::make_unique<WorkerMetrics>());
  }
}

std::string EdgeMetrics::RenderPrometheus(const GlobalStats& global) const {
  uint64_t origin_errors = 0, origin_retries = 0, latency_count = 0, latency_sum_micros = 0;
  int64_t open = 0;
  std::array<uint64_t, kOriginLatencyBuckets.size() + 1> buckets{};
  for (const auto& w : workers_) {
    origin_errors += w->origin_errors.load(std::memory_order_relaxed);
    origin_retries += w->origin_retries.load(std::memory_order_relaxed);
    open += w->connections_open.load(std::memory_order_relaxed);
    latency_count += w->latency_count.load(std::memory_order_relaxed);
    latency_sum_micros += w->latency_sum_micros.load(std::memory_order_relaxed);
    for (size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += w->latency_buckets[i].load(std::memory_order_relaxed);
    }
  }
  std::string out;
  Header(&out, "certgate_handshakes_total", "counter",
         "TLS handshakes by result (resumed ones are also counted as ok).");
  absl::StrAppend(&out, "certgate_handshakes_total{result=\"ok\"} ", global.handshakes_ok, "\n");
  absl::StrAppend(&out, "certgate_handshakes_total{result=\"failed\"} ", global.handshakes_failed,
                  "\n");
  absl::StrAppend(&out, "certgate_handshakes_total{result=\"resumed\"} ", global.handshakes_resumed,
                  "\n");
  Labeled(&out, workers_, &WorkerMetrics::cert_status, "certgate_cert_status_total",
          "Connections by zone and client certificate status.", "zone", "status");
  Labeled(&out, workers_, &WorkerMetrics::cert_invalid, "certgate_cert_invalid_total",
          "Connections with an invalid client certificate, by zone and reason.", "zone", "reason");
  Scalar(&out, "certgate_verify_cache_hits_total", "counter",
         "Chain verification results answered from the cache.", global.cache_hits);
  Scalar(&out, "certgate_verify_cache_misses_total", "counter",
         "Chain verification lookups not in the cache.", global.cache_misses);
  Scalar(&out, "certgate_verify_cache_evictions_total", "counter",
         "Verification cache entries evicted to stay within capacity.", global.cache_evictions);
  Scalar(&out, "certgate_verify_cache_size", "gauge", "Verification cache entries.",
         global.cache_size);
  Scalar(&out, "certgate_chain_verifications_total", "counter",
         "Full chain walks with signature checks.", global.chain_verifications);
  Scalar(&out, "certgate_cheap_rejections_total", "counter",
         "Client certificates refused before any signature check.", global.cheap_rejections);
  Scalar(&out, "certgate_unknown_sni_total", "counter",
         "Handshakes refused because no zone matched the SNI.", global.unknown_sni);
  Scalar(&out, "certgate_config_version", "gauge", "Config version being served.",
         global.config_version);
  Scalar(&out, "certgate_configs_applied_total", "counter", "Config snapshots and deltas applied.",
         configs_applied_.load());
  Scalar(&out, "certgate_configs_refused_total", "counter",
         "Config snapshots and deltas refused (NACK).", configs_refused_.load());
  Scalar(&out, "certgate_zone_build_failures_total", "counter",
         "Zones of an applied config that failed to build (each kept its previous build, or "
         "is not served).",
         zone_build_failures_.load());
  Scalar(&out, "certgate_zones_failed", "gauge",
         "Zones of the served config version not served as sent (their last build failed).",
         global.zones_failed);
  Scalar(&out, "certgate_config_state_write_errors_total", "counter",
         "Failures writing the applied config to the state dir.", state_write_errors_.load());
  Scalar(&out, "certgate_config_state_bytes_written_total", "counter",
         "Bytes written to the state dir: one log record per applied delta, a snapshot now and "
         "then.",
         state_bytes_written_.load());
  Labeled(&out, workers_, &WorkerMetrics::requests, "certgate_requests_total",
          "HTTP requests by zone and response code.", "zone", "code");
  Scalar(&out, "certgate_origin_errors_total", "counter",
         "Origin connection failures, resets and timeouts.", origin_errors);
  Labeled(&out, workers_, &WorkerMetrics::origin_refused, "certgate_origin_refused_total",
          "Origin connects refused by the origin address policy or because they pointed at "
          "the edge itself, by zone and reason.",
          "zone", "reason");
  Scalar(&out, "certgate_origin_retries_total", "counter",
         "Requests resent on a new connection after a pooled one turned out closed.",
         origin_retries);
  Header(&out, "certgate_origin_latency_seconds", "histogram",
         "Time from forwarding a request to the origin's response headers.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    cumulative += buckets[i];
    std::string le =
        i < kOriginLatencyBuckets.size() ? absl::StrCat(kOriginLatencyBuckets[i]) : "+Inf";
    absl::StrAppend(&out, "certgate_origin_latency_seconds_bucket{le=\"", le, "\"} ", cumulative,
                    "\n");
  }
  absl::StrAppend(&out, "certgate_origin_latency_seconds_sum ",
                  absl::StrFormat("%.6f", latency_sum_micros / 1e6), "\n");
  absl::StrAppend(&out, "certgate_origin_latency_seconds_count ", latency_count, "\n");
  Header(&out, "certgate_connections_open", "gauge", "Client connections open now.");
  absl::StrAppend(&out, "certgate_connections_open ", open, "\n");
  return out;
}

v1::TrafficReport EdgeMetrics::TakeTrafficReport() {
  std::map<std::string, uint64_t> totals;
  for (const auto& w : workers_) {
    w->zone_traffic.ForEach([&](const std::string& key, uint64_t v) { totals[key] += v; });
  }
  absl::MutexLock lock(&traffic_mu_);
  std::map<uint64_t, v1::ZoneCounts> zones;
  for (const auto& [key, total] : totals) {
    uint64_t delta = total - reported_[key];
    reported_[key] = total;
    if (delta == 0) {
      continue;
    }
    auto [zone, status] = SplitLabelKey(key);
    uint64_t zone_id = 0;
    if (!absl::SimpleAtoi(zone, &zone_id)) {
      continue;
    }
    v1::ZoneCounts& counts = zones[zone_id];
    counts.set_zone_id(zone_id);
    if (status == "none") {
      counts.set_none(counts.none() + delta);
    } else if (status == "valid") {
      counts.set_valid(counts.valid() + delta);
    } else if (status == "invalid") {
      counts.set_invalid(counts.invalid() + delta);
    }
  }
  std::map<std::string, uint64_t> rule_totals;
  for (const auto& w : workers_) {
    w->rule_traffic.ForEach([&](const std::string& key, uint64_t v) { rule_totals[key] += v; });
  }
  std::map<std::pair<uint64_t, std::string>, v1::RuleTraffic> rules;
  for (const auto& [key, total] : rule_totals) {
    uint64_t delta = total - reported_[key];
    reported_[key] = total;
    if (delta == 0) {
      continue;
    }
    auto [rule, what] = SplitLabelKey(key);
    std::pair<std::string, std::string> parts = absl::StrSplit(rule, absl::MaxSplits('/', 1));
    uint64_t zone_id = 0;
    if (!absl::SimpleAtoi(parts.first, &zone_id)) {
      continue;
    }
    v1::RuleTraffic& counts = rules[{zone_id, parts.second}];
    counts.set_rule_id(parts.second);
    if (what == "requests") {
      counts.set_requests(counts.requests() + delta);
    } else {
      counts.set_refused(counts.refused() + delta);
    }
  }
  for (auto& [key, counts] : rules) {
    v1::ZoneCounts& zone = zones[key.first];
    zone.set_zone_id(key.first);
    *zone.add_rules() = std::move(counts);
  }
  v1::TrafficReport report;
  for (auto& [id, counts] : zones) {
    *report.add_zones() = std::move(counts);
  }
  return report;
}

}  // namespace certgate::edge
