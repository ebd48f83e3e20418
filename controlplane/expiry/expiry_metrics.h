#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// ExpiryMetrics renders the control plane's Prometheus text: seconds until
// every zone's roots, intermediates, server and origin client certificates
// expire and its CRLs' nextUpdate passes, labelled by tenant, zone, kind,
// subject and id; and counts of tenants, zones, connected edges and the
// config version. The labelled dates are read from the store once per config
// version (no certificate is parsed: the dates were kept at upload), so a
// scrape between changes only formats numbers.
class ExpiryMetrics {
 public:
  ExpiryMetrics(SqliteStore* store, FleetStatus* fleet) : store_(store), fleet_(fleet) {}

  // Render: the metrics as of `now`; a store error becomes a comment line
  // and the last good dates.
  std::string Render(absl::Time now);

 private:
  struct Series {
    std::string labels;  // `{tenant="...",zone="...",...}`
    int64_t expires_unix = 0;
  };
  struct Snapshot {
    uint64_t version = 0;
    bool loaded = false;
    std::vector<Series> series;
    int64_t tenants = 0;
    int64_t zones_active = 0;
    int64_t zones_pending = 0;
  };

  // Reload reads the store when its config version moved since the cache:
  // one short read per tenant rather than one long one.
  absl::Status Reload() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SqliteStore* store_;
  FleetStatus* fleet_;
  absl::Mutex mu_;
  Snapshot cache_ ABSL_GUARDED_BY(mu_);
  int64_t reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace certgate::controlplane
