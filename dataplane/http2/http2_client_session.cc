#include "dataplane/http2/http2_client_session.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace certgate::edge {

Http2ClientSession::Http2ClientSession(Http2ClientOptions options, ResponseCallback on_response,
                                       GoAwayCallback on_goaway, StreamCallbacks callbacks)
    : Http2Session(options.limits, std::move(callbacks)),
      options_(std::move(options)),
      on_response_(std::move(on_response)),
      on_goaway_(std::move(on_goaway)) {}

absl::StatusOr<std::unique_ptr<Http2ClientSession>> Http2ClientSession::Create(
    Http2ClientOptions options, ResponseCallback on_response, GoAwayCallback on_goaway,
    StreamCallbacks callbacks) {
  std::unique_ptr<Http2ClientSession> self(new Http2ClientSession(
      std::move(options), std::move(on_response), std::move(on_goaway), std::move(callbacks)));
  nghttp2_option* opt = self->NewOption();
  nghttp2_option_set_peer_max_concurrent_streams(opt,
                                                 self->options_.initial_max_concurrent_streams);
  nghttp2_session* session = nullptr;
  int rv = nghttp2_session_client_new2(&session, Callbacks(), self.get(), opt);
  nghttp2_option_del(opt);
  if (rv != 0) {
    return absl::InternalError(absl::StrCat("nghttp2 client session: ", nghttp2_strerror(rv)));
  }
  // No server push: the edge never asked for it.
  absl::Status started = self->Start(session, {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}});
  if (!started.ok()) {
    return started;
  }
  return self;
}

bool Http2ClientSession::CanSubmit() const {
  return !goaway_received_ &&
         open_streams() <
             nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

absl::StatusOr<int32_t> Http2ClientSession::SubmitRequest(const Http2RequestHead& head,
                                                          bool end_stream) {
  if (goaway_received_) {
    return absl::UnavailableError("the origin's HTTP/2 connection is going away");
  }
  Http2HeaderBlock block;
  block.AddPseudo(":method", head.method);
  block.AddPseudo(":scheme", head.scheme);
  block.AddPseudo(":authority", head.authority);
  block.AddPseudo(":path", head.path);
  if (!head.protocol.empty()) {
    block.AddPseudo(":protocol", head.protocol);
  }
  HttpHeaders fields;
  fields.reserve(head.fields.size());
  for (const HttpHeader& h : head.fields) {
    if (!absl::EqualsIgnoreCase(h.name, "host")) {
      fields.push_back(h);
    }
  }
  block.AddFields(fields);
  std::unique_ptr<Http2Outbox> outbox;
  nghttp2_data_provider provider;
  if (!end_stream) {
    outbox = std::make_unique<Http2Outbox>();
    provider = Provider(outbox.get());
  }
  int32_t id = nghttp2_submit_request(session_, nullptr, block.nv(), block.size(),
                                      end_stream ? nullptr : &provider, nullptr);
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      return absl::UnavailableError("the origin's HTTP/2 connection has no stream ids left");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP/2 request refused: ", nghttp2_strerror(id)));
  }
  Adopt(id, std::move(outbox), true);
  return id;
}

void Http2ClientSession::OnHeaders(const nghttp2_frame& frame, HeaderBlock block) {
  int32_t id = frame.hd.stream_id;
  Stream* stream = FindLiveStream(id);
  if (stream == nullptr) {
    return;
  }
  if (block.too_large) {
    // Reported as the stream's close with this code: the edge answers 502.
    Fail(id, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (!stream->head_seen) {
    int status = 0;
    for (const HttpHeader& p : block.pseudo) {
      if (p.name == ":status") {
        (void)absl::SimpleAtoi(p.value, &status);
      }
    }
    if (status < 200) {
      return;  // 1xx: the final response follows (nghttp2 checked :status)
    }
    stream->head_seen = true;
    if (on_response_) {
      on_response_(Http2ResponseHead{id, status, std::move(block.fields), end_stream});
    }
    return;
  }
  if (callbacks_.on_trailers) {
    callbacks_.on_trailers(id, std::move(block.fields));
  }
}

void Http2ClientSession::OnControlFrame(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_GOAWAY) {
    goaway_received_ = true;
    if (on_goaway_) {
      on_goaway_(frame.goaway.last_stream_id, frame.goaway.error_code);
    }
  }
}

}  // namespace certgate::edge
