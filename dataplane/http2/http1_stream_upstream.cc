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
      timer_(evtimer_new(ctx->base, &OnTimer, this)),
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
  origin_ = ctx_->origins->Take(pool_key_, /*check_open=*/!retryable_);
  if (origin_ != nullptr) {
    reused_ = true;
    origin_->Watch(ctx_->base, &OnOriginEvent, this);
    Connected();
    // The head goes out now; the answer is read when the socket says so
    // (reading at once would only find it empty).
    Flush();
    if (!finished_) {
      UpdateEvents();
    }
    return;
  }
  Connect();
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

bool Http1StreamUpstream::ready() const {
  return origin_ != nullptr && !connecting_ && !origin_->handshaking();
}

// --- connecting -------------------------------------------------------------

void Http1StreamUpstream::Connect() {
  // A literal or cached name is answered inside Resolve; else the answer
  // comes from the loop (the connect timeout covers the lookup too).
  resolving_ = true;
  uint64_t ticket = ctx_->resolver->Resolve(origin_host_, origin_port_,
                                            [this](absl::StatusOr<ResolvedAddress> addr) {
                                              resolving_ = false;
                                              resolve_ticket_ = 0;
                                              ConnectResolved(std::move(addr));
                                              sink_.kick();
                                            });
  if (resolving_) {
    resolve_ticket_ = ticket;
    ArmTimer(ctx_->options->origin_connect_timeout);
  }
}

void Http1StreamUpstream::ConnectResolved(absl::StatusOr<ResolvedAddress> addr) {
  if (finished_) {
    return;
  }
  if (!addr.ok()) {
    Fail(absl::IsDeadlineExceeded(addr.status()) ? 504 : 502, addr.status().message());
    return;
  }
  absl::StatusOr<OriginDial> dial = DialOrigin(*ctx_, *addr, DialTarget(), &OnOriginEvent, this);
  if (!dial.ok()) {
    Fail(502, dial.status().message());
    return;
  }
  origin_ = std::move(dial->transport);
  if (dial->connecting) {
    // A near origin (loopback, the same host) has often accepted already: a
    // plain one gets the request head at once, which spares watching for
    // writability and the SO_ERROR check. A socket still connecting says
    // EAGAIN, and the connect goes on as usual.
    if (origin_tls_ == nullptr && evbuffer_get_length(out_.get()) > 0) {
      int n = origin_->Write(out_.get());
      if (n > 0) {
        Connected();
        Flush();
        if (!finished_) {
          UpdateEvents();  // the answer is read when the socket says so
        }
        return;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        Fail(502, absl::StrCat("origin connect failed: ", strerror(errno)));
        return;
      }
    }
    connecting_ = true;
    ArmTimer(ctx_->options->origin_connect_timeout);
    UpdateEvents();
    return;
  }
  Connected();
  Drive();
}

void Http1StreamUpstream::Connected() {
  connecting_ = false;
  // A TLS handshake is part of connecting: it gets the connect timeout.
  bool handshaking = origin_->handshaking();
  ArmTimer(handshaking ? ctx_->options->origin_connect_timeout : ctx_->options->origin_timeout);
  if (handshaking) {
    Handshake();
  }
}

void Http1StreamUpstream::Handshake() {
  absl::StatusOr<bool> done = AdvanceOriginHandshake(*ctx_, *origin_, DialTarget());
  if (!done.ok()) {
    Fail(502, done.status().message());
  } else if (*done) {
    ArmTimer(ctx_->options->origin_timeout);
  }
}

OriginDialTarget Http1StreamUpstream::DialTarget() const {
  return OriginDialTarget{origin_host_, origin_port_, zone_hostname_, client_ip_, origin_tls_};
}

// --- events -----------------------------------------------------------------

void Http1StreamUpstream::OnOriginEvent(void* arg, OriginTransport*, short) {
  auto* self = static_cast<Http1StreamUpstream*>(arg);
  if (self->connecting_) {
    absl::Status connected = ConnectResult(*self->origin_);
    if (!connected.ok()) {
      self->Fail(502, connected.message());
      self->sink_.kick();
      return;
    }
    self->Connected();
  } else if (self->origin_ != nullptr && self->origin_->handshaking()) {
    self->Handshake();
  }
  self->Drive();
  self->sink_.kick();
}

