#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "dataplane/metrics/labeled_counter.h"

namespace certgate::edge {

// Upper bounds (seconds) of the origin latency histogram's buckets; +Inf is
// implicit.
inline constexpr std::array<double, 12> kOriginLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

// WorkerMetrics is one worker's counters. Only its worker writes them
// (relaxed atomics); the scrape sums every worker's. No lock is shared
// between workers.
class WorkerMetrics {
 public:
  // CertificateSeen counts one connection's certificate status for a zone.
  void CertificateSeen(absl::string_view zone, absl::string_view status, absl::string_view reason);
  // RequestDone counts one request: its response code and, per zone id, the
  // certificate status the request carried (for the traffic report).
  // RuleMatched counts one request an access rule decided, and whether
  // the rule refused (or in report mode would refuse) it.
  void RuleMatched(uint64_t zone_id, absl::string_view rule_id, bool refused);
  void RequestDone(absl::string_view zone, uint64_t zone_id, int code,
                   absl::string_view cert_status);
  void OriginError();
  // OriginRefused counts a connect the origin guard refused, by zone and
  // reason label (address class, or "own-listener").
  void OriginRefused(absl::string_view zone, absl::string_view label);
  void OriginRetry();
  void OriginLatency(double seconds);
  void ConnectionOpened();
  void ConnectionClosed();

  std::atomic<uint64_t> origin_errors{0};
  std::atomic<uint64_t> origin_retries{0};
  std::atomic<int64_t> connections_open{0};
  std::array<std::atomic<uint64_t>, kOriginLatencyBuckets.size() + 1> latency_buckets{};
  std::atomic<uint64_t> latency_count{0};
  std::atomic<uint64_t> latency_sum_micros{0};
  LabeledCounter cert_status;   // zone, status
  LabeledCounter cert_invalid;  // zone, reason
  LabeledCounter requests;      // zone, code
  LabeledCounter zone_traffic;  // zone id, status
  LabeledCounter rule_traffic;  // "zone id/rule id", "requests" or "refused"
  // Keyed by zone and reason.
  LabeledCounter origin_refused;

 private:
  // The last RequestDone's labels and counters: a worker's requests mostly
  // repeat them, and building the label keys costs more than counting.
  struct LastRequest {
    std::string zone;
    uint64_t zone_id = 0;
    int code = 0;
    std::string cert_status;
    std::atomic<uint64_t>* requests = nullptr;
    std::atomic<uint64_t>* traffic = nullptr;
  };
  LastRequest last_request_;
  // RuleMatched's counters by zone id and rule id, found without building
  // their label keys (which happens once per rule). Grows as rule_traffic
  // does: its keys are never removed either.
  struct RuleSlots {
    std::atomic<uint64_t>* requests = nullptr;
    std::atomic<uint64_t>* refused = nullptr;
  };
  absl::flat_hash_map<uint64_t, absl::flat_hash_map<std::string, RuleSlots>> rule_slots_;
};

}  // namespace certgate::edge
