#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/http2/http2_request_head.h"
#include "dataplane/http2/http2_session.h"

namespace certgate::edge {

// Http2ServerOptions: one client connection's HTTP/2 session. Every limit
// has a safe default; each is a defence against a known HTTP/2 attack.
struct Http2ServerOptions {
  // The connection's zone (from SNI): every stream's :authority must belong
  // to it, else 421.
  std::string zone_hostname;
  Http2SessionLimits limits;
  // SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond are refused
  // (RST_STREAM REFUSED_STREAM) before any work (stream exhaustion).
  uint32_t max_concurrent_streams = 100;
  // RST_STREAM frames from the client per window: beyond, GOAWAY
  // ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487).
  uint32_t max_client_resets = 200;
  absl::Duration reset_window = absl::Seconds(10);
  // PING and SETTINGS frames (not ACKs) from the client per window: beyond,
  // GOAWAY ENHANCE_YOUR_CALM (ping and settings floods, CVE-2019-9512/9515).
  uint32_t max_control_frames = 1000;
  absl::Duration control_window = absl::Seconds(10);
  // The time source of the windows above; absl::Now when unset.
  std::function<absl::Time()> clock;
};

// Http2ServerSession is HTTP/2 from a client of the edge, as bytes in and
// events out: requests whose :authority belongs to the connection's zone
// (another zone's is answered 421 here and never reported), their bodies,
// trailers and ends; the application answers with SubmitResponse, then
// SendData and Finish (trailers) as the origin's answer arrives.
class Http2ServerSession : public Http2Session {
 public:
  using RequestCallback = std::function<void(Http2RequestHead head)>;

  // Create starts the session and queues the server's SETTINGS (written by
  // the first TakeOutput). INVALID_ARGUMENT when zone_hostname is empty.
  static absl::StatusOr<std::unique_ptr<Http2ServerSession>> Create(Http2ServerOptions options,
                                                                    RequestCallback on_request,
                                                                    StreamCallbacks callbacks);

  // SubmitResponse sends a response head on a reported request's stream;
  // with end_stream it is the whole response (a trailers-only gRPC answer:
  // :status 200 and grpc-status among `fields`). Else SendData and Finish
  // follow.
  absl::Status SubmitResponse(int32_t stream_id, int status, const HttpHeaders& fields,
                              bool end_stream);

  // local_answers: streams the session answered itself (421, 431, 400).
  uint64_t local_answers() const { return local_answers_; }

 private:
  struct RateWindow {
    absl::Time start = absl::InfinitePast();
    uint32_t count = 0;
    // Add counts one event; true when the window now holds more than `max`.
    bool Add(absl::Time now, absl::Duration window, uint32_t max);
  };

  Http2ServerSession(Http2ServerOptions options, RequestCallback on_request,
                     StreamCallbacks callbacks);
  void OnHeaders(const nghttp2_frame& frame, HeaderBlock block) override;
  void OnControlFrame(const nghttp2_frame& frame) override;
  // LocalAnswer: a whole JSON response on a stream the application never sees.
  void LocalAnswer(int32_t stream_id, int status, absl::string_view message);
  absl::Time Now() const;

  Http2ServerOptions options_;
  RequestCallback on_request_;
  RateWindow resets_;
  RateWindow control_frames_;
  uint64_t local_answers_ = 0;
};

}  // namespace certgate::edge
