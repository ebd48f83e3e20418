#include "dataplane/tls/verification_cache.h"

#include <algorithm>
#include <list>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace certgate::edge {

namespace {

// MakeKey packs (chain hash, zone id, trust version) into one string so a
// shard needs a single hash map.
std::string MakeKey(absl::string_view chain_hash, uint64_t zone_id, uint64_t trust_version) {
  std::string key(chain_hash);
  for (uint64_t part : {zone_id, trust_version}) {
    for (int i = 0; i < 8; ++i) {
      key.push_back(static_cast<char>((part >> (8 * i)) & 0xff));
    }
  }
  return key;
}

// ShardIndex takes the hash's high bits: each shard's own hash map uses the
// low ones, which would otherwise be the same for every key of a shard.
size_t ShardIndex(const std::string& key, int shard_count) {
  return static_cast<size_t>((absl::Hash<std::string>{}(key) >> 32) %
                             static_cast<uint64_t>(shard_count));
}

}  // namespace

struct VerificationCache::Shard {
  struct Entry {
    std::string key;
    CachedVerdict verdict;
  };
  absl::Mutex mu;
  // Front is the most recently used entry.
  std::list<Entry> lru ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
};

VerificationCache::VerificationCache(size_t capacity, int shards)
    : shard_count_(std::max(1, shards)) {
  capacity_per_shard_ =
      capacity == 0 ? 0 : (capacity + static_cast<size_t>(shard_count_) - 1) / shard_count_;
  shards_ = std::make_unique<Shard[]>(static_cast<size_t>(shard_count_));
}

VerificationCache::~VerificationCache() = default;

std::optional<CachedVerdict> VerificationCache::Lookup(absl::string_view chain_hash,
                                                       uint64_t zone_id, uint64_t trust_version,
                                                       int64_t now_unix) {
  if (capacity_per_shard_ == 0) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  std::string key = MakeKey(chain_hash, zone_id, trust_version);
  Shard& shard = shards_[ShardIndex(key, shard_count_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (it->second->verdict.expires_unix <= now_unix) {
    // An expired verdict is dropped: the certificate (or the hour's bound)
    // has run out and the chain must be checked again.
    shard.lru.erase(it->second);
    shard.index.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->verdict;
}

void VerificationCache::Insert(absl::string_view chain_hash, uint64_t zone_id,
                               uint64_t trust_version, CachedVerdict verdict) {
  if (capacity_per_shard_ == 0) {
    return;
  }
  std::string key = MakeKey(chain_hash, zone_id, trust_version);
  Shard& shard = shards_[ShardIndex(key, shard_count_)];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    it->second->verdict = std::move(verdict);
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  while (shard.lru.size() >= capacity_per_shard_) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
    size_.fetch_sub(1, std::memory_order_relaxed);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Shard::Entry{key, std::move(verdict)});
  shard.index.emplace(std::move(key), shard.lru.begin());
  size_.fetch_add(1, std::memory_order_relaxed);
}

VerificationCacheStats VerificationCache::Stats() const {
  VerificationCacheStats stats;
  stats.hits = hits_.load(std::memory_order_relaxed);
  stats.misses = misses_.load(std::memory_order_relaxed);
  stats.evictions = evictions_.load(std::memory_order_relaxed);
  stats.size = size_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace certgate::edge
