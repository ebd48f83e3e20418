#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace certgate::edge {

// The cached outcome of a chain check (never of the CertificateVerify
// signature, which the TLS stack checks on every handshake).
struct CachedVerdict {
  bool valid = false;
  std::string reason;        // "" when valid
  int64_t expires_unix = 0;  // never outlives the leaf's notAfter
  std::string ski_hex;       // the leaf's SKI, so that a hit needs no parse
  // Subjects (DER) of the CAs the chain walk went through, the leaf's issuer
  // first; null unless valid. Access rules' issuer constraints read these,
  // never the certificates a client merely sent along.
  std::shared_ptr<const std::vector<std::string>> issuer_names_der;
};

struct VerificationCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t size = 0;
};

// VerificationCache is a bounded, sharded map from (hash of the presented
// chain, zone id, zone trust version) to a verdict. Each shard has its own
// lock and LRU; the lock is the only one on the handshake path.
class VerificationCache {
 public:
  VerificationCache(size_t capacity, int shards);
  ~VerificationCache();

  // Lookup returns the verdict if present and not expired at `now_unix`.
  std::optional<CachedVerdict> Lookup(absl::string_view chain_hash, uint64_t zone_id,
                                      uint64_t trust_version, int64_t now_unix);
  void Insert(absl::string_view chain_hash, uint64_t zone_id, uint64_t trust_version,
              CachedVerdict verdict);
  VerificationCacheStats Stats() const;
  // Capacity: entries the cache can hold (0 when disabled).
  size_t Capacity() const { return capacity_per_shard_ * static_cast<size_t>(shard_count_); }

 private:
  struct Shard;
  size_t capacity_per_shard_;
  std::unique_ptr<Shard[]> shards_;
  int shard_count_;
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0};
  std::atomic<uint64_t> size_{0};
};

}  // namespace certgate::edge
