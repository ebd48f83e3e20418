#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dataplane/config/edge_config.h"
#include "openssl/base.h"

namespace certgate::edge {

// ZoneSslContextCache holds the SSL_CTX of the zones in use, built when a
// zone's hostname is first seen in SNI rather than when the config is
// applied: at 100,000 zones most are idle, and an SSL_CTX is the largest
// part of a built zone. Bounded (least recently used out); an entry is for
// one build of a zone, so a changed zone gets a new context on first use
// and its old one is dropped then (connections hold their own reference).
// One cache for every worker: a mutex around a hash map and a list, held for
// a lookup only, never while a context is built.
//
// A zone passed the cheap apply-time check (CheckZoneServerIdentity) but can
// still fail here; such a failure fails that handshake only and is listed
// in Failures() until the zone changes, for the next Ack.
class ZoneSslContextCache {
 public:
  explicit ZoneSslContextCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Get returns the zone's SSL_CTX (a new reference), building it if needed.
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> Get(const ZoneConfig& zone);

  // Failures: the builds that failed at first use, for zones still as they
  // were then in `config` (a zone changed since is dropped from the list).
  std::vector<ZoneFailure> Failures(const EdgeConfig& config);
  // failure_generation grows with every new failure (to tell when to report).
  uint64_t failure_generation() const;

  size_t size() const;
  uint64_t builds() const;
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    uint64_t build_serial = 0;
    bssl::UniquePtr<SSL_CTX> ctx;
    std::list<uint64_t>::iterator position;  // in lru_
  };
  struct Failure {
    uint64_t build_serial = 0;
    ZoneFailure failure;
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by zone id
  std::list<uint64_t> lru_ ABSL_GUARDED_BY(mu_);                       // most recent first
  absl::flat_hash_map<uint64_t, Failure> failures_ ABSL_GUARDED_BY(mu_);
  uint64_t failure_generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t builds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace certgate::edge
