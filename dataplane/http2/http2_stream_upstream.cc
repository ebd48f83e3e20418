#include "dataplane/http2/http2_stream_upstream.h"

#include <event2/buffer.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/multiplexed_origins.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/http2/http1_stream_upstream.h"

namespace certgate::edge {

Http2StreamUpstream::Http2StreamUpstream(WorkerContext* ctx, const ZoneConfig& zone, Sink sink)
    : ctx_(ctx),
      sink_(std::move(sink)),
      zone_(&zone),
      body_(evbuffer_new()),
      response_(evbuffer_new()) {
  if (zone.origin_tls != nullptr) {
    fallback_ = std::make_unique<Http1StreamUpstream>(ctx, zone, sink_);
  }
}

Http2StreamUpstream::~Http2StreamUpstream() = default;

void Http2StreamUpstream::Start(StreamRequest request) {
  OriginRequest origin;
  origin.method = request.method;
  origin.path = request.path;
  const std::string* host = FindHeader(request.headers, "host");
  origin.authority = host != nullptr ? *host : request.host;
  origin.fields = RewriteRequestHeaders(request.headers, *request.cert, request.Context());
  const std::string* te = FindHeader(request.headers, "te");
  if (te != nullptr && absl::StrContains(absl::AsciiStrToLower(*te), "trailers")) {
    origin.fields.push_back({"te", "trailers"});  // gRPC servers ask for it
  }
  bool end_stream = !request.has_body;
  request_ended_ = end_stream;
  finish_sent_ = end_stream;
  if (fallback_ != nullptr) {
    request_ = std::move(request);
  }
  stream_ = ctx_->h2_origins->Open(*zone_, std::move(origin), end_stream, this,
                                   fallback_ != nullptr ? request_.client_ip : request.client_ip);
  zone_ = nullptr;
}

void Http2StreamUpstream::SendBody(absl::string_view data) {
  if (finished_) {
    sink_.on_consumed(data.size());
    return;
  }
  if (use_fallback_) {
    fallback_->SendBody(data);
    return;
  }
  evbuffer_add(body_.get(), data.data(), data.size());
  PushBody();
}

void Http2StreamUpstream::EndRequest(HttpHeaders trailers) {
  if (finished_ || request_ended_) {
    return;
  }
  if (use_fallback_) {
    fallback_->EndRequest(std::move(trailers));
    return;
  }
  request_ended_ = true;
  request_trailers_ = std::move(trailers);
  PushBody();
}

void Http2StreamUpstream::ResumeResponse() {
  if (use_fallback_) {
    fallback_->ResumeResponse();
    return;
  }
  PushResponse();
}

void Http2StreamUpstream::Cancel() {
  finished_ = true;
  stream_.reset();  // resets the origin's stream
  if (use_fallback_) {
    fallback_->Cancel();
  }
}

void Http2StreamUpstream::PushBody() {
  if (stream_ == nullptr) {
    return;
  }
  absl::StatusOr<size_t> sent = SendBufferedBody(*stream_, body_.get());
  if (!sent.ok()) {
    OnOriginFailed(502, std::string(sent.status().message()));
    return;
  }
  if (*sent > 0) {
    sink_.on_consumed(*sent);
  }
  if (evbuffer_get_length(body_.get()) > 0) {
    return;  // the rest when OnOriginWritable comes
  }
  if (request_ended_ && !finish_sent_) {
    finish_sent_ = true;
    absl::Status finished = stream_->Finish(std::move(request_trailers_));
    if (!finished.ok()) {
      OnOriginFailed(502, std::string(finished.message()));
    }
  }
}

void Http2StreamUpstream::PushResponse() {
  if (finished_ || stream_ == nullptr) {
    return;
  }
  size_t given = 0;
  while (evbuffer_get_length(response_.get()) > 0) {
    size_t space = sink_.space();
    if (space == 0) {
      break;  // ResumeResponse
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(response_.get(), -1, nullptr, &vec, 1) < 1) {
      break;
    }
    size_t n = std::min(space, vec.iov_len);
    sink_.on_data(absl::string_view(static_cast<char*>(vec.iov_base), n));
    evbuffer_drain(response_.get(), n);
    given += n;
  }
  if (given > 0) {
    stream_->Consume(given);
  }
  if (response_ended_ && evbuffer_get_length(response_.get()) == 0) {
    finished_ = true;
    sink_.on_end(std::move(response_trailers_));
    stream_.reset();
  }
}

// --- from the origin (always from the loop) ------------------------------------

void Http2StreamUpstream::OnOriginResponse(int status, HttpHeaders fields, bool end_stream) {
  if (finished_) {
    return;
  }
  sink_.on_head(status, RewriteResponseHeaders(fields), end_stream);
  if (end_stream) {
    // A trailers-only answer (a gRPC status): nothing follows.
    finished_ = true;
    stream_.reset();
  }
  sink_.kick();
}

void Http2StreamUpstream::OnOriginData(absl::string_view data) {
  if (finished_) {
    return;
  }
  evbuffer_add(response_.get(), data.data(), data.size());
  PushResponse();
  sink_.kick();
}

void Http2StreamUpstream::OnOriginTrailers(HttpHeaders trailers) {
  response_trailers_ = RewriteResponseHeaders(trailers);
}

void Http2StreamUpstream::OnOriginEnd() {
  if (finished_) {
    return;
  }
  response_ended_ = true;
  PushResponse();
  sink_.kick();
}

void Http2StreamUpstream::OnOriginFailed(int status, std::string why) {
  if (finished_) {
    return;
  }
  finished_ = true;
  stream_.reset();
  sink_.on_failed(status, why);
  sink_.kick();
}

void Http2StreamUpstream::OnOriginWritable() {
  PushBody();
  sink_.kick();
}

void Http2StreamUpstream::OnOriginHttp1() {
  // Nothing was sent on the stream; what the client sent so far goes the
  // HTTP/1.1 way.
  stream_.reset();
  use_fallback_ = true;
  fallback_->Start(std::move(request_));
  size_t n = evbuffer_get_length(body_.get());
  if (n > 0) {
    std::string pending(n, '\0');
    evbuffer_remove(body_.get(), pending.data(), n);
    fallback_->SendBody(pending);
  }
  if (request_ended_) {
    fallback_->EndRequest(std::move(request_trailers_));
  }
  sink_.kick();
}

}  // namespace certgate::edge
