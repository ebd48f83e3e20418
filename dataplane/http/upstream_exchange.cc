#include "dataplane/http/upstream_exchange.h"

#include <event2/buffer.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/multiplexed_origins.h"
#include "dataplane/http/origin_dial.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

// HeadScratch: an empty string for building a response head, kept per
// thread so that its capacity is reused from request to request.
std::string& HeadScratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
}

}  // namespace

UpstreamExchange::UpstreamExchange(WorkerContext* ctx, Owner* owner, Exchange* exchange,
                                   ClientPersistence* client)
    : ctx_(ctx),
      owner_(owner),
      exchange_(exchange),
      client_(client),
      out_(evbuffer_new()),
      timer_ev_(evtimer_new(ctx->base, &OnTimer, this)) {}

UpstreamExchange::~UpstreamExchange() { Close(); }

void UpstreamExchange::ArmTimer(absl::Duration d) {
  timeval tv = absl::ToTimeval(d);
  evtimer_add(timer_ev_.get(), &tv);
}

void UpstreamExchange::OnOriginEvent(void* arg, OriginTransport*, short what) {
  auto* self = static_cast<UpstreamExchange*>(arg);
  if (self->connecting_) {
    absl::Status connected = ConnectResult(*self->origin_);
    if (!connected.ok()) {
      self->Fail(502, connected.message());
      self->owner_->Drive();
      return;
    }
    self->Connected();
  } else if (self->origin_ != nullptr && self->origin_->handshaking()) {
    self->Handshake();
  }
  if ((what & EV_READ) && self->origin_ != nullptr && !self->origin_->handshaking()) {
    self->Read();
  }
  self->owner_->Drive();
}

void UpstreamExchange::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<UpstreamExchange*>(arg);
  if (self->resolving_) {
    self->Fail(504,
               absl::StrCat("resolving the origin \"", self->zone_->origin.host, "\" timed out"));
  } else if (self->connecting_) {
    self->Fail(504, "origin connect timed out");
  } else if (self->origin_ != nullptr && self->origin_->handshaking()) {
    self->Fail(504, "origin TLS handshake timed out");
  } else if ((self->origin_ != nullptr || self->stream_ != nullptr) &&
             self->owner_->ClientBacklog() > self->ctx_->options->buffer_high_watermark) {
    // The client is slow to read, not the origin: keep waiting.
    self->ArmTimer(self->ctx_->options->origin_timeout);
    return;
  } else if (!self->exchange_->response_started) {
    self->Fail(504, "origin timed out");
  } else {
    self->owner_->Abort("origin timed out mid-response");
    return;
  }
  self->owner_->Drive();
}

void UpstreamExchange::Start(const ZoneConfig* zone, const std::string& client_ip, bool retryable) {
  zone_ = zone;
  client_ip_ = &client_ip;
  retryable_ = retryable;
  if (response_parser_ == nullptr) {
    response_parser_ = std::make_unique<MessageParser>(
        HTTP_RESPONSE, ParserLimits{1 << 20, 1000},
        MessageParser::Callbacks{
            nullptr,
            [this](bool* skip) { return OnResponseHeaders(skip); },
            [this](absl::string_view data) { return OnResponseBody(data); },
            [this] { return OnResponseComplete(); },
        });
  } else {
    response_parser_->Reset();
  }
  sent_ = absl::Now();
  // A request RetryOnFreshOrigin may resend needs no check that the pooled
  // connection is still open (one recv): a closed one is retried.
  origin_ = ctx_->origins->Take(zone_->origin_pool_key, /*check_open=*/!retryable_);
  if (origin_ != nullptr) {
    reused_ = true;
    answered_ = false;
    origin_->Watch(ctx_->base, &OnOriginEvent, this);
    Connected();
    return;
  }
  Connect();
}

