#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certgate::edge {

// OriginPool keeps a worker's idle keep-alive connections to origins, keyed
// by zone and origin (Key). One per worker thread, so it needs no lock.
class OriginPool {
 public:
  explicit OriginPool(size_t max_idle_per_origin = 64,
                      absl::Duration max_idle_time = absl::Seconds(30));
  ~OriginPool();
  OriginPool(const OriginPool&) = delete;
  OriginPool& operator=(const OriginPool&) = delete;

  // Key names the pool of one zone's connections to one origin. The zone is
  // part of it: a connection opened for one zone is never reused for
  // another, so an origin can tell zones apart by connection (and, over TLS,
  // by the client certificate each zone's connections present).
  static std::string Key(uint64_t zone_id, absl::string_view host, uint16_t port);

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
