#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.pb.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {

// GlobalStats are the process-wide numbers that live outside the workers
// (TLS server, verification cache, config), gathered at scrape time.
struct GlobalStats {
  uint64_t handshakes_ok = 0;
  uint64_t handshakes_failed = 0;
  uint64_t handshakes_resumed = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t cache_evictions = 0;
  uint64_t cache_size = 0;
  uint64_t chain_verifications = 0;
  uint64_t cheap_rejections = 0;
  uint64_t unknown_sni = 0;
  uint64_t config_version = 0;
  uint64_t zones_failed = 0;  // zones of the served version not served as sent
};

// EdgeMetrics owns one WorkerMetrics per worker and sums them when scraped.
class EdgeMetrics {
 public:
  explicit EdgeMetrics(int workers);

  WorkerMetrics* worker(int i) { return workers_[i].get(); }
  int worker_count() const { return static_cast<int>(workers_.size()); }

  // Config events (subscription thread).
  void ConfigApplied(bool applied) {
    (applied ? configs_applied_ : configs_refused_).fetch_add(1, std::memory_order_relaxed);
  }
  // ZoneBuildFailures: `count` zones failed to build in one config message.
  void ZoneBuildFailures(size_t count) {
    zone_build_failures_.fetch_add(count, std::memory_order_relaxed);
  }
  void StateWriteError() { state_write_errors_.fetch_add(1, std::memory_order_relaxed); }
  // StateBytesWritten: bytes written to the state dir (log records, snapshots).
  void StateBytesWritten(uint64_t bytes) {
    state_bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
  }

  // RenderPrometheus returns the text exposition format (version 0.0.4).
  std::string RenderPrometheus(const GlobalStats& global) const;

  // TakeTrafficReport returns the per-zone certificate-status request counts
  // since the previous call.
  v1::TrafficReport TakeTrafficReport();

 private:
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::atomic<uint64_t> configs_applied_{0};
  std::atomic<uint64_t> configs_refused_{0};
  std::atomic<uint64_t> state_write_errors_{0};
  std::atomic<uint64_t> state_bytes_written_{0};
  std::atomic<uint64_t> zone_build_failures_{0};
  absl::Mutex traffic_mu_;
  // Totals at the previous report, by (zone id, status) key.
  std::map<std::string, uint64_t> reported_ ABSL_GUARDED_BY(traffic_mu_);
};

}  // namespace certgate::edge