void UpstreamExchange::Connect() {
  // A literal or cached name is answered inside Resolve; else the answer
  // comes from the loop (the connect timeout covers the lookup too).
  resolving_ = true;
  resolve_inline_ = true;
  uint64_t ticket = ctx_->resolver->Resolve(zone_->origin.host, zone_->origin.port,
                                            [this](absl::StatusOr<ResolvedAddress> addr) {
                                              resolving_ = false;
                                              resolve_ticket_ = 0;
                                              ConnectResolved(std::move(addr));
                                              if (!resolve_inline_) {
                                                // Called from the loop: nobody else will.
                                                owner_->Drive();
                                              }
                                            });
  resolve_inline_ = false;
  if (resolving_) {
    resolve_ticket_ = ticket;
    ArmTimer(ctx_->options->origin_connect_timeout);
  }
}

void UpstreamExchange::ConnectResolved(absl::StatusOr<ResolvedAddress> addr) {
  if (owner_->Closed()) {
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
  reused_ = false;
  answered_ = false;
  if (dial->connecting) {
    connecting_ = true;
    ArmTimer(ctx_->options->origin_connect_timeout);
    return;
  }
  Connected();
}

OriginDialTarget UpstreamExchange::DialTarget() const {
  return OriginDialTarget{zone_->origin.host, zone_->origin.port, zone_->hostname, *client_ip_,
                          zone_->origin_tls};
}

void UpstreamExchange::Connected() {
  connecting_ = false;
  // A TLS handshake is part of connecting: it gets the connect timeout.
  bool handshaking = origin_->handshaking();
  ArmTimer(handshaking ? ctx_->options->origin_connect_timeout : ctx_->options->origin_timeout);
  if (handshaking) {
    Handshake();
  }
}

void UpstreamExchange::Handshake() {
  absl::StatusOr<bool> done = AdvanceOriginHandshake(*ctx_, *origin_, DialTarget());
  if (!done.ok()) {
    Fail(502, done.status().message());
  } else if (*done) {
    ArmTimer(ctx_->options->origin_timeout);
  }
}

void UpstreamExchange::Flush() {
  if (stream_ != nullptr) {
    FlushStream();
    return;
  }
  if (origin_ == nullptr || connecting_ || origin_->handshaking()) {
    return;
  }
  if (origin_->Send(out_.get()) != SslWriteResult::kFailed) {
    return;
  }
  // The origin went away while we were sending.
  if (RetryOnFreshOrigin()) {
    return;
  }
  if (exchange_->response_started) {
    owner_->Abort("origin closed while receiving the request");
  } else {
    Fail(502, absl::StrCat("origin write failed: ", origin_->last_error()));
  }
}

void UpstreamExchange::Read() {
  char buf[kReadChunk];
  while (origin_ != nullptr && !owner_->Closed() && !exchange_->response_complete &&
         owner_->ClientBacklog() < ctx_->options->buffer_high_watermark) {
    ssize_t n = origin_->Read(buf, sizeof(buf));
    if (n > 0) {
      answered_ = true;
      ArmTimer(ctx_->options->origin_timeout);
      size_t used = response_parser_->Feed(buf, static_cast<size_t>(n));
      if (owner_->Closed()) {
        return;
      }
      if (exchange_->switching) {
        owner_->OnSwitched(absl::string_view(buf + used, static_cast<size_t>(n) - used));
        return;
      }
      if (response_parser_->error() != MessageParser::Error::kNone) {
        if (exchange_->response_started) {
          owner_->Abort("malformed response from the origin");
        } else {
          Fail(502, absl::StrCat("malformed response from the origin: ",
                                 response_parser_->error_detail()));
        }
        return;
      }
      if (used < static_cast<size_t>(n) && !exchange_->response_complete) {
        owner_->Abort("unexpected bytes from the origin");
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    // EOF or reset.
    if (RetryOnFreshOrigin()) {
      return;
    }
    std::string why = n == 0 ? "origin closed the connection" : origin_->last_error();
    if (n < 0 && errno == EPROTO && origin_->tls()) {
      // A TLS alert, e.g. the origin refused the edge's client certificate
      // (TLS 1.3 tells the client after its side of the handshake).
      ctx_->connection_log->Write(FormatOriginFailureLogLine(absl::Now(), "origin_tls_failed",
                                                             *client_ip_, zone_->hostname, why));
    }
    if (response_parser_->FeedEof() && exchange_->response_complete) {
      return;  // a body delimited by the close
    }
    if (exchange_->response_started) {
      owner_->Abort(why);
    } else {
      Fail(502, why);
    }
    return;
  }
}

bool UpstreamExchange::OnResponseHeaders(bool* skip_body) {
  const MessageParser& resp = *response_parser_;
  int status = resp.status_code();
  if (status == 101) {
    // Only an answer to an upgrade request, agreeing to it, without a body;
    // anything else would leave the two sides disagreeing on what follows.
    if (exchange_->upgrade.empty() || !resp.upgrade() || resp.has_content_length() ||
        resp.chunked() || CountHeader(resp.headers(), "upgrade") != 1) {
      return false;
    }
    ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - sent_));
    exchange_->status_code = status;
    exchange_->switching = true;
    exchange_->response_started = true;
    owner_->AppendToClient(SerializeUpgradeResponseHead(resp.status_text(),
                                                        RewriteResponseHeaders(resp.headers()),
                                                        *FindHeader(resp.headers(), "upgrade")));
    return true;
  }
  if (status >= 100 && status < 200) {
    exchange_->interim_response = true;  // e.g. 100 Continue: the edge answered Expect itself
    return true;
  }
  exchange_->interim_response = false;
  ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - sent_));
  *skip_body = exchange_->head_request;
  exchange_->status_code = status;
  bool no_body = exchange_->head_request || status == 204 || status == 304;
  if (resp.has_content_length()) {
    exchange_->response_framing = BodyFraming::kContentLength;
  } else if (no_body) {
    exchange_->response_framing = BodyFraming::kNone;
  } else if (client_->http11) {
    exchange_->response_framing = BodyFraming::kChunked;
  } else {
    exchange_->response_framing = BodyFraming::kUntilClose;
    client_->keep_alive = false;
  }
  client_->keep_alive = client_->keep_alive && !owner_->Draining() && !ctx_->draining;
  std::string& head = HeadScratch();
  AppendProxiedResponseHead(&head, status, resp.status_text(), resp.headers(),
                            exchange_->response_framing, resp.content_length(),
                            client_->keep_alive);
  exchange_->response_started = true;
  owner_->AppendToClient(head);
  return true;
}

