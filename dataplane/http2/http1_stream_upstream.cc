#include "dataplane/http2/http1_stream_upstream.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/origin_dial.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

}  // namespace

Http1StreamUpstream::Http1StreamUpstream(WorkerContext* ctx, const ZoneConfig& zone, Sink sink)
    : ctx_(ctx),
      sink_(std::move(sink)),
      zone_hostname_(zone.hostname),
      origin_host_(zone.origin.host),
      origin_port_(zone.origin.port),
      origin_tls_(zone.origin_tls),
      pool_key_(zone.origin_pool_key),
      out_(evbuffer_new()),
      link_(ctx, this),
      parser_(HTTP_RESPONSE, ParserLimits{1 << 20, 1000},
              MessageParser::Callbacks{
                  nullptr,
                  [this](bool* skip) { return OnResponseHeaders(skip); },
                  [this](absl::string_view data) { return OnResponseBody(data); },
                  [this] { return OnResponseComplete(); },
              }) {}

Http1StreamUpstream::~Http1StreamUpstream() {
  finished_ = true;
  Release(false);
}

void Http1StreamUpstream::Start(StreamRequest request) {
  client_ip_ = request.client_ip;
  head_request_ = request.method == "HEAD";
  BodyFraming framing = BodyFraming::kNone;
  if (request.content_length.has_value()) {
    framing = BodyFraming::kContentLength;
  } else if (request.has_body) {
    framing = BodyFraming::kChunked;
    chunked_ = true;
  }
  request_done_ = !request.has_body;
  retryable_ = !request.has_body && IsIdempotentMethod(request.method);
  AppendOriginRequestHead(&head_, request.method, request.path, request.headers, *request.cert,
                          request.Context(), "", framing, request.content_length.value_or(0));
  evbuffer_add(out_.get(), head_.data(), head_.size());
  if (!retryable_) {
    head_.clear();
    head_.shrink_to_fit();
  }
  sent_ = absl::Now();
  // A pooled connection for a request that cannot be resent is checked
  // first (one recv): it must not go out on a connection the origin had
  // just closed.
  if (!link_.TakePooled(pool_key_, /*check_open=*/!retryable_)) {
    Connect();
  }
  // The head goes out now; the answer is read when the socket says so
  // (reading at once would only find it empty).
  if (!finished_ && link_.ready()) {
    Flush();
  }
  if (!finished_) {
    UpdateEvents();
  }
}

void Http1StreamUpstream::SendBody(absl::string_view data) {
  if (finished_) {
    // The origin answered (or failed) before the body ended: the rest is
    // dropped, and the client's window given back so that it can finish
    // sending and the stream can close.
    sink_.on_consumed(data.size());
    return;
  }
  if (chunked_) {
    std::string size = ChunkHeader(data.size());
    evbuffer_add(out_.get(), size.data(), size.size());
    evbuffer_add(out_.get(), data.data(), data.size());
    evbuffer_add(out_.get(), "\r\n", 2);
  } else {
    evbuffer_add(out_.get(), data.data(), data.size());
  }
  unconsumed_ += data.size();
  Drive();
}

void Http1StreamUpstream::EndRequest(HttpHeaders) {
  // An HTTP/1.1 origin gets no request trailers (RFC 9110 6.5.1: they may
  // be dropped); an HTTP/2 origin's upstream passes them.
  if (finished_ || request_done_) {
    return;
  }
  request_done_ = true;
  if (chunked_) {
    evbuffer_add(out_.get(), "0\r\n\r\n", 5);
  }
  Drive();
}

void Http1StreamUpstream::ResumeResponse() {
  if (!finished_) {
    Drive();
  }
}

void Http1StreamUpstream::Cancel() {
  finished_ = true;
  Release(false);
}

// --- the origin connection ----------------------------------------------------

void Http1StreamUpstream::Connect() {
  link_.Connect(
      OriginDialTarget{origin_host_, origin_port_, zone_hostname_, client_ip_, origin_tls_},
      out_.get());
  sink_.kick();
}

void Http1StreamUpstream::OnLinkEvent(short) {
  Drive();
  sink_.kick();
}

void Http1StreamUpstream::OnLinkFailed(int status, absl::string_view why) { Fail(status, why); }

void Http1StreamUpstream::OnLinkTimeout() {
  if (finished_) {
    return;
  }
  if (head_sent_ && sink_.space() < kReadChunk) {
    // The client is slow to read, not the origin: keep waiting.
    link_.ArmTimer(ctx_->options->origin_timeout);
    return;
  }
  Fail(504, "origin timed out");
  sink_.kick();
}

// --- the exchange -------------------------------------------------------------

