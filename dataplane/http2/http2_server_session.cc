#include "dataplane/http2/http2_server_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dataplane/metrics/access_log.h"

namespace certgate::edge {

bool Http2ServerSession::RateWindow::Add(absl::Time now, absl::Duration window, uint32_t max) {
  if (now - start >= window) {
    start = now;
    count = 0;
  }
  return ++count > max;
}

Http2ServerSession::Http2ServerSession(Http2ServerOptions options, RequestCallback on_request,
                                       StreamCallbacks callbacks)
    : Http2Session(options.limits, std::move(callbacks)),
      options_(std::move(options)),
      on_request_(std::move(on_request)) {}

absl::StatusOr<std::unique_ptr<Http2ServerSession>> Http2ServerSession::Create(
    Http2ServerOptions options, RequestCallback on_request, StreamCallbacks callbacks) {
  if (options.zone_hostname.empty()) {
    return absl::InvalidArgumentError("HTTP/2 server session: empty zone hostname");
  }
  std::unique_ptr<Http2ServerSession> self(
      new Http2ServerSession(std::move(options), std::move(on_request), std::move(callbacks)));
  nghttp2_option* opt = self->NewOption();
  // nghttp2's own token bucket stays behind ours as a backstop.
  uint32_t resets = self->options_.max_client_resets;
  int64_t window_s = std::max<int64_t>(1, absl::ToInt64Seconds(self->options_.reset_window));
  nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * resets + 1,
                                             std::max<uint64_t>(1, 2 * resets / window_s));
  nghttp2_session* session = nullptr;
  int rv = nghttp2_session_server_new2(&session, Callbacks(), self.get(), opt);
  nghttp2_option_del(opt);
  if (rv != 0) {
    return absl::InternalError(absl::StrCat("nghttp2 server session: ", nghttp2_strerror(rv)));
  }
  absl::Status started = self->Start(
      session, {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, self->options_.max_concurrent_streams}});
  if (!started.ok()) {
    return started;
  }
  return self;
}

absl::Time Http2ServerSession::Now() const {
  return options_.clock ? options_.clock() : absl::Now();
}

absl::Status Http2ServerSession::SubmitResponse(int32_t stream_id, int status,
                                                const HttpHeaders& fields, bool end_stream) {
  if (FindAppStream(stream_id) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP/2 stream ", stream_id, " is not an open request"));
  }
  Http2HeaderBlock block;
  block.AddPseudo(":status", absl::StrCat(status));
  block.AddFields(fields);
  std::unique_ptr<Http2Outbox> outbox;
  nghttp2_data_provider provider;
  if (!end_stream) {
    outbox = std::make_unique<Http2Outbox>();
    provider = Provider(outbox.get());
  }
  int rv = nghttp2_submit_response(session_, stream_id, block.nv(), block.size(),
                                   end_stream ? nullptr : &provider);
  if (rv != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP/2 stream ", stream_id, ": response refused: ", nghttp2_strerror(rv)));
  }
  Adopt(stream_id, std::move(outbox), true);
  return absl::OkStatus();
}

void Http2ServerSession::LocalAnswer(int32_t stream_id, int status, absl::string_view message) {
  ++local_answers_;
  std::string body = absl::StrCat("{\"error\":", JsonQuote(message), "}");
  Http2HeaderBlock block;
  block.AddPseudo(":status", absl::StrCat(status));
  // Named: the block points into the fields until the submit.
  HttpHeaders fields = {{"content-type", "application/json"},
                        {"cache-control", "no-store"},
                        {"content-length", absl::StrCat(body.size())}};
  block.AddFields(fields);
  auto outbox = std::make_unique<Http2Outbox>();
  outbox->Append(body);
  outbox->Finish({});
  nghttp2_data_provider provider = Provider(outbox.get());
  if (nghttp2_submit_response(session_, stream_id, block.nv(), block.size(), &provider) == 0) {
    Adopt(stream_id, std::move(outbox), false);
  } else {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
  }
}

void Http2ServerSession::OnHeaders(const nghttp2_frame& frame, HeaderBlock block) {
  int32_t id = frame.hd.stream_id;
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (block.too_large) {
      LocalAnswer(id, 431,
                  absl::StrCat("request header fields are larger than ",
                               options_.limits.max_header_list_bytes, " bytes or more than ",
                               options_.limits.max_headers, " fields"));
      if (on_local_answer_) {
        Http2RequestHead head;
        head.stream_id = id;
        on_local_answer_(head, 431);
      }
      return;
    }
    Http2RequestHead head;
    head.stream_id = id;
    for (HttpHeader& p : block.pseudo) {
      if (p.name == ":method") {
        head.method = std::move(p.value);
      } else if (p.name == ":scheme") {
        head.scheme = std::move(p.value);
      } else if (p.name == ":authority") {
        head.authority = std::move(p.value);
      } else if (p.name == ":path") {
        head.path = std::move(p.value);
      } else if (p.name == ":protocol") {
        head.protocol = std::move(p.value);
      }
    }
    head.fields = std::move(block.fields);
    head.end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    AuthorityCheck check = CheckRequestHead(head, options_.zone_hostname);
    if (check.status != 0) {
      LocalAnswer(id, check.status, check.message);
      if (on_local_answer_) {
        on_local_answer_(head, check.status);
      }
      return;
    }
    Adopt(id, nullptr, true);
    FindAppStream(id)->head_seen = true;
    if (on_request_) {
      on_request_(std::move(head));
    }
    return;
  }
  if (FindLiveStream(id) == nullptr) {
    return;
  }
  if (block.too_large) {
    // Trailers too large: the response may be under way, so no 431.
    Fail(id, NGHTTP2_ENHANCE_YOUR_CALM);
    return;
  }
  if (callbacks_.on_trailers) {
    callbacks_.on_trailers(id, std::move(block.fields));
  }
}

void Http2ServerSession::OnControlFrame(const nghttp2_frame& frame) {
  switch (frame.hd.type) {
    case NGHTTP2_RST_STREAM:
      if (resets_.Add(Now(), options_.reset_window, options_.max_client_resets)) {
        Hostile(
            NGHTTP2_ENHANCE_YOUR_CALM,
            absl::StrCat("client reset more than ", options_.max_client_resets, " streams within ",
                         absl::FormatDuration(options_.reset_window), " (rapid reset)"));
      }
      break;
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if ((frame.hd.flags & NGHTTP2_FLAG_ACK) == 0 &&
          control_frames_.Add(Now(), options_.control_window, options_.max_control_frames)) {
        Hostile(NGHTTP2_ENHANCE_YOUR_CALM,
                absl::StrCat("client sent more than ", options_.max_control_frames,
                             " PING and SETTINGS frames within ",
                             absl::FormatDuration(options_.control_window)));
      }
      break;
    default:
      break;
  }
}

}  // namespace certgate::edge
