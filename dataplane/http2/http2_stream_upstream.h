#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/origin_stream.h"
#include "dataplane/http2/stream_upstream.h"

namespace certgate::edge {

class Http1StreamUpstream;

// Http2StreamUpstream carries one HTTP/2 client stream to an HTTP/2 origin
// (h2c://, or https:// picking h2) as a stream of the worker's
// Http2OriginPool: the request rewritten as for any origin, bodies and
// trailers passed both ways under both sides' flow control (what waits here
// is bounded by the client's stream window one way and the origin's the
// other), so gRPC streaming works end to end. An https origin that picks
// HTTP/1.1 gets the request through an Http1StreamUpstream instead.
class Http2StreamUpstream : public StreamUpstream, private OriginStreamSink {
 public:
  Http2StreamUpstream(WorkerContext* ctx, const ZoneConfig& zone, Sink sink);
  ~Http2StreamUpstream() override;

  void Start(StreamRequest request) override;
  void SendBody(absl::string_view data) override;
  void EndRequest(HttpHeaders trailers) override;
  void ResumeResponse() override;
  void Cancel() override;

 private:
  void OnOriginResponse(int status, HttpHeaders fields, bool end_stream) override;
  void OnOriginData(absl::string_view data) override;
  void OnOriginTrailers(HttpHeaders trailers) override;
  void OnOriginEnd() override;
  void OnOriginFailed(int status, std::string why) override;
  void OnOriginWritable() override;
  void OnOriginHttp1() override;

  // PushBody hands waiting request body bytes to the stream as far as it
  // takes them (the client gets that much window back), then the end.
  void PushBody();
  // PushResponse hands waiting response bytes to the client stream as far
  // as it takes them (the origin gets that much window back), then the end.
  void PushResponse();

  WorkerContext* ctx_;
  Sink sink_;
  const ZoneConfig* zone_;  // valid until Start only (it opens the stream)
  // https only: the HTTP/1.1 way, built while the zone is at hand, used if
  // the origin picks HTTP/1.1; `request_` is kept for it until then.
  std::unique_ptr<Http1StreamUpstream> fallback_;
  bool use_fallback_ = false;
  StreamRequest request_;
  std::unique_ptr<OriginStream> stream_;
  EvbufferPtr body_;  // request body not yet taken by the stream
  bool request_ended_ = false;
  bool finish_sent_ = false;
  HttpHeaders request_trailers_;
  EvbufferPtr response_;  // response body not yet taken by the client stream
  bool response_ended_ = false;
  HttpHeaders response_trailers_;
  bool finished_ = false;  // ended, failed or cancelled: nothing more to the sink
};

}  // namespace certgate::edge