void Http1StreamUpstream::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http1StreamUpstream*>(arg);
  if (self->finished_) {
    return;
  }
  if (self->resolving_) {
    self->Fail(504, absl::StrCat("resolving the origin \"", self->origin_host_, "\" timed out"));
  } else if (self->connecting_) {
    self->Fail(504, "origin connect timed out");
  } else if (self->origin_ != nullptr && self->origin_->handshaking()) {
    self->Fail(504, "origin TLS handshake timed out");
  } else if (self->head_sent_ && self->sink_.space() < kReadChunk) {
    // The client is slow to read, not the origin: keep waiting.
    self->ArmTimer(self->ctx_->options->origin_timeout);
    return;
  } else {
    self->Fail(504, "origin timed out");
  }
  self->sink_.kick();
}

void Http1StreamUpstream::ArmTimer(absl::Duration d) {
  timeval tv = absl::ToTimeval(d);
  evtimer_add(timer_.get(), &tv);
}

// --- the exchange -------------------------------------------------------------

void Http1StreamUpstream::Drive() {
  if (finished_ || !ready()) {
    if (!finished_ && origin_ != nullptr) {
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
  if (origin_->Send(out_.get()) == SslWriteResult::kFailed) {
    if (!RetryOnFreshOrigin()) {
      Fail(502, absl::StrCat("origin write failed: ", origin_->last_error()));
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
  while (!finished_ && !response_done_ && origin_ != nullptr) {
    // Only as much as the client's stream takes now: the rest waits in the
    // origin's socket, not in the edge.
    size_t space = head_sent_ ? std::min(sink_.space(), sizeof(buf)) : sizeof(buf);
    if (space == 0) {
      return;
    }
    ssize_t n = origin_->Read(buf, space);
    if (n > 0) {
      answered_ = true;
      ArmTimer(ctx_->options->origin_timeout);
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
    std::string why = n == 0 ? "origin closed the connection" : origin_->last_error();
    if (parser_.FeedEof() && response_done_) {
      return;  // a body delimited by the close
    }
    Fail(502, why);
    return;
  }
}

void Http1StreamUpstream::UpdateEvents() {
  if (origin_ == nullptr) {
    return;
  }
  if (connecting_) {
    origin_->WatchRead(false);
    origin_->WatchWrite(true);
    return;
  }
  if (origin_->handshaking()) {
    origin_->WatchRead(origin_->wants_read());
    origin_->WatchWrite(origin_->wants_write());
    return;
  }
  bool read = !response_done_ && (!head_sent_ || sink_.space() > 0);
  origin_->WatchRead(read);
  origin_->WatchWrite(evbuffer_get_length(out_.get()) > 0);
  if (read && origin_->Pending()) {
    origin_->ActivateRead();
  }
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
  evtimer_del(timer_.get());
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
  if (!reused_ || answered_ || !retryable_ || finished_) {
    return false;
  }
  ctx_->metrics->OriginRetry();
  Release(false);
  reused_ = false;
  evbuffer_drain(out_.get(), evbuffer_get_length(out_.get()));
  evbuffer_add(out_.get(), head_.data(), head_.size());
  sent_ = absl::Now();
  Connect();
  return true;
}

void Http1StreamUpstream::Release(bool reusable) {
  if (resolving_) {
    ctx_->resolver->Cancel(resolve_ticket_);
    resolving_ = false;
    resolve_ticket_ = 0;
  }
  if (timer_ != nullptr) {
    evtimer_del(timer_.get());
  }
  if (origin_ != nullptr) {
    if (reusable) {
      ctx_->origins->Put(pool_key_, std::move(origin_));
    }
    origin_.reset();  // closes the socket (after a close_notify over TLS)
  }
  connecting_ = false;
}

}  // namespace certgate::edge
