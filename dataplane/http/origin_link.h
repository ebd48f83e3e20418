#pragma once

#include <event2/event.h>
#include <event2/util.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/origin_dial.h"

namespace certgate::edge {

class OriginTransport;
struct WorkerContext;

// OriginLink is an HTTP/1.1 origin client's hold on one origin connection,
// from getting it to giving it back: one from the worker's pool, or a new
// one (the name resolved without blocking, DialOrigin, the non-blocking
// connect and an https origin's TLS handshake, all under the connect
// timeout), then its socket events and the origin timeout while the request
// runs. The two HTTP/1.1 origin clients, UpstreamExchange (for HTTP/1.1
// clients) and Http1StreamUpstream (for HTTP/2 streams), each hold one and
// keep the HTTP: what goes out, the response parser, when to retry.
class OriginLink {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // No connection: the lookup, connect or handshake failed (502) or timed
    // out (504). The owner fails the request, which releases the link.
    virtual void OnLinkFailed(int status, absl::string_view why) = 0;
    // From the loop, after the link's own step: the socket signalled `what`
    // (EV_READ, EV_WRITE), or a lookup was answered (0), or OnLinkFailed
    // was just called. The owner reads, writes and sets the events.
    virtual void OnLinkEvent(short what) = 0;
    // The timer ran out once the connection was up (ArmTimer's duration,
    // the origin timeout).
    virtual void OnLinkTimeout() = 0;
  };

  OriginLink(WorkerContext* ctx, Owner* owner);
  ~OriginLink();
  OriginLink(const OriginLink&) = delete;
  OriginLink& operator=(const OriginLink&) = delete;

  // TakePooled takes an idle connection to `pool_key` from the pool (checked
  // for a close first when `check_open`); false when there is none.
  bool TakePooled(const std::string& pool_key, bool check_open);
  // Connect makes a new connection to `target` (its strings must outlive the
  // link's use). A literal or cached name connects before Connect returns;
  // failures then come inside it, through OnLinkFailed. `early` (may be
  // null): bytes for a plain origin, written the moment the socket takes
  // them, which for a near origin is often before the connect reports done.
  void Connect(const OriginDialTarget& target, evbuffer* early);

  // ready: connected, and an https origin's handshake done.
  bool ready() const;
  OriginTransport* transport() const { return transport_.get(); }
  // reused: the connection came from the pool; answered: the origin has
  // sent something on it (a reused connection that closes unanswered may
  // be retried on a new one).
  bool reused() const { return reused_; }
  bool answered() const { return answered_; }
  void MarkAnswered() { answered_ = true; }

  void ArmTimer(absl::Duration d);
  void StopTimer();
  // UpdateEvents watches the socket: while connecting or in the handshake
  // for what those need, else for reading when `read` and for writing when
  // `write`. Bytes already decrypted re-activate reading.
  void UpdateEvents(bool read, bool write);
  // Release ends the hold: the connection goes back to the pool under
  // `pool_key` when `reusable`, else closes; a lookup is cancelled and the
  // timer stopped.
  void Release(bool reusable, const std::string& pool_key);
  // TakeTransport hands the connection over (after a 101, to the relay).
  std::unique_ptr<OriginTransport> TakeTransport();

 private:
  static void OnSocketEvent(void* arg, OriginTransport* transport, short what);
  static void OnTimer(evutil_socket_t fd, short what, void* arg);
  void Resolved(absl::StatusOr<ResolvedAddress> addr, evbuffer* early);
  void Connected();
  void Handshake();

  WorkerContext* ctx_;
  Owner* owner_;
  OriginDialTarget target_;
  EventPtr timer_;
  std::unique_ptr<OriginTransport> transport_;
  bool resolving_ = false;
  uint64_t resolve_ticket_ = 0;
  bool resolve_inline_ = false;  // inside the Resolve call
  bool connecting_ = false;
  bool reused_ = false;
  bool answered_ = false;
};

}  // namespace certgate::edge