void Http1StreamUpstream::Drive() {
  if (finished_ || !link_.ready()) {
    if (!finished_) {
      UpdateEvents();
    }
    return;
  }
  Flush();
  if (finished_) {
    return;
  }
  Read();
  if (finished_) {
    return;
  }
  UpdateEvents();
}

void Http1StreamUpstream::Flush() {
  OriginTransport* origin = link_.transport();
  if (origin->Send(out_.get()) == SslWriteResult::kFailed) {
    if (!RetryOnFreshOrigin()) {
      Fail(502, absl::StrCat("origin write failed: ", origin->last_error()));
    }
    return;
  }
  // The client may send as much more as the origin took off our hands:
  // what waits for the origin stays below the high watermark.
  if (unconsumed_ > 0 && evbuffer_get_length(out_.get()) < ctx_->options->buffer_high_watermark) {
    size_t n = unconsumed_;
    unconsumed_ = 0;
    sink_.on_consumed(n);
  }
}

void Http1StreamUpstream::Read() {
  char buf[kReadChunk];
  while (!finished_ && !response_done_ && link_.transport() != nullptr) {
    OriginTransport* origin = link_.transport();
    // Only as much as the client's stream takes now: the rest waits in the
    // origin's socket, not in the edge.
    size_t space = head_sent_ ? std::min(sink_.space(), sizeof(buf)) : sizeof(buf);
    if (space == 0) {
      return;
    }
    ssize_t n = origin->Read(buf, space);
    if (n > 0) {
      link_.MarkAnswered();
      link_.ArmTimer(ctx_->options->origin_timeout);
      size_t used = parser_.Feed(buf, static_cast<size_t>(n));
      if (finished_) {
        return;
      }
      if (parser_.error() != MessageParser::Error::kNone) {
        Fail(502, absl::StrCat("malformed response from the origin: ", parser_.error_detail()));
        return;
      }
      if (used < static_cast<size_t>(n) && !response_done_) {
        Fail(502, "unexpected bytes from the origin");
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    if (RetryOnFreshOrigin()) {
      return;
    }
    std::string why = n == 0 ? "origin closed the connection" : origin->last_error();
    if (parser_.FeedEof() && response_done_) {
      return;  // a body delimited by the close
    }
    Fail(502, why);
    return;
  }
}

void Http1StreamUpstream::UpdateEvents() {
  link_.UpdateEvents(!response_done_ && (!head_sent_ || sink_.space() > 0),
                     evbuffer_get_length(out_.get()) > 0);
}

bool Http1StreamUpstream::OnResponseHeaders(bool* skip_body) {
  int status = parser_.status_code();
  if (status == 101) {
    return false;  // no upgrade was asked: an HTTP/2 stream cannot switch
  }
  if (status >= 100 && status < 200) {
    return true;  // interim (100 Continue): HTTP/2 clients need none from the edge
  }
  ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - sent_));
  *skip_body = head_request_;
  bool no_body = head_request_ || status == 204 || status == 304 ||
                 (parser_.has_content_length() && parser_.content_length() == 0);
  head_sent_ = true;
  sink_.on_head(status, RewriteResponseHeaders(parser_.headers()), no_body);
  return true;
}

bool Http1StreamUpstream::OnResponseBody(absl::string_view data) {
  if (!finished_) {
    sink_.on_data(data);
  }
  return true;
}

bool Http1StreamUpstream::OnResponseComplete() {
  if (!head_sent_) {
    parser_.Resume();  // after an interim response: the final one follows
    return true;
  }
  response_done_ = true;
  link_.StopTimer();
  if (finished_) {
    return true;
  }
  finished_ = true;
  // Reused only when the origin keeps it open and the whole request went.
  Release(parser_.keep_alive() && request_done_ && evbuffer_get_length(out_.get()) == 0);
  sink_.on_end({});
  return true;
}

void Http1StreamUpstream::Fail(int status, absl::string_view why) {
  if (finished_) {
    return;
  }
  finished_ = true;
  ctx_->metrics->OriginError();
  Release(false);
  sink_.on_failed(status, why);
}

bool Http1StreamUpstream::RetryOnFreshOrigin() {
  if (!link_.reused() || link_.answered() || !retryable_ || finished_) {
    return false;
  }
  ctx_->metrics->OriginRetry();
  Release(false);
  evbuffer_drain(out_.get(), evbuffer_get_length(out_.get()));
  evbuffer_add(out_.get(), head_.data(), head_.size());
  sent_ = absl::Now();
  Connect();
  return true;
}

void Http1StreamUpstream::Release(bool reusable) { link_.Release(reusable, pool_key_); }

}  // namespace certgate::edge
