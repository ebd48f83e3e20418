#include "dataplane/http/origin_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace certgate::edge {
namespace {

// Literal: an IPv4 or IPv6 address written out, with `port`.
bool Literal(const std::string& host, uint16_t port, ResolvedAddress* out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out->len = sizeof(sockaddr_in);
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof(sockaddr_in6);
    out->family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OriginResolver>> OriginResolver::Create(event_base* base,
                                                                       Options options) {
  static std::once_flag init_once;
  static int init_status = ARES_SUCCESS;
  std::call_once(init_once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(init_status)));
  }
  auto resolver = std::make_unique<OriginResolver>(Private(), base, options);
  ares_options opts{};
  opts.sock_state_cb = &OriginResolver::OnSocketState;
  opts.sock_state_cb_data = resolver.get();
  opts.timeout = static_cast<int>(absl::ToInt64Milliseconds(options.timeout));
  opts.tries = options.tries;
  // "fb": /etc/hosts first (localhost), then DNS.
  opts.lookups = const_cast<char*>("fb");
  int rc = ares_init_options(
      &resolver->channel_, &opts,
      ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS);
  if (rc != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("c-ares: ", ares_strerror(rc)));
  }
  if (!options.servers.empty()) {
    rc = ares_set_servers_ports_csv(resolver->channel_, options.servers.c_str());
    if (rc != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("DNS servers \"", options.servers, "\": ", ares_strerror(rc)));
    }
  }
  resolver->timer_.reset(evtimer_new(base, &OriginResolver::OnTimer, resolver.get()));
  return resolver;
}

OriginResolver::OriginResolver(Private, event_base* base, Options options)
    : base_(base), options_(std::move(options)) {}

OriginResolver::~OriginResolver() {
  destroying_ = true;
  pending_.clear();  // ares_destroy calls back every query: nobody is told
  if (channel_ != nullptr) {
    ares_destroy(channel_);
  }
  socket_events_.clear();
}

uint64_t OriginResolver::Resolve(const std::string& host, uint16_t port, Done done) {
  ResolvedAddress literal;
  if (Literal(host, port, &literal)) {
    done(literal);
    return 0;
  }
  std::string key = absl::AsciiStrToLower(host);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    if (absl::Now() < it->second.expires) {
      done(WithPort(it->second, port));
      return 0;
    }
    cache_.erase(it);
  }
  uint64_t ticket = next_ticket_++;
  pending_[ticket] = std::move(done);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // c-ares hands the query back to OnAnswer, which owns it again.
  auto query = std::make_unique<Query>(Query{this, ticket, key, port});
  ares_getaddrinfo(channel_, key.c_str(), nullptr, &hints, &OriginResolver::OnAnswer,
                   query.release());
  // The answer may already have come (hosts file, an immediate failure).
  if (pending_.contains(ticket)) {
    ArmTimer();
    return ticket;
  }
  return 0;
}

void OriginResolver::Cancel(uint64_t ticket) {
  // The query goes on (c-ares cannot cancel one query); its answer still
  // fills the cache.
  pending_.erase(ticket);
}

ResolvedAddress OriginResolver::WithPort(const CacheEntry& entry, uint16_t port) {
  ResolvedAddress out;
  memcpy(&out.addr, &entry.addr, entry.len);
  out.len = entry.len;
  out.family = entry.family;
  if (entry.family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out.addr)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&out.addr)->sin6_port = htons(port);
  }
  return out;
}

void OriginResolver::OnAnswer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  std::unique_ptr<Query> query(static_cast<Query*>(arg));
  OriginResolver* self = query->resolver;
  if (self->destroying_) {
    if (result != nullptr) {
      ares_freeaddrinfo(result);
    }
    return;
  }
  const ares_addrinfo_node* chosen = nullptr;
  for (const ares_addrinfo_node* node = result != nullptr ? result->nodes : nullptr;
       node != nullptr; node = node->ai_next) {
    if (node->ai_family != AF_INET && node->ai_family != AF_INET6) {
      continue;
    }
    if (chosen == nullptr || (chosen->ai_family != AF_INET && node->ai_family == AF_INET)) {
      chosen = node;
    }
  }
  if (status != ARES_SUCCESS || chosen == nullptr) {
    if (result != nullptr) {
      ares_freeaddrinfo(result);
    }
    std::string why =
        absl::StrCat("cannot resolve \"", query->host,
                     "\": ", status == ARES_SUCCESS ? "no address" : ares_strerror(status));
    self->Complete(query->ticket, status == ARES_ETIMEOUT ? absl::DeadlineExceededError(why)
                                                          : absl::NotFoundError(why));
    return;
  }
  CacheEntry entry;
  memcpy(&entry.addr, chosen->ai_addr, chosen->ai_addrlen);
  entry.len = chosen->ai_addrlen;
  entry.family = chosen->ai_family;
  absl::Duration ttl = std::clamp(absl::Seconds(std::max(chosen->ai_ttl, 0)),
                                  self->options_.min_ttl, self->options_.max_ttl);
  entry.expires = absl::Now() + ttl;
  ares_freeaddrinfo(result);
  if (self->options_.cache_entries > 0) {
    if (self->cache_.size() >= self->options_.cache_entries) {
      // Bounded: drop the expired ones, else any one (names are few).
      absl::Time now = absl::Now();
      absl::erase_if(self->cache_, [now](const auto& kv) { return kv.second.expires <= now; });
      if (self->cache_.size() >= self->options_.cache_entries) {
        self->cache_.erase(self->cache_.begin());
      }
    }
    self->cache_[query->host] = entry;
  }
  self->Complete(query->ticket, WithPort(entry, query->port));
}

void OriginResolver::Complete(uint64_t ticket, absl::StatusOr<ResolvedAddress> result) {
  auto it = pending_.find(ticket);
  if (it == pending_.end()) {
    return;  // cancelled
  }
  Done done = std::move(it->second);
  pending_.erase(it);
  done(std::move(result));
}

void OriginResolver::OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<OriginResolver*>(data);
  if (self->destroying_) {
    return;
  }
  self->socket_events_.erase(fd);
  if (!readable && !writable) {
    return;  // c-ares closed it
  }
  short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  EventPtr ev(event_new(self->base_, fd, what, &OriginResolver::OnSocketEvent, self));
  event_add(ev.get(), nullptr);
  self->socket_events_[fd] = std::move(ev);
}

void OriginResolver::OnSocketEvent(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<OriginResolver*>(arg);
  ares_process_fd(self->channel_, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->ArmTimer();
}

void OriginResolver::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<OriginResolver*>(arg);
  ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->ArmTimer();
}

void OriginResolver::ArmTimer() {
  timeval max{1, 0};
  timeval tv{};
  if (ares_timeout(channel_, &max, &tv) == nullptr) {
    evtimer_del(timer_.get());
    return;
  }
  evtimer_add(timer_.get(), &tv);
}

}  // namespace certgate::edge
