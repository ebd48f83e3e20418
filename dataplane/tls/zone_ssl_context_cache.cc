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

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> ZoneSslContextCache::Get(const ZoneConfig& zone) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(zone.id);
    if (it != entries_.end() && it->second.build_serial == zone.build_serial) {
      lru_.splice(lru_.begin(), lru_, it->second.position);
      return NewReference(it->second.ctx.get());
    }
  }
  // Built without the lock: two workers may build the same zone at once;
  // the second simply replaces the first's entry.
  absl::StatusOr<bssl::UniquePtr<SSL_CTX>> built = NewZoneSslContext(zone.source, *zone.trust);
  absl::MutexLock lock(&mu_);
  ++builds_;
  if (!built.ok()) {
    auto [it, inserted] = failures_.try_emplace(zone.id);
    if (inserted || it->second.build_serial != zone.build_serial) {
      ++failure_generation_;
    }
    it->second = Failure{zone.build_serial, ZoneFailure{zone.id, zone.hostname,
                                                        std::string(built.status().message())}};
    return built.status();
  }
  failures_.erase(zone.id);
  bssl::UniquePtr<SSL_CTX> result = NewReference(built->get());
  auto it = entries_.find(zone.id);
  if (it != entries_.end()) {
    // The zone changed (or another worker built it first): replace.
    it->second.build_serial = zone.build_serial;
    it->second.ctx = *std::move(built);
    lru_.splice(lru_.begin(), lru_, it->second.position);
    return result;
  }
  lru_.push_front(zone.id);
  entries_.emplace(zone.id, Entry{zone.build_serial, *std::move(built), lru_.begin()});
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  return result;
}

std::vector<ZoneFailure> ZoneSslContextCache::Failures(const EdgeConfig& config) {
  std::vector<ZoneFailure> out;
  absl::MutexLock lock(&mu_);
  for (auto it = failures_.begin(); it != failures_.end();) {
    const ZoneConfig* zone = config.FindById(it->first);
    if (zone == nullptr || zone->build_serial != it->second.build_serial) {
      failures_.erase(it++);  // changed or gone: that failure is over
      continue;
    }
    out.push_back(it->second.failure);
    ++it;
  }
  std::sort(out.begin(), out.end(),
            [](const ZoneFailure& a, const ZoneFailure& b) { return a.zone_id < b.zone_id; });
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
