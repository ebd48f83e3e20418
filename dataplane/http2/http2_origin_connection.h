#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/host_port.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/origin_dial.h"
#include "dataplane/http2/http2_client_session.h"
#include "dataplane/http2/http2_origin_pool.h"

namespace certgate::edge {

class OriginTransport;
class Http2OriginStream;

// Http2OriginConnection is one HTTP/2 connection to an origin (h2c://, or
// https:// with TLS and ALPN h2): it
// resolves and judges the origin's address (OriginGuard, at every
// connect), connects, and runs an Http2ClientSession over the socket for
// the streams the pool places on it. Session events are collected while
// nghttp2 runs and handed to the streams' sinks afterwards, so a sink may
// open, end or destroy streams from any of them.
class Http2OriginConnection {
 public:
  Http2OriginConnection(Http2OriginPool* pool, Http2OriginPool::Target target);
  ~Http2OriginConnection();
  Http2OriginConnection(const Http2OriginConnection&) = delete;
  Http2OriginConnection& operator=(const Http2OriginConnection&) = delete;

  const Http2OriginPool::Target& target() const { return target_; }
  // Accepting: another stream fits (the origin's concurrency limit, no
  // GOAWAY, not failed).
  bool Accepting() const;
  bool dead() const { return dead_; }

  // Attach takes a stream: submitted now when connected, else once it is.
  void Attach(Http2OriginStream* stream);
  // Detach: the stream's owner is done with it; an open stream is reset.
  void Detach(Http2OriginStream* stream);

  size_t SendSpace(const Http2OriginStream* stream) const;
  absl::Status SendData(Http2OriginStream* stream, absl::string_view data);
  absl::Status Finish(Http2OriginStream* stream, HttpHeaders trailers);
  void Consume(Http2OriginStream* stream, size_t bytes);

 private:
  enum class Phase { kResolving, kConnecting, kHandshaking, kOpen, kDead };
  struct Event {
    enum Kind { kHead, kData, kTrailers, kEnd, kClose } kind;
    int32_t stream_id = 0;
    int status = 0;
    bool end_stream = false;
    uint32_t error_code = 0;
    HttpHeaders fields;
    std::string data;
  };

  struct Failure {
    Http2OriginStream* stream;
    int status;
    std::string why;
  };

  static void OnSocket(void* arg, OriginTransport* transport, short what);
  static void OnTimer(evutil_socket_t fd, short what, void* arg);
  static void OnKick(evutil_socket_t fd, short what, void* arg);

  void Begin();
  void Resolved(absl::StatusOr<ResolvedAddress> addr);
  void Connected();
  // Handshake advances TLS with an https origin; then ALPN says h2
  // (Connected) or HTTP/1.1 (the streams go back to their connections).
  void Handshake();
  OriginDialTarget DialTarget() const;
  void Submit(Http2OriginStream* stream);
  void ReadSocket();
  // Flush writes the session's output; then streams whose SendSpace grew
  // hear of it.
  void Flush();
  // Kick runs Flush and Dispatch from the loop soon (stream methods never
  // do I/O themselves).
  void Kick();
  void Dispatch();
  void StreamClosed(Http2OriginStream* stream, uint32_t error_code);
  // Fail ends the connection: every stream it holds fails with `status`.
  void Fail(int status, absl::string_view why);
  void ArmIdle();

  Http2OriginPool* pool_;
  Http2OriginPool::Target target_;
  Phase phase_ = Phase::kResolving;
  bool dead_ = false;
  // Why the connection died: what its remaining streams are told.
  int fail_status_ = 502;
  std::string fail_why_;
  bool begun_ = false;
  bool in_begin_ = false;
  bool resolved_inline_ = false;
  uint64_t resolve_ticket_ = 0;
  std::unique_ptr<Http2ClientSession> session_;
  std::unique_ptr<OriginTransport> transport_;
  EvbufferPtr out_;
  EventPtr timer_ev_;  // connect timeout, then idle timeout
  EventPtr kick_ev_;
  // Streams the connection holds: waiting to be submitted, and by id.
  std::vector<Http2OriginStream*> waiting_;
  absl::flat_hash_map<int32_t, Http2OriginStream*> streams_;
  std::vector<Event> events_;
  // Streams to tell of a failure, and of SendSpace grown.
  std::vector<Failure> failed_;
  std::vector<int32_t> writable_;
  // Streams to send back to the HTTP/1.1 path (the origin picked it).
  std::vector<Http2OriginStream*> http1_;
};

}  // namespace certgate::edge
