#pragma once

#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace certgate::edge {

// OriginPool keeps a worker's idle keep-alive connections to origins, keyed
// by "host:port". One per worker thread, so it needs no lock.
class OriginPool {
 public:
  explicit OriginPool(size_t max_idle_per_origin = 64,
                      absl::Duration max_idle_time = absl::Seconds(30));
  ~OriginPool();
  OriginPool(const OriginPool&) = delete;
  OriginPool& operator=(const OriginPool&) = delete;

  // Take returns an idle socket to `key` that still looks open, or -1. The
  // caller owns the socket.
  int Take(const std::string& key);
  // Put hands a socket whose last response ended cleanly back to the pool
  // (which then owns it).
  void Put(const std::string& key, int fd);
  size_t idle_count() const;

 private:
  struct Idle {
    int fd;
    absl::Time since;
  };
  size_t max_idle_per_origin_;
  absl::Duration max_idle_time_;
  absl::flat_hash_map<std::string, std::deque<Idle>> idle_;
};

}  // namespace certgate::edge
