#pragma once

#include <ares.h>
#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/host_port.h"

namespace certgate::edge {

// OriginResolver turns origin hostnames into addresses without blocking its
// worker: c-ares queries driven by the worker's libevent loop, answers kept
// per their TTL in a bounded cache. Literal addresses never reach c-ares.
// One per worker; used by that worker's thread only.
class OriginResolver {
 public:
  struct Options {
    // "" : the system's resolv.conf. Else c-ares' CSV of servers, each
    // IP or IP:PORT ([v6]:PORT).
    std::string servers;
    absl::Duration timeout = absl::Seconds(2);  // per try
    int tries = 2;
    size_t cache_entries = 1024;
    // Answers are kept at least / at most this long, whatever their TTL.
    absl::Duration min_ttl = absl::Seconds(1);
    absl::Duration max_ttl = absl::Minutes(5);
  };
  using Done = std::function<void(absl::StatusOr<ResolvedAddress>)>;

  // Create: INVALID_ARGUMENT naming the servers when c-ares refuses them.
  static absl::StatusOr<std::unique_ptr<OriginResolver>> Create(event_base* base, Options options);
  ~OriginResolver();
  OriginResolver(const OriginResolver&) = delete;
  OriginResolver& operator=(const OriginResolver&) = delete;

  // Resolve finds `host`'s address with `port`. A literal or a cached name
  // is answered at once: `done` runs before Resolve returns, which returns
  // 0. Else Resolve returns a ticket and `done` runs later from the event
  // loop (NOT_FOUND or DEADLINE_EXCEEDED on failure), unless Cancel(ticket)
  // came first. An IPv4 address is preferred when a name has both.
  uint64_t Resolve(const std::string& host, uint16_t port, Done done);
  void Cancel(uint64_t ticket);

  size_t cached() const { return cache_.size(); }

 private:
  struct CacheEntry {
    sockaddr_storage addr{};  // port 0
    socklen_t len = 0;
    int family = 0;
    absl::Time expires;
  };
  struct Query {
    OriginResolver* resolver;
    uint64_t ticket;
    std::string host;
    uint16_t port;
  };

  // Only Create can make one (std::make_unique needs a public constructor).
  struct Private {
    explicit Private() = default;
  };

 public:
  OriginResolver(Private, event_base* base, Options options);

 private:
  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnSocketEvent(evutil_socket_t fd, short what, void* arg);
  static void OnTimer(evutil_socket_t fd, short what, void* arg);
  static void OnAnswer(void* arg, int status, int timeouts, ares_addrinfo* result);
  void Complete(uint64_t ticket, absl::StatusOr<ResolvedAddress> result);
  void ArmTimer();
  static ResolvedAddress WithPort(const CacheEntry& entry, uint16_t port);

  struct EventFree {
    void operator()(event* ev) const { event_free(ev); }
  };
  using EventPtr = std::unique_ptr<event, EventFree>;

  event_base* base_;
  Options options_;
  ares_channel channel_ = nullptr;
  EventPtr timer_;
  absl::flat_hash_map<ares_socket_t, EventPtr> socket_events_;
  absl::flat_hash_map<uint64_t, Done> pending_;
  absl::flat_hash_map<std::string, CacheEntry> cache_;
  uint64_t next_ticket_ = 1;
  bool destroying_ = false;
};

}  // namespace certgate::edge