bool UpstreamExchange::OnResponseBody(absl::string_view data) {
  if (exchange_->response_framing == BodyFraming::kChunked) {
    owner_->AppendToClient(ChunkHeader(data.size()));
    owner_->AppendToClient(data);
    owner_->AppendToClient("\r\n");
  } else {
    owner_->AppendToClient(data);
  }
  return true;
}

bool UpstreamExchange::OnResponseComplete() {
  if (exchange_->switching) {
    // Read hands the connection to the relay as soon as Feed returns.
    exchange_->response_complete = true;
    owner_->OnSwitchingLogged();
    return true;
  }
  if (exchange_->interim_response) {
    exchange_->interim_response = false;
    response_parser_->Resume();
    return true;
  }
  if (exchange_->response_framing == BodyFraming::kChunked) {
    owner_->AppendToClient("0\r\n\r\n");
  }
  exchange_->response_complete = true;
  // An origin that refused an upgrade is not reused: it saw a request whose
  // continuation it may still expect.
  Release(response_parser_->keep_alive() && exchange_->request_complete &&
          exchange_->upgrade.empty());
  owner_->OnResponseDone();
  return true;
}

void UpstreamExchange::Fail(int status, absl::string_view why) {
  ctx_->metrics->OriginError();
  Release(false);
  if (exchange_->response_started) {
    owner_->Abort(why);
    return;
  }
  owner_->AnswerOriginFailure(status, why);
}

bool UpstreamExchange::RetryOnFreshOrigin() {
  // Like nginx with upstream keepalive: a request that went out on a reused
  // connection and got nothing back is resent once on a new one; a fresh
  // connection is never retried.
  if (!reused_ || answered_ || !retryable_) {
    return false;
  }
  ctx_->metrics->OriginRetry();
  Release(false);
  owner_->QueueOriginRequestHead(out_.get());
  sent_ = absl::Now();
  Connect();
  return true;
}

