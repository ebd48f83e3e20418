#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <string>
#include <vector>

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

  // StatusScope: whose zone failures a status call may see.
  struct StatusScope {
    bool admin = false;     // every zone's failures and the edges' own NACK words
    std::string tenant_id;  // else only this tenant's zones...
    uint64_t zone_id = 0;   // ...and, when set, only this zone
  };

  void EdgeConnected(const std::string& node_id);
  void EdgeDisconnected(const std::string& node_id);
  void AddTraffic(const certgate::v1::TrafficReport& report, absl::Time now);
  // SetZoneFailures replaces what `node_id` last said about the zones it
  // could not build (its Hello or latest Ack), keyed by zone id. In memory
  // only: every edge says it again in the Hello of its next stream. True
  // when the set of failing zones or their errors changed.
  //
  // The failure listener (if set) hears each zone error an edge reports that
  // differs from what it last reported for that zone, without the lock held.
  using FailureListener = std::function<void(const std::string& node_id, uint64_t version,
                                             uint64_t zone_id, const std::string& error)>;
  void SetFailureListener(FailureListener listener) { failure_listener_ = std::move(listener); }
  bool SetZoneFailures(
      const std::string& node_id, uint64_t version,
      const google::protobuf::RepeatedPtrField<certgate::v1::ZoneBuildFailure>& failures);

  // Fill sets the config version and every edge that ever subscribed, with
  // the zone failures `scope` may see; another tenant's hostnames and errors
  // never appear in a tenant's answer, not even inside a NACK's text.
  absl::Status Fill(certgate::v1::StatusResponse* response, const StatusScope& scope);
  // ZoneFailures: every edge's failure for one zone, hostname unset.
  std::vector<certgate::v1::ZoneBuildFailureStatus> ZoneFailures(uint64_t zone_id);
  // Traffic: counts for one zone over the window ending at `now`.
  certgate::v1::ZoneTraffic Traffic(uint64_t zone_id, absl::Time now);

 private:
  struct Bucket {
    int64_t minute = 0;
    uint64_t none = 0;
    uint64_t valid = 0;
    uint64_t invalid = 0;
    // Per access rule id: requests matched, refused.
    std::map<std::string, std::pair<uint64_t, uint64_t>> rules;
  };

  SqliteStore* store_;
  FailureListener failure_listener_;  // set before any edge connects
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> connected_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::deque<Bucket>> traffic_ ABSL_GUARDED_BY(mu_);
  struct EdgeFailures {
    uint64_t version = 0;
    absl::flat_hash_map<uint64_t, std::string> errors;  // by zone id
  };
  absl::flat_hash_map<std::string, EdgeFailures> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace certgate::controlplane
