#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "dataplane/http/exchange.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/origin_link.h"
#include "dataplane/http/origin_stream.h"
#include "dataplane/http/worker_context.h"

namespace certgate::edge {

class OriginTransport;
struct ZoneConfig;

// UpstreamExchange is the origin half of a forwarded request: it takes a
// pooled origin connection or resolves, judges (OriginGuard) and connects a
// new one (TLS to an https origin), sends the request head its Owner queues
// and the body, parses the response and frames it for the client (length,
// chunked or until close), resends an idempotent body-less request once on a
// fresh connection when a pooled one closed unanswered, and hands the
// connection back to the pool when the response ended cleanly. To a zone
// whose origin speaks HTTP/2 (MultiplexedOrigins) the request goes instead
// as a stream (StartStream): its body from out() as the stream's flow
// control allows, its response framed back as HTTP/1.1; an https origin
// that picked HTTP/1.1 by ALPN gets the request on the HTTP/1.1 path. One
// per client connection, reused request after request.
class UpstreamExchange : private OriginStreamSink, private OriginLink::Owner {
 public:
  // Owner: the client connection the exchange works for.
  class Owner {
   public:
    virtual ~Owner() = default;
    // Appends the current request's head, as the origin gets it.
    virtual void QueueOriginRequestHead(evbuffer* out) = 0;
    // Appends response bytes for the client.
    virtual void AppendToClient(absl::string_view data) = 0;
    // Bytes waiting to be sent to the client (reading the origin pauses
    // above the high watermark).
    virtual size_t ClientBacklog() const = 0;
    // The connection closes after the current response (worker stopping).
    virtual bool Draining() const = 0;
    virtual bool Closed() const = 0;
    // The origin failed before the response started: answer `status`.
    virtual void AnswerOriginFailure(int status, absl::string_view why) = 0;
    // Cut the client connection (a response already started).
    virtual void Abort(absl::string_view why) = 0;
    // The whole response is queued for the client.
    virtual void OnResponseDone() = 0;
    // The origin agreed to an upgrade (101): log the exchange now.
    virtual void OnSwitchingLogged() = 0;
    // After the 101: `origin_extra` is what the origin sent after its head;
    // TakeOrigin gives the relay the connection.
    virtual void OnSwitched(absl::string_view origin_extra) = 0;
    // Do all non-blocking work possible now (called from the loop).
    virtual void Drive() = 0;
  };

  UpstreamExchange(WorkerContext* ctx, Owner* owner, Exchange* exchange, ClientPersistence* client);
  ~UpstreamExchange() override;
  UpstreamExchange(const UpstreamExchange&) = delete;
  UpstreamExchange& operator=(const UpstreamExchange&) = delete;

  // Start forwards the current request (its head already queued in out()):
  // on a pooled connection to `zone`'s origin, else a new one. `retryable`:
  // the request may be resent (RetryOnFreshOrigin).
  void Start(const ZoneConfig* zone, const std::string& client_ip, bool retryable);
  // StartStream forwards the current request as a stream on a pooled
  // HTTP/2 connection to `zone`'s origin; its body (unframed) then comes
  // through out().
  void StartStream(const ZoneConfig* zone, const std::string& client_ip, OriginRequest request,
                   bool has_body);
  // streaming: the current request goes as an HTTP/2 stream; out() holds
  // its body without HTTP/1.1 framing.
  bool streaming() const { return stream_ != nullptr; }
  // out: bytes for the origin (the request head and body).
  evbuffer* out() const { return out_.get(); }
  // connected: an origin connection or stream is held (or being made).
  bool connected() const { return link_.transport() != nullptr || stream_ != nullptr; }
  // Flush sends out() as far as the origin takes it.
  void Flush();
  // UpdateEvents registers what the origin connection waits for.
  void UpdateEvents();
  // Fail: the origin failed (`status` for the client unless the response
  // started). Counted as an origin error.
  void Fail(int status, absl::string_view why);
  // Release ends the use of the origin connection: back to the pool when
  // `reusable` and nothing is left unsent, else closed. Cancels a lookup.
  void Release(bool reusable);
  // TakeOrigin: after a 101, the relay takes the origin connection.
  std::unique_ptr<OriginTransport> TakeOrigin();
  // Close frees everything (the client connection closes).
  void Close();

 private:
  // OriginLink::Owner: the connection's progress, failures and timeout.
  void OnLinkFailed(int status, absl::string_view why) override;
  void OnLinkEvent(short what) override;
  void OnLinkTimeout() override;
  // Connect makes a new connection to the zone's origin (OriginLink).
  void Connect();
  void Read();
  bool OnResponseHeaders(bool* skip_body);
  // SendResponseHead queues the origin's response head for the client,
  // framed by `framing` (keep-alive ends with a body delimited by close).
  void SendResponseHead(int status, absl::string_view reason, const HttpHeaders& fields,
                        BodyFraming framing, uint64_t length);
  // UnknownLengthFraming: chunked for an HTTP/1.1 client, else until close.
  BodyFraming UnknownLengthFraming() const;
  bool OnResponseBody(absl::string_view data);
  bool OnResponseComplete();
  // RetryOnFreshOrigin resends an idempotent, body-less request on a new
  // connection when the pooled one it went out on closed before answering
  // (the origin's idle close raced our reuse). False when that does not
  // apply.
  bool RetryOnFreshOrigin();

  // The HTTP/2 stream path.
  void FlushStream();
  void OnOriginResponse(int status, HttpHeaders fields, bool end_stream) override;
  void OnOriginData(absl::string_view data) override;
  void OnOriginTrailers(HttpHeaders trailers) override;
  void OnOriginEnd() override;
  void OnOriginFailed(int status, std::string why) override;
  void OnOriginWritable() override;
  // OnOriginHttp1: the https origin picked HTTP/1.1; nothing went on the
  // stream, so the request goes on the HTTP/1.1 path with the body so far.
  void OnOriginHttp1() override;

  WorkerContext* ctx_;
  Owner* owner_;
  Exchange* exchange_;
  ClientPersistence* client_;
  const ZoneConfig* zone_ = nullptr;  // of the current request
  const std::string* client_ip_ = nullptr;
  bool retryable_ = false;

  EvbufferPtr out_;
  // The current origin connection, and the timer of the request's origin
  // side (an HTTP/2 stream's too).
  OriginLink link_;
  // One response parser for the connection's life, reset per request.
  std::unique_ptr<MessageParser> response_parser_;
  absl::Time sent_;

  // The current request's stream on an HTTP/2 origin (null: none).
  std::unique_ptr<OriginStream> stream_;
  bool stream_finished_ = false;    // Finish was called
  uint64_t stream_unconsumed_ = 0;  // response body bytes not yet given back
  HttpHeaders stream_trailers_;     // the origin's, sent at the last chunk
};

}  // namespace certgate::edge