void UpstreamExchange::Release(bool reusable) {
  if (resolving_) {
    ctx_->resolver->Cancel(resolve_ticket_);
    resolving_ = false;
    resolve_ticket_ = 0;
  }
  if (timer_ev_ != nullptr) {
    evtimer_del(timer_ev_.get());
  }
  if (origin_ != nullptr) {
    if (reusable && evbuffer_get_length(out_.get()) == 0) {
      ctx_->origins->Put(zone_->origin_pool_key, std::move(origin_));
    }
    origin_.reset();  // closes the socket (after a close_notify over TLS)
  }
  connecting_ = false;
  // Resets the stream at the origin unless it ended.
  stream_.reset();
  stream_finished_ = false;
  stream_unconsumed_ = 0;
  stream_trailers_.clear();
  if (out_ != nullptr) {
    evbuffer_drain(out_.get(), evbuffer_get_length(out_.get()));
  }
}

void UpstreamExchange::UpdateEvents() {
  if (stream_ != nullptr && stream_unconsumed_ > 0 &&
      owner_->ClientBacklog() < ctx_->options->buffer_high_watermark) {
    // The client took the bytes: the origin may send as much more.
    stream_->Consume(stream_unconsumed_);
    stream_unconsumed_ = 0;
  }
  if (origin_ == nullptr) {
    return;
  }
  bool origin_read = !connecting_ && !exchange_->response_complete &&
                     owner_->ClientBacklog() < ctx_->options->buffer_high_watermark;
  bool origin_write = connecting_ || evbuffer_get_length(out_.get()) > 0;
  if (!connecting_ && origin_->handshaking()) {
    origin_read = origin_->wants_read();
    origin_write = origin_->wants_write();
  }
  origin_->WatchRead(origin_read);
  origin_->WatchWrite(origin_write);
  // Like the client side: bytes decrypted inside the origin's SSL never
  // make its socket readable.
  if (origin_read && origin_->Pending()) {
    origin_->ActivateRead();
  }
}

std::unique_ptr<OriginTransport> UpstreamExchange::TakeOrigin() {
  if (origin_ != nullptr) {
    origin_->Unwatch();
  }
  evtimer_del(timer_ev_.get());
  return std::move(origin_);
}

// --- HTTP/2 origins ----------------------------------------------------------------

void UpstreamExchange::StartStream(const ZoneConfig* zone, const std::string& client_ip,
                                   OriginRequest request, bool has_body) {
  zone_ = zone;
  client_ip_ = &client_ip;
  retryable_ = false;  // a stream is never resent
  sent_ = absl::Now();
  stream_finished_ = !has_body;
  stream_ = ctx_->h2_origins->Open(*zone_, std::move(request), !has_body, this, client_ip);
  ArmTimer(ctx_->options->origin_timeout);
}

void UpstreamExchange::FlushStream() {
  while (evbuffer_get_length(out_.get()) > 0) {
    size_t space = stream_->SendSpace();
    if (space == 0) {
      return;  // OnOriginWritable comes when it grows
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(out_.get(), -1, nullptr, &vec, 1) < 1) {
      return;
    }
    size_t n = std::min(space, vec.iov_len);
    absl::Status sent = stream_->SendData(absl::string_view(static_cast<char*>(vec.iov_base), n));
    if (absl::IsResourceExhausted(sent)) {
      return;
    }
    if (!sent.ok()) {
      Fail(502, sent.message());
      return;
    }
    evbuffer_drain(out_.get(), n);
  }
  if (exchange_->request_complete && !stream_finished_) {
    stream_finished_ = true;
    absl::Status finished = stream_->Finish({});
    if (!finished.ok()) {
      Fail(502, finished.message());
    }
  }
}

