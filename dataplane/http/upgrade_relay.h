#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dataplane/http/libevent_handles.h"
#include "openssl/base.h"

struct evbuffer;

namespace certgate::edge {

class OriginTransport;

// UpgradeRelay moves bytes both ways between a client's TLS connection and an
// origin connection (plain or TLS) once the origin has answered 101 to an
// Upgrade request (WebSocket and the like). It no longer parses anything:
// what follows the 101 is another protocol. It ends when either side closes
// (after passing on what that side sent last), on an error, after `idle`
// without a byte in either direction, or when `still_trusted` says no (it is
// asked every `recheck_interval`). Lives on one worker thread.
class UpgradeRelay {
 public:
  struct Options {
    absl::Duration idle = absl::Minutes(10);
    absl::Duration recheck_interval = absl::Seconds(1);
    // Reading one side stops while the other side's unsent bytes exceed this.
    size_t high_watermark = 256 * 1024;
  };
  // Why a relay ended.
  enum class End { kClosed, kIdle, kError, kUntrusted };
  // Called once, from the relay's own event, with why the relay ended (and
  // a one-line detail); the relay's owner may close everything from inside
  // it but must not destroy the relay there (Stop is enough; destroy it
  // later).
  using DoneCallback = std::function<void(End end, absl::string_view why)>;

  // The relay borrows the client's `ssl` and `client_fd` (its owner closes
  // them) and owns `origin` (closed when the relay stops: an upgraded origin
  // connection is never pooled).
  UpgradeRelay(event_base* base, SSL* ssl, int client_fd, std::unique_ptr<OriginTransport> origin,
               Options options, std::function<bool()> still_trusted, DoneCallback done);
  ~UpgradeRelay();
  UpgradeRelay(const UpgradeRelay&) = delete;
  UpgradeRelay& operator=(const UpgradeRelay&) = delete;

  // Start takes the bytes already read on each side and not yet delivered
  // (moved out of the given buffers), then relays until the end.
  void Start(evbuffer* to_client, evbuffer* to_origin);
  // Stop frees the events and closes the origin connection; nothing is
  // called back afterwards.
  void Stop();

  uint64_t bytes_to_origin() const { return bytes_to_origin_; }
  uint64_t bytes_to_client() const { return bytes_to_client_; }

 private:
  static void OnEvent(evutil_socket_t fd, short what, void* arg);
  static void OnIdle(evutil_socket_t fd, short what, void* arg);
  static void OnRecheck(evutil_socket_t fd, short what, void* arg);

  // Pump does all the reading and writing possible now, then either ends
  // the relay or sets the events to wait for. False when it ended.
  bool Pump();
  void ReadClient();
  void ReadOrigin();
  void WriteClient();
  void WriteOrigin();
  void UpdateEvents();
  void Touch();
  void Finish(End end, absl::string_view why);

  event_base* base_;
  SSL* ssl_;
  int client_fd_;
  std::unique_ptr<OriginTransport> origin_;
  Options options_;
  std::function<bool()> still_trusted_;
  DoneCallback done_;

  EventPtr client_read_ev_;
  EventPtr client_write_ev_;
  EventPtr origin_read_ev_;
  EventPtr origin_write_ev_;
  EventPtr idle_ev_;
  EventPtr recheck_ev_;
  bool client_read_on_ = false;
  bool client_write_on_ = false;
  bool origin_read_on_ = false;
  bool origin_write_on_ = false;

  EvbufferPtr to_client_;
  EvbufferPtr to_origin_;

  bool client_eof_ = false;
  bool origin_eof_ = false;
  bool client_write_blocked_ = false;     // SSL_write wants the socket writable
  bool client_read_wants_write_ = false;  // SSL_read wants the socket writable
  bool stopped_ = false;
  std::string error_;  // why a side failed ("" when it closed cleanly)

  uint64_t bytes_to_origin_ = 0;
  uint64_t bytes_to_client_ = 0;
};

}  // namespace certgate::edge
