#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/origin_link.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http2/stream_upstream.h"

namespace certgate::edge {

class OriginTlsContext;
class OriginTransport;

// Http1StreamUpstream forwards one HTTP/2 stream to an http:// or https://
// origin as an HTTP/1.1 request on a connection of the worker's OriginPool
// (taken, or resolved, judged by the origin guard and connected), and
// hands the response back as it arrives. A request body without a
// content-length goes chunked; a response body is read only as far as the
// stream takes it (Sink::space). The connection goes back to the pool when
// both messages ended cleanly.
class Http1StreamUpstream : public StreamUpstream, private OriginLink::Owner {
 public:
  Http1StreamUpstream(WorkerContext* ctx, const ZoneConfig& zone, Sink sink);
  ~Http1StreamUpstream() override;

  void Start(StreamRequest request) override;
  void SendBody(absl::string_view data) override;
  void EndRequest(HttpHeaders trailers) override;
  void ResumeResponse() override;
  void Cancel() override;

 private:
  // OriginLink::Owner: the connection's progress, failures and timeout.
  void OnLinkFailed(int status, absl::string_view why) override;
  void OnLinkEvent(short what) override;
  void OnLinkTimeout() override;

  // Connect makes a new connection to the origin (OriginLink).
  void Connect();
  // Drive writes what waits for the origin, reads what the stream takes and
  // sets the events.
  void Drive();
  void Flush();
  void Read();
  void UpdateEvents();
  bool OnResponseHeaders(bool* skip_body);
  bool OnResponseBody(absl::string_view data);
  bool OnResponseComplete();
  void Fail(int status, absl::string_view why);
  // RetryOnFreshOrigin: like the HTTP/1.1 path (and nginx with upstream
  // keepalive), a retryable request that went out on a reused connection
  // and got nothing back is resent once on a new one. False when it may
  // not be.
  bool RetryOnFreshOrigin();
  void Release(bool reusable);

  WorkerContext* ctx_;
  Sink sink_;
  // Copied from the zone version the stream was judged with: a config swap
  // while the stream runs does not touch it.
  std::string zone_hostname_;
  std::string origin_host_;
  uint16_t origin_port_ = 0;
  std::shared_ptr<const OriginTlsContext> origin_tls_;
  std::string pool_key_;
  std::string client_ip_;

  EvbufferPtr out_;
  OriginLink link_;
  MessageParser parser_;
  bool chunked_ = false;
  bool head_request_ = false;
  // An idempotent request without a body: a pooled connection is taken
  // without checking it first (a recv), since the request can be resent.
  bool retryable_ = false;
  std::string head_;  // the request head, kept to resend it
  bool request_done_ = false;
  bool response_done_ = false;
  bool head_sent_ = false;  // on_head was called
  bool finished_ = false;   // failed, ended or cancelled: nothing more to the sink
  size_t unconsumed_ = 0;   // body bytes queued in out_ and not yet reported consumed
  absl::Time sent_;
};

}  // namespace certgate::edge