void UpstreamExchange::OnOriginResponse(int status, HttpHeaders fields, bool end_stream) {
  ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - sent_));
  ArmTimer(ctx_->options->origin_timeout);
  exchange_->status_code = status;
  bool no_body = exchange_->head_request || status == 204 || status == 304;
  uint64_t length = 0;
  const std::string* declared = FindHeader(fields, "content-length");
  if (no_body) {
    exchange_->response_framing = BodyFraming::kNone;
  } else if (end_stream) {
    exchange_->response_framing = BodyFraming::kContentLength;  // empty
  } else if (declared != nullptr && absl::SimpleAtoi(*declared, &length)) {
    // nghttp2 checks the DATA frames against it.
    exchange_->response_framing = BodyFraming::kContentLength;
  } else if (client_->http11) {
    exchange_->response_framing = BodyFraming::kChunked;
  } else {
    exchange_->response_framing = BodyFraming::kUntilClose;
    client_->keep_alive = false;
  }
  client_->keep_alive = client_->keep_alive && !owner_->Draining() && !ctx_->draining;
  std::string& head = HeadScratch();
  AppendProxiedResponseHead(&head, status, "", fields, exchange_->response_framing, length,
                            client_->keep_alive);
  exchange_->response_started = true;
  owner_->AppendToClient(head);
  owner_->Drive();
}

void UpstreamExchange::OnOriginData(absl::string_view data) {
  ArmTimer(ctx_->options->origin_timeout);
  stream_unconsumed_ += data.size();
  if (exchange_->response_framing == BodyFraming::kNone) {
    // HEAD, 204, 304: nothing is sent on.
  } else if (exchange_->response_framing == BodyFraming::kChunked) {
    owner_->AppendToClient(ChunkHeader(data.size()));
    owner_->AppendToClient(data);
    owner_->AppendToClient("\r\n");
  } else {
    owner_->AppendToClient(data);
  }
  owner_->Drive();
}

void UpstreamExchange::OnOriginTrailers(HttpHeaders trailers) {
  stream_trailers_ = RewriteResponseHeaders(trailers);
}

void UpstreamExchange::OnOriginEnd() {
  if (exchange_->response_framing == BodyFraming::kChunked) {
    // The trailers ride in the last chunk (gRPC status over HTTP/1.1).
    std::string last = "0\r\n";
    for (const HttpHeader& h : stream_trailers_) {
      absl::StrAppend(&last, h.name, ": ", h.value, "\r\n");
    }
    last.append("\r\n");
    owner_->AppendToClient(last);
  }
  exchange_->response_complete = true;
  // The stream is done; one still sending its body is reset.
  Release(false);
  owner_->OnResponseDone();
  owner_->Drive();
}

void UpstreamExchange::OnOriginFailed(int status, std::string why) {
  Fail(status, why);
  owner_->Drive();
}

void UpstreamExchange::OnOriginWritable() { owner_->Drive(); }

void UpstreamExchange::OnOriginHttp1() {
  // Nothing was sent on the stream: the body read so far waits in out_,
  // unframed. It goes after the HTTP/1.1 head, framed.
  stream_.reset();
  stream_finished_ = false;
  EvbufferPtr body(evbuffer_new());
  evbuffer_add_buffer(body.get(), out_.get());
  evtimer_del(timer_ev_.get());
  owner_->QueueOriginRequestHead(out_.get());
  // A body-less idempotent request could be resent; one with a body not.
  Start(zone_, *client_ip_, /*retryable=*/false);
  if (!owner_->Closed() && exchange_->action == ExchangeAction::kProxy &&
      !exchange_->response_started) {
    size_t n = evbuffer_get_length(body.get());
    if (exchange_->request_chunked) {
      if (n > 0) {
        std::string head = ChunkHeader(n);
        evbuffer_add(out_.get(), head.data(), head.size());
        evbuffer_add_buffer(out_.get(), body.get());
        evbuffer_add(out_.get(), "\r\n", 2);
      }
      if (exchange_->request_complete) {
        evbuffer_add(out_.get(), "0\r\n\r\n", 5);
      }
    } else {
      evbuffer_add_buffer(out_.get(), body.get());
    }
  }
  owner_->Drive();
}

void UpstreamExchange::Close() {
  Release(false);
  timer_ev_.reset();
  out_.reset();
}

}  // namespace certgate::edge
