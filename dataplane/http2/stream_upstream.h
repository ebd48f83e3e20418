#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

struct WorkerContext;
struct ZoneConfig;

// StreamRequest is one HTTP/2 request the edge forwards, already judged
// (DecideRequest) and still to be rewritten for the origin: the upstream
// applies RewriteRequestHeaders (or AppendOriginRequestHead) with `cert`
// and `context`, so the same rules hold whatever the origin speaks.
struct StreamRequest {
  std::string method;
  std::string path;  // origin form
  std::string host;  // checked against the zone
  std::string client_ip;
  HttpHeaders headers;  // Http1Headers of the stream: Host first
  // The connection's, shared (never null): a zone change while the stream
  // runs makes the connection a new one, and this one stays as judged.
  std::shared_ptr<const CertificateHeaders> cert;
  std::string refusal;  // RequestDecision's, for the zone's error header
  bool withhold_certificate = false;
  bool allow_underscore_headers = false;
  bool has_body = false;                   // the client did not end the stream with its head
  std::optional<uint64_t> content_length;  // the client's content-length, when it sent one
  // The context RewriteRequestHeaders wants; views into this request.
  RequestContext Context() const {
    return RequestContext{client_ip, host, allow_underscore_headers, refusal, withhold_certificate};
  }
};

// StreamUpstream carries one HTTP/2 stream to the zone's origin and its
// answer back, whatever the origin speaks (HTTP/1.1 or HTTP/2). Bodies stream both ways: the
// request body as the client sends it (Consume gives the client more window once it reached the
// origin), the response body as far as the client's windows allow (space()).
class StreamUpstream {
 public:
  // What the upstream tells its stream. Called from the upstream's own
  // events or from inside its methods; none may destroy the upstream.
  struct Sink {
    // The origin's final response head (already rewritten: no hop-by-hop or
    // framing fields). `end_stream`: no body follows.
    std::function<void(int status, HttpHeaders fields, bool end_stream)> on_head;
    std::function<void(absl::string_view data)> on_data;
    // The response ended, with the origin's trailers if any.
    std::function<void(HttpHeaders trailers)> on_end;
    // The origin failed: before on_head, `status` (502, 504) is the
    // answer; after it the stream must be reset.
    std::function<void(int status, absl::string_view why)> on_failed;
    // Request body bytes the origin took: the client may send that much more.
    std::function<void(size_t bytes)> on_consumed;
    // How many response body bytes the stream takes now (the client's
    // windows and the edge's outbound limits).
    std::function<size_t()> space;
    // Something happened outside the stream's own calls: its output wants
    // writing.
    std::function<void()> kick;
  };

  virtual ~StreamUpstream() = default;
  // Start sends the request head (the body follows with SendBody).
  virtual void Start(StreamRequest request) = 0;
  virtual void SendBody(absl::string_view data) = 0;
  // EndRequest: the client ended its side, with `trailers` if any.
  virtual void EndRequest(HttpHeaders trailers) = 0;
  // ResumeResponse: space() grew; read on.
  virtual void ResumeResponse() = 0;
  // Cancel: the client's stream is gone; nothing more is called on the sink.
  virtual void Cancel() = 0;
};

// MakeStreamUpstream is the one place that picks how a stream reaches its
// zone's origin, by the origin's scheme: h2c:// origins, and https://
// origins unless they lately picked HTTP/1.1 by ALPN, get an
// Http2StreamUpstream (streams of the worker's Http2OriginPool); http://
// and the other https:// origins an Http1StreamUpstream (pooled HTTP/1.1
// connections of the worker's OriginPool). Null when the origin's protocol
// has no upstream for HTTP/2 streams: the stream is answered 502.
std::unique_ptr<StreamUpstream> MakeStreamUpstream(WorkerContext* ctx, const ZoneConfig& zone,
                                                   StreamUpstream::Sink sink);

}  // namespace certgate::edge
