#include "dataplane/tls/zone_ssl_context_cache.h"

#include <algorithm>
#include <utility>

#include "dataplane/tls/zone_ssl_context.h"
#include "dataplane/tls/zone_trust.h"
#include "openssl/ssl.h"

namespace certgate::edge {

namespace {

bssl::UniquePtr<SSL_CTX> NewReference(SSL_CTX* ctx) {
  SSL_CTX_up_ref(ctx);
  return bssl::UniquePtr<SSL_CTX>(ctx);
}

}  // namespace

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ZoneSslContextCache::Get(ZoneContextKey key,
                                                                  const v1::EdgeZone& zone,
                                                                  const ZoneTrust& trust) {
  return Get(
      key, [&zone] { return zone; }, trust);
}

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ZoneSslContextCache::Get(
    ZoneContextKey key, absl::FunctionRef<v1::EdgeZone()> make_zone, const ZoneTrust& trust) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key.zone_id);
    if (it != entries_.end() && it->second.build_serial == key.build_serial) {
      lru_.splice(lru_.begin(), lru_, it->second.position);
      return NewReference(it->second.ctx.get());
    }
  }
  // Built without the lock: two workers may build the same zone at once;
  // the second simply replaces the first's entry.
  v1::EdgeZone zone = make_zone();
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> built = NewZoneSslContext(zone, trust);
  absl::MutexLock lock(&mu_);
  ++builds_;
  if (!built.ok()) {
    auto [it, inserted] = failures_.try_emplace(key.zone_id);
    if (inserted || it->second.key.build_serial != key.build_serial) {
      ++failure_generation_;
    }
    it->second = ZoneContextFailure{key, zone.hostname(), std::string(built.status().message())};
    return built.status();
  }
  failures_.erase(key.zone_id);
  bssl::UniquePtr<SSL_CTX> result = NewReference(built->get());
  auto it = entries_.find(key.zone_id);
  if (it != entries_.end()) {
    // The zone changed (or another worker built it first): replace.
    it->second.build_serial = key.build_serial;
    it->second.ctx = *std::move(built);
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return result;
  }
  lru_.push_front(key.zone_id);
  entries_.emplace(key.zone_id, Entry{key.build_serial, *std::move(built), lru_.begin()});
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  return result;
}

std::vector<ZoneContextFailure> ZoneSslContextCache::Failures(
    absl::FunctionRef<bool(ZoneContextKey)> current) {
  std::vector<ZoneContextFailure> out;
  absl::MutexLock lock(&mu_);
  for (auto it = failures_.begin(); it != failures_.end();) {
    if (!current(it->second.key)) {
      failures_.erase(it++);  // changed or gone: that failure is over
      continue;
    }
    out.push_back(it->second);
    ++it;
  }
  std::sort(out.begin(), out.end(), [](const ZoneContextFailure& a, const ZoneContextFailure& b) {
    return a.key.zone_id < b.key.zone_id;
  });
  return out;
}

uint64_t ZoneSslContextCache::failure_generation() const {
  absl::MutexLock lock(&mu_);
  return failure_generation_;
}

size_t ZoneSslContextCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

uint64_t ZoneSslContextCache::builds() const {
  absl::MutexLock lock(&mu_);
  return builds_;
}

}  // namespace certgate::edge
