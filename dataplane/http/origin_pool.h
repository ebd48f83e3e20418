#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dataplane/http/origin_transport.h"

namespace certgate::edge {

// OriginPool keeps a worker's idle keep-alive connections to origins, keyed
// by zone and origin (ZoneConfig::origin_pool_key). A connection opened for one zone is never
// reused for another, so an origin can tell zones apart by connection (and,
// over TLS, by the client certificate each zone presents). One per worker thread, so it needs no
// lock.
class OriginPool {
 public:
  // Up to `max_idle_per_origin` idle connections per key stay for
  // `max_idle_time`. Beyond it the oldest close once idle for
  // `surplus_idle_time`, and at once beyond kSurplusFactor times it: many
  // streams answered in one loop turn (HTTP/2 clients keep many in flight)
  // do not close the connections their next requests, a moment later, would
  // open again.
  static constexpr size_t kSurplusFactor = 4;
  explicit OriginPool(size_t max_idle_per_origin = 64,
                      absl::Duration max_idle_time = absl::Seconds(30),
                      absl::Duration surplus_idle_time = absl::Seconds(1));
  ~OriginPool();
  OriginPool(const OriginPool&) = delete;
  OriginPool& operator=(const OriginPool&) = delete;

  // Take returns an idle connection to `key`, or null. The caller owns it
  // (and points its events at itself: OriginTransport::Watch). A connection
  // whose socket became readable while idle is checked (LooksOpen) and
  // dropped if closed; with `check_open` every connection is (one recv):
  // for a request that could not be retried if the connection turned out
  // closed.
  std::unique_ptr<OriginTransport> Take(const std::string& key, bool check_open);
  // Put hands a connection whose last response ended cleanly back to the
  // pool (which then owns it; an https one keeps its SSL). Its events stay
  // registered and now tell the pool when it becomes readable.
  void Put(const std::string& key, std::unique_ptr<OriginTransport> connection);
  size_t idle_count() const;

 private:
  struct Idle {
    std::unique_ptr<OriginTransport> connection;
    absl::Time since;
  };
  static void OnIdleEvent(void* pool, OriginTransport* connection, short what);
  // Sweep drops expired connections under every key, at most once per
  // max_idle_time: keys of changed zones (and their connections) are never
  // taken again.
  void Sweep(absl::Time now);

  size_t max_idle_per_origin_;
  absl::Duration max_idle_time_;
  absl::Duration surplus_idle_time_;
  absl::Time last_sweep_ = absl::Now();
  absl::flat_hash_map<std::string, std::deque<Idle>> idle_;
};

}  // namespace certgate::edge
