#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace certgate::controlplane {

class ZoneManager;

// OriginCertRenewer is the periodic task that keeps edge-CA origin client
// certificates from expiring: every `interval` (and once at Start) it asks
// ZoneManager to re-issue those near expiry, which commits a config version
// that reaches every edge.
class OriginCertRenewer {
 public:
  OriginCertRenewer(ZoneManager* zones, absl::Duration interval)
      : zones_(zones), interval_(interval) {}
  ~OriginCertRenewer() { Stop(); }
  OriginCertRenewer(const OriginCertRenewer&) = delete;
  OriginCertRenewer& operator=(const OriginCertRenewer&) = delete;

  void Start();
  // Stop wakes the thread and joins it; safe to call twice.
  void Stop();

 private:
  void Run();

  ZoneManager* zones_;
  absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace certgate::controlplane
