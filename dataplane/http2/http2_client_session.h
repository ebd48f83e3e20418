#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/http2/http2_request_head.h"
#include "dataplane/http2/http2_session.h"

namespace certgate::edge {

struct Http2ClientOptions {
  Http2SessionLimits limits;
  // Streams opened before the origin's SETTINGS say how many it allows.
  uint32_t initial_max_concurrent_streams = 100;
};

// Http2ResponseHead is an origin's final response head (1xx are dropped).
struct Http2ResponseHead {
  int32_t stream_id = 0;
  int status = 0;
  HttpHeaders fields;
  bool end_stream = false;  // no body follows (a trailers-only gRPC answer)
};

// Http2ClientSession is HTTP/2 to an origin (h2c://, or https that
// negotiated h2), as bytes in and events out: requests multiplexed as
// streams of one connection, each body streamed both ways under flow
// control, request and response trailers passed (gRPC needs both).
class Http2ClientSession : public Http2Session {
 public:
  using ResponseCallback = std::function<void(Http2ResponseHead head)>;
  // The origin's GOAWAY: streams above last_stream_id were not processed
  // and may be retried on another connection.
  using GoAwayCallback = std::function<void(int32_t last_stream_id, uint32_t error_code)>;

  // Create queues the connection preface and SETTINGS.
  static absl::StatusOr<std::unique_ptr<Http2ClientSession>> Create(Http2ClientOptions options,
                                                                    ResponseCallback on_response,
                                                                    GoAwayCallback on_goaway,
                                                                    StreamCallbacks callbacks);

  // SubmitRequest opens a stream for `head` (its stream_id is ignored; Host
  // fields are dropped: :authority names the host) and returns its id.
  // Without end_stream, SendData and Finish send the body. UNAVAILABLE when
  // the connection cannot take another stream (GOAWAY, ids exhausted).
  absl::StatusOr<int32_t> SubmitRequest(const Http2RequestHead& head, bool end_stream);

  // CanSubmit: another stream fits under the origin's concurrency limit and
  // the origin has not said GOAWAY.
  bool CanSubmit() const;
  bool goaway_received() const { return goaway_received_; }

 private:
  Http2ClientSession(Http2ClientOptions options, ResponseCallback on_response,
                     GoAwayCallback on_goaway, StreamCallbacks callbacks);
  void OnHeaders(const nghttp2_frame& frame, HeaderBlock block) override;
  void OnControlFrame(const nghttp2_frame& frame) override;

  Http2ClientOptions options_;
  ResponseCallback on_response_;
  GoAwayCallback on_goaway_;
  bool goaway_received_ = false;
};

}  // namespace certgate::edge
