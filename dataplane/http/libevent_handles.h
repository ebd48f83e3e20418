#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include <memory>

namespace certgate::edge {

// Owners for libevent objects, as bssl::UniquePtr is for BoringSSL's: freed
// (an event deleted first) when the owner goes.
struct EventFree {
  void operator()(event* ev) const { event_free(ev); }
};
struct EvbufferFree {
  void operator()(evbuffer* buf) const { evbuffer_free(buf); }
};
using EventPtr = std::unique_ptr<event, EventFree>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferFree>;

// SocketEvent is one event on a socket and whether it is registered: Set
// adds or deletes it only when that changes (each is an epoll_ctl).
class SocketEvent {
 public:
  SocketEvent() = default;
  explicit SocketEvent(event* ev) : ev_(ev) {}
  void Set(bool on) {
    if (ev_ == nullptr || on == on_) {
      return;
    }
    if (on) {
      event_add(ev_.get(), nullptr);
    } else {
      event_del(ev_.get());
    }
    on_ = on;
  }
  bool on() const { return on_; }
  event* get() const { return ev_.get(); }
  void Reset() {
    ev_.reset();
    on_ = false;
  }

 private:
  EventPtr ev_;
  bool on_ = false;
};

}  // namespace certgate::edge
