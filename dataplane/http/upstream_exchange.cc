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
      link_(ctx, this) {}

UpstreamExchange::~UpstreamExchange() { Close(); }

void UpstreamExchange::OnLinkEvent(short what) {
  if ((what & EV_READ) && link_.ready()) {
    Read();
  }
  owner_->Drive();
}

void UpstreamExchange::OnLinkFailed(int status, absl::string_view why) { Fail(status, why); }

void UpstreamExchange::OnLinkTimeout() {
  if ((link_.transport() != nullptr || stream_ != nullptr) &&
      owner_->ClientBacklog() > ctx_->options->buffer_high_watermark) {
    // The client is slow to read, not the origin: keep waiting.
    link_.ArmTimer(ctx_->options->origin_timeout);
    return;
  }
  if (exchange_->response_started) {
    owner_->Abort("origin timed out mid-response");
    return;
  }
  Fail(504, "origin timed out");
  owner_->Drive();
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
  if (!link_.TakePooled(zone_->origin_pool_key, /*check_open=*/!retryable_)) {
    Connect();
  }
}

void UpstreamExchange::Connect() {
  // No early bytes: a refusal must come from the loop, after the request
  // is whole, so that the 502 keeps the client's connection open.
  link_.Connect(OriginDialTarget{zone_->origin.host, zone_->origin.port, zone_->hostname,
                                 *client_ip_, zone_->origin_tls},
                /*early=*/nullptr);
}

void UpstreamExchange::Flush() {
  if (stream_ != nullptr) {
    FlushStream();
    return;
  }
  if (!link_.ready()) {
    return;
  }
  if (link_.transport()->Send(out_.get()) != SslWriteResult::kFailed) {
    return;
  }
  // The origin went away while we were sending.
  if (RetryOnFreshOrigin()) {
    return;
  }
  if (exchange_->response_started) {
    owner_->Abort("origin closed while receiving the request");
  } else {
    Fail(502, absl::StrCat("origin write failed: ", link_.transport()->last_error()));
  }
}

void UpstreamExchange::Read() {
  char buf[kReadChunk];
  while (link_.transport() != nullptr && !owner_->Closed() && !exchange_->response_complete &&
         owner_->ClientBacklog() < ctx_->options->buffer_high_watermark) {
    OriginTransport* origin = link_.transport();
    ssize_t n = origin->Read(buf, sizeof(buf));
    if (n > 0) {
      link_.MarkAnswered();
      link_.ArmTimer(ctx_->options->origin_timeout);
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
    std::string why = n == 0 ? "origin closed the connection" : origin->last_error();
    if (n < 0 && errno == EPROTO && origin->tls()) {
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
  BodyFraming framing = resp.has_content_length() ? BodyFraming::kContentLength
                        : no_body                 ? BodyFraming::kNone
                                                  : UnknownLengthFraming();
  SendResponseHead(status, resp.status_text(), resp.headers(), framing, resp.content_length());
  return true;
}

BodyFraming UpstreamExchange::UnknownLengthFraming() const {
  return client_->http11 ? BodyFraming::kChunked : BodyFraming::kUntilClose;
}

void UpstreamExchange::SendResponseHead(int status, absl::string_view reason,
                                        const HttpHeaders& fields, BodyFraming framing,
                                        uint64_t length) {
  exchange_->response_framing = framing;
  // A body that ends with the connection ends the connection.
  client_->keep_alive = client_->keep_alive && framing != BodyFraming::kUntilClose &&
                        !owner_->Draining() && !ctx_->draining;
  std::string& head = HeadScratch();
  AppendProxiedResponseHead(&head, status, reason, fields, framing, length, client_->keep_alive);
  exchange_->response_started = true;
  owner_->AppendToClient(head);
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
  if (!link_.reused() || link_.answered() || !retryable_) {
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
  const std::string no_pool;
  link_.Release(reusable && out_ != nullptr && evbuffer_get_length(out_.get()) == 0,
                zone_ != nullptr ? zone_->origin_pool_key : no_pool);
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
  bool origin_read = !exchange_->response_complete &&
                     owner_->ClientBacklog() < ctx_->options->buffer_high_watermark;
  link_.UpdateEvents(origin_read, evbuffer_get_length(out_.get()) > 0);
}

std::unique_ptr<OriginTransport> UpstreamExchange::TakeOrigin() { return link_.TakeTransport(); }

// --- HTTP/2 origins ----------------------------------------------------------------

void UpstreamExchange::StartStream(const ZoneConfig* zone, const std::string& client_ip,
                                   OriginRequest request, bool has_body) {
  zone_ = zone;
  client_ip_ = &client_ip;
  retryable_ = false;  // a stream is never resent
  sent_ = absl::Now();
  stream_finished_ = !has_body;
  stream_ = ctx_->h2_origins->Open(*zone_, std::move(request), !has_body, this, client_ip);
  link_.ArmTimer(ctx_->options->origin_timeout);
}

void UpstreamExchange::FlushStream() {
  absl::StatusOr<size_t> sent = SendBufferedBody(*stream_, out_.get());
  if (!sent.ok()) {
    Fail(502, sent.status().message());
    return;
  }
  if (evbuffer_get_length(out_.get()) > 0) {
    return;  // the rest when OnOriginWritable comes
  }
  if (exchange_->request_complete && !stream_finished_) {
    stream_finished_ = true;
    absl::Status finished = stream_->Finish(std::move(exchange_->request_trailers));
    if (!finished.ok()) {
      Fail(502, finished.message());
    }
  }
}

void UpstreamExchange::OnOriginResponse(int status, HttpHeaders fields, bool end_stream) {
  ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - sent_));
  link_.ArmTimer(ctx_->options->origin_timeout);
  exchange_->status_code = status;
  bool no_body = exchange_->head_request || status == 204 || status == 304;
  uint64_t length = 0;
  const std::string* declared = FindHeader(fields, "content-length");
  BodyFraming framing = UnknownLengthFraming();
  if (no_body) {
    framing = BodyFraming::kNone;
  } else if (end_stream) {
    framing = BodyFraming::kContentLength;  // empty
  } else if (declared != nullptr && absl::SimpleAtoi(*declared, &length)) {
    // nghttp2 checks the DATA frames against it.
    framing = BodyFraming::kContentLength;
  }
  SendResponseHead(status, "", fields, framing, length);
  owner_->Drive();
}

void UpstreamExchange::OnOriginData(absl::string_view data) {
  link_.ArmTimer(ctx_->options->origin_timeout);
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
  link_.StopTimer();
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
  out_.reset();
}

}  // namespace certgate::edge
