#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"

namespace certgate::edge {

class ZoneTrust;

// ZoneContextKey names one build of a zone: its id and the serial its
// config layer gave that build (a changed zone has a new serial).
struct ZoneContextKey {
  uint64_t zone_id = 0;
  uint64_t build_serial = 0;
};

// ZoneContextFailure: a zone build whose SSL_CTX failed when first used.
struct ZoneContextFailure {
  ZoneContextKey key;
  std::string hostname;  // as sent, for the edge's own log
  std::string error;     // NewZoneSslContext's message
};

// ZoneSslContextCache holds the SSL_CTX of the zones in use, built when a
// zone's hostname is first seen in SNI rather than when the config is
// applied: at 100,000 zones most are idle, and an SSL_CTX is the largest
// part of a built zone. Bounded (least recently used out); an entry is for
// one build of a zone, so a changed zone gets a new context on first use
// and its old one is dropped then (connections hold their own reference).
// One cache for every worker: a mutex around a hash map and a list, held for
// a lookup only, never while a context is built.
//
// Keyed and fed by what the TLS layer knows (the zone's proto and trust
// store), so the layers above decide what a zone build is.
//
// A zone passed the cheap apply-time check (CheckZoneServerIdentity) but can
// still fail here; such a failure fails that handshake only and is listed
// in Failures() until the zone changes, for the next Ack.
class ZoneSslContextCache {
 public:
  explicit ZoneSslContextCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Get returns the SSL_CTX of build `key` (a new reference), building it
  // from `zone` and `trust` if needed.
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> Get(ZoneContextKey key, const v1::EdgeZone& zone,
                                               const ZoneTrust& trust);
  // The same, the zone made by `zone` only when its context is built (the
  // config layer keeps zones compact, not as protos).
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> Get(ZoneContextKey key,
                                               absl::FunctionRef<v1::EdgeZone()> zone,
                                               const ZoneTrust& trust);

  // Failures: the builds that failed at first use and for which `current`
  // (called under the cache's lock; keep it cheap) says the build still
  // serves; the others are dropped from the list. Sorted by zone id.
  std::vector<ZoneContextFailure> Failures(absl::FunctionRef<bool(ZoneContextKey)> current);
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

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by zone id
  std::list<uint64_t> lru_ ABSL_GUARDED_BY(mu_);                       // most recent first
  absl::flat_hash_map<uint64_t, ZoneContextFailure> failures_ ABSL_GUARDED_BY(mu_);
  uint64_t failure_generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t builds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace certgate::edge
