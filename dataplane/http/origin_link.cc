#include "dataplane/http/origin_link.h"

#include <event2/buffer.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/worker_context.h"

namespace certgate::edge {

OriginLink::OriginLink(WorkerContext* ctx, Owner* owner)
    : ctx_(ctx), owner_(owner), timer_(evtimer_new(ctx->base, &OnTimer, this)) {}

OriginLink::~OriginLink() { Release(false, ""); }

bool OriginLink::TakePooled(const std::string& pool_key, bool check_open) {
  transport_ = ctx_->origins->Take(pool_key, check_open);
  if (transport_ == nullptr) {
    return false;
  }
  reused_ = true;
  answered_ = false;
  transport_->Watch(ctx_->base, &OnSocketEvent, this);
  Connected();
  return true;
}

void OriginLink::Connect(const OriginDialTarget& target, evbuffer* early) {
  target_ = target;
  resolving_ = true;
  resolve_inline_ = true;
  uint64_t ticket = ctx_->resolver->Resolve(std::string(target_.host), target_.port,
                                            [this, early](absl::StatusOr<ResolvedAddress> addr) {
                                              resolving_ = false;
                                              resolve_ticket_ = 0;
                                              bool from_loop = !resolve_inline_;
                                              Resolved(std::move(addr), early);
                                              if (from_loop) {
                                                owner_->OnLinkEvent(0);
                                              }
                                            });
  resolve_inline_ = false;
  if (resolving_) {
    // The lookup is part of connecting: the connect timeout covers it.
    resolve_ticket_ = ticket;
    ArmTimer(ctx_->options->origin_connect_timeout);
  }
}

void OriginLink::Resolved(absl::StatusOr<ResolvedAddress> addr, evbuffer* early) {
  if (!addr.ok()) {
    owner_->OnLinkFailed(absl::IsDeadlineExceeded(addr.status()) ? 504 : 502,
                         addr.status().message());
    return;
  }
  absl::StatusOr<OriginDial> dial = DialOrigin(*ctx_, *addr, target_, &OnSocketEvent, this);
  if (!dial.ok()) {
    owner_->OnLinkFailed(502, dial.status().message());
    return;
  }
  transport_ = std::move(dial->transport);
  reused_ = false;
  answered_ = false;
  if (!dial->connecting) {
    Connected();
    return;
  }
  // A near origin (loopback, the same host) has often accepted already: a
  // plain one takes the first bytes at once, which spares watching for
  // writability and the SO_ERROR check. A socket still connecting says
  // EAGAIN, and the connect goes on as usual.
  if (early != nullptr && !transport_->tls() && evbuffer_get_length(early) > 0) {
    if (transport_->Write(early) > 0) {
      Connected();
      return;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      owner_->OnLinkFailed(502, absl::StrCat("origin connect failed: ", strerror(errno)));
      return;
    }
  }
  connecting_ = true;
  ArmTimer(ctx_->options->origin_connect_timeout);
  UpdateEvents(false, true);
}

void OriginLink::Connected() {
  connecting_ = false;
  // A TLS handshake is part of connecting: it gets the connect timeout.
  bool handshaking = transport_->handshaking();
  ArmTimer(handshaking ? ctx_->options->origin_connect_timeout : ctx_->options->origin_timeout);
  if (handshaking) {
    Handshake();
  }
}

void OriginLink::Handshake() {
  absl::StatusOr<bool> done = AdvanceOriginHandshake(*ctx_, *transport_, target_);
  if (!done.ok()) {
    owner_->OnLinkFailed(502, done.status().message());
  } else if (*done) {
    ArmTimer(ctx_->options->origin_timeout);
  }
}

bool OriginLink::ready() const {
  return transport_ != nullptr && !connecting_ && !transport_->handshaking();
}

void OriginLink::OnSocketEvent(void* arg, OriginTransport*, short what) {
  auto* self = static_cast<OriginLink*>(arg);
  if (self->connecting_) {
    absl::Status connected = ConnectResult(*self->transport_);
    if (!connected.ok()) {
      self->owner_->OnLinkFailed(502, connected.message());
      self->owner_->OnLinkEvent(what);
      return;
    }
    self->Connected();
  } else if (self->transport_ != nullptr && self->transport_->handshaking()) {
    self->Handshake();
  }
  self->owner_->OnLinkEvent(what);
}

void OriginLink::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<OriginLink*>(arg);
  if (self->resolving_) {
    self->owner_->OnLinkFailed(
        504, absl::StrCat("resolving the origin \"", self->target_.host, "\" timed out"));
  } else if (self->connecting_) {
    self->owner_->OnLinkFailed(504, "origin connect timed out");
  } else if (self->transport_ != nullptr && self->transport_->handshaking()) {
    self->owner_->OnLinkFailed(504, "origin TLS handshake timed out");
  } else {
    self->owner_->OnLinkTimeout();
    return;
  }
  self->owner_->OnLinkEvent(0);
}

void OriginLink::ArmTimer(absl::Duration d) {
  timeval tv = absl::ToTimeval(d);
  evtimer_add(timer_.get(), &tv);
}

void OriginLink::StopTimer() { evtimer_del(timer_.get()); }

void OriginLink::UpdateEvents(bool read, bool write) {
  if (transport_ == nullptr) {
    return;
  }
  if (connecting_) {
    read = false;
    write = true;
  } else if (transport_->handshaking()) {
    read = transport_->wants_read();
    write = transport_->wants_write();
  }
  transport_->WatchRead(read);
  transport_->WatchWrite(write);
  // Like the client side: bytes decrypted inside the origin's SSL never
  // make its socket readable.
  if (read && ready() && transport_->Pending()) {
    transport_->ActivateRead();
  }
}

void OriginLink::Release(bool reusable, const std::string& pool_key) {
  if (resolving_) {
    ctx_->resolver->Cancel(resolve_ticket_);
    resolving_ = false;
    resolve_ticket_ = 0;
  }
  if (timer_ != nullptr) {
    evtimer_del(timer_.get());
  }
  if (transport_ != nullptr) {
    if (reusable && ready()) {
      ctx_->origins->Put(pool_key, std::move(transport_));
    }
    transport_.reset();  // closes the socket (after a close_notify over TLS)
  }
  connecting_ = false;
  reused_ = false;
  answered_ = false;
}

std::unique_ptr<OriginTransport> OriginLink::TakeTransport() {
  if (transport_ != nullptr) {
    transport_->Unwatch();
  }
  StopTimer();
  return std::move(transport_);
}

}  // namespace certgate::edge
