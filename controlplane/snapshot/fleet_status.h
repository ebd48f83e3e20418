#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certgate/v1/edge_config.pb.h"
#include "certgate/v1/tenant.pb.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// FleetStatus answers "which edges hold which version": acknowledged
// versions come from the store (they survive restarts), whether a stream is
// open and the recent traffic counts are kept in memory.
class FleetStatus {
 public:
  // Traffic is summed over this window, in one-minute buckets.
  static constexpr int64_t kTrafficWindowSeconds = 15 * 60;

  explicit FleetStatus(SqliteStore* store) : store_(store) {}

  void EdgeConnected(const std::string& node_id);
  void EdgeDisconnected(const std::string& node_id);
  void AddTraffic(const certgate::v1::TrafficReport& report, absl::Time now);

  // Fill sets the config version and every edge that ever subscribed.
  absl::Status Fill(certgate::v1::StatusResponse* response);
  // Traffic: counts for one zone over the window ending at `now`.
  certgate::v1::ZoneTraffic Traffic(uint64_t zone_id, absl::Time now);

 private:
  struct Bucket {
    int64_t minute = 0;
    uint64_t none = 0;
    uint64_t valid = 0;
    uint64_t invalid = 0;
  };

  SqliteStore* store_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> connected_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::deque<Bucket>> traffic_ ABSL_GUARDED_BY(mu_);
};

}  // namespace certgate::controlplane
