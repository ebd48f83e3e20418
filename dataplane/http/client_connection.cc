#include "dataplane/http/client_connection.h"

#include <event2/buffer.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/unique_fd.h"
#include "common/zone_defaults.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/multiplexed_origins.h"
#include "dataplane/http/origin_stream.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/request_decision.h"
#include "dataplane/http/upgrade_relay.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"
#include "dataplane/metrics/worker_metrics.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

const char* StatusToken(CertStatus status) {
  switch (status) {
    case CertStatus::kValid:
      return "valid";
    case CertStatus::kInvalid:
      return "invalid";
    default:
      return "none";
  }
}

// HeadScratch: an empty string for building a request head, kept per
// thread so that its capacity is reused from request to request.
std::string& HeadScratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
}

std::string JsonError(absl::string_view message) {
  return absl::StrCat("{\"error\":", JsonQuote(message), "}");
}

}  // namespace

ClientConnection::ClientConnection(WorkerContext* ctx, int fd, std::string client_ip)
    : ctx_(ctx),
      client_ip_(std::move(client_ip)),
      transport_(ctx->base, UniqueFd(fd), this),
      request_parser_(HTTP_REQUEST, ctx->options->limits,
                      MessageParser::Callbacks{
                          [this] { OnRequestBegin(); },
                          [this](bool*) { return OnRequestHeaders(); },
                          [this](absl::string_view data) { return OnRequestBody(data); },
                          [this] { return OnRequestComplete(); },
                      }),
      upstream_(ctx, this, &exchange_, &client_) {}

ClientConnection::~ClientConnection() { CloseInternal(/*notify=*/false); }

void ClientConnection::Start() {
  opened_ = true;
  ctx_->metrics->ConnectionOpened();
  client_timer_ev_.reset(evtimer_new(ctx_->base, &OnClientTimer, this));
  ArmClientTimer(TimerKind::kHandshake);
  if (!transport_.Start(ctx_->tls->NewSsl())) {
    Close();
  }
}

void ClientConnection::Drain() {
  draining_ = true;
  if (closed()) {
    return;
  }
  if (state_ == ConnectionState::kUpgraded) {
    // An upgraded connection has no request boundary to wait for.
    Close();
    return;
  }
  if (state_ == ConnectionState::kDriven) {
    driver_->Drain();
    return;
  }
  // Only idle keep-alive connections close at once (clients retry those). A
  // connection still in its handshake or before its first request may have
  // been accepted just before a hand-over to a new edge: it is served once,
  // with Connection: close, within its timeouts and the drain timeout.
  if (!handshaking() && exchanges_ > 0 && exchange_.action == ExchangeAction::kNone &&
      !request_parser_.in_message()) {
    Close();
  }
}

// --- events -----------------------------------------------------------------

void ClientConnection::OnReady() { Drive(); }

void ClientConnection::OnLingerDone() { Close(); }

void ClientConnection::OnClientTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ClientConnection*>(arg);
  TimerKind kind = self->timer_kind_;
  self->timer_kind_ = TimerKind::kNone;
  switch (kind) {
    case TimerKind::kHandshake:
      self->ctx_->connection_log->Write(FormatConnectionLogLine(
          absl::Now(), self->client_ip_, self->transport_.sni(), "handshake timeout"));
      self->ctx_->tls->NoteHandshakeFailed(self->transport_.ssl());
      self->Close();
      return;
    case TimerKind::kHeaders:
      // Slow or stuck request head: answer 408 and hang up.
      self->exchange_.request_complete = true;
      self->Respond(408, "application/json", JsonError("request headers timed out"), false);
      self->FinishExchange();
      self->Drive();
      return;
    case TimerKind::kIdle:
      self->Close();
      return;
    case TimerKind::kBody:
      self->Abort("request body timed out");
      return;
    case TimerKind::kLinger:
      self->Close();
      return;
    case TimerKind::kNone:
      return;
  }
}

// --- handshake ----------------------------------------------------------------

void ClientConnection::OnHandshakeFailed(absl::string_view reason) {
  ctx_->connection_log->Write(
      FormatConnectionLogLine(absl::Now(), client_ip_, transport_.sni(), reason));
  ctx_->tls->NoteHandshakeFailed(transport_.ssl());
  Close();
}

void ClientConnection::OnHandshakeDone() {
  state_ = ConnectionState::kOpen;
  auth_ = TlsServer::GetAuth(transport_.ssl());
  zone_ = auth_ != nullptr ? auth_->zone : nullptr;
  if (zone_ == nullptr) {
    ctx_->connection_log->Write(
        FormatConnectionLogLine(absl::Now(), client_ip_, "", "no zone after handshake"));
    Close();
    return;
  }
  cert_status_ = StatusToken(auth_->status);
  cert_headers_ = ComputeCertificateHeaders(*zone_, *auth_);
  ctx_->metrics->CertificateSeen(zone_->hostname, cert_status_, auth_->reason);
  // THE PROTOCOL HAND-OVER POINT. The handshake is done and the zone is
  // known; transport_.alpn() says which protocol the client and the edge
  // agreed on ("h2", "http/1.1" or "" for none). For h2 the HTTP/2 driver
  // (dataplane/http2, a layer above, built through ctx_->http2_driver)
  // takes over: StartDriver stops the transport's events and lends it the
  // SSL and socket, which transport_ keeps owning; this connection's
  // HTTP/1.1 request path (Drive, request_parser_) is then never used.
  // Everything below is HTTP/1.1.
  if (transport_.alpn() == "h2") {
    StartDriver();
    return;
  }
  ArmClientTimer(TimerKind::kIdle);
  Drive();
}

void ClientConnection::StartDriver() {
  if (!ctx_->http2_driver) {
    ctx_->connection_log->Write(FormatConnectionLogLine(absl::Now(), client_ip_, zone_->hostname,
                                                        "h2 negotiated but not served"));
    Close();
    return;
  }
  // The driver reads whenever its own events say so.
  transport_.StopEvents();
  ArmClientTimer(TimerKind::kNone);
  state_ = ConnectionState::kDriven;
  driver_ = ctx_->http2_driver(ProtocolDriver::Connection{ctx_, transport_.ssl(), transport_.fd(),
                                                          auth_, client_ip_, [this] { Close(); }});
  driver_->Start();
}

bool ClientConnection::FollowConfigChange() {
  ZoneRecheck recheck = ctx_->tls->Recheck(transport_.ssl());
  if (recheck == ZoneRecheck::kGone) {
    return false;
  }
  if (recheck == ZoneRecheck::kUnchanged) {
    // The zone object is the same, but the config holding it may be new.
    zone_ = auth_->zone;
    return true;
  }
  zone_ = auth_->zone;
  cert_status_ = StatusToken(auth_->status);
  cert_headers_ = ComputeCertificateHeaders(*zone_, *auth_);
  ctx_->metrics->CertificateSeen(zone_->hostname, cert_status_, auth_->reason);
  return true;
}

// --- the client side -------------------------------------------------------------

void ClientConnection::Drive() {
  if (closed() || lingering() || state_ == ConnectionState::kUpgraded ||
      state_ == ConnectionState::kDriven) {
    return;
  }
  ProcessClientInput();
  if (closed()) {
    return;
  }
  ReadClient();
  if (closed()) {
    return;
  }
  upstream_.Flush();
  if (closed()) {
    return;
  }
  // A stream takes the body as its flow control allows: body bytes read
  // but not parsed (parsing paused while upstream_.out() was full) make no
  // socket event, so they are parsed as soon as the stream took the rest.
  while (upstream_.streaming() && evbuffer_get_length(upstream_.out()) == 0 &&
         !request_parser_.paused()) {
    size_t unparsed = evbuffer_get_length(transport_.in());
    if (unparsed == 0) {
      break;
    }
    ProcessClientInput();
    if (closed()) {
      return;
    }
    if (evbuffer_get_length(transport_.in()) == unparsed) {
      break;
    }
    upstream_.Flush();
    if (closed()) {
      return;
    }
  }
  FlushClient();
  if (closed()) {
    return;
  }
  UpdateEvents();
}

bool ClientConnection::ReadingAllowed() const {
  // Not while responses wait for the client: answers the edge makes itself
  // (403, 421...) never pause the parser, so a client that pipelines
  // requests and reads nothing would otherwise pile them up here.
  return !handshaking() && !closed() && !client_eof_ && !close_after_flush_ &&
         !request_parser_.paused() &&
         evbuffer_get_length(upstream_.out()) < ctx_->options->buffer_high_watermark &&
         evbuffer_get_length(transport_.out()) < ctx_->options->buffer_high_watermark &&
         evbuffer_get_length(transport_.in()) < kReadChunk * 4;
}

void ClientConnection::ReadClient() {
  // Without a readiness hint (the last read came back short and the loop
  // has not said "readable" since) the read would only return EAGAIN.
  while (ReadingAllowed() && transport_.MaybeReadable()) {
    switch (transport_.Read()) {
      case TlsTransport::ReadResult::kData:
        if (timer_kind_ == TimerKind::kBody) {
          ArmClientTimer(TimerKind::kBody);
        }
        ProcessClientInput();
        if (closed()) {
          return;
        }
        continue;
      case TlsTransport::ReadResult::kWouldBlock:
        return;
      case TlsTransport::ReadResult::kEnd:
        break;
    }
    // Clean close_notify, a bare FIN, or a TLS error.
    client_eof_ = true;
    if (exchange_.action == ExchangeAction::kNone && !request_parser_.in_message()) {
      if (evbuffer_get_length(transport_.out()) > 0) {
        close_after_flush_ = true;  // the last response is still on its way
      } else {
        Close();
      }
    } else if (!exchange_.request_complete) {
      Abort("client closed mid-request");
    }
    // Else: the response may still be sent; then the connection closes.
    return;
  }
}

void ClientConnection::ProcessClientInput() {
  evbuffer* in = transport_.in();
  while (!closed() && evbuffer_get_length(in) > 0 && !request_parser_.paused()) {
    if (close_after_flush_) {
      evbuffer_drain(in, evbuffer_get_length(in));
      return;
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) {
      return;
    }
    size_t n = request_parser_.Feed(static_cast<const char*>(vec.iov_base), vec.iov_len);
    if (closed()) {
      return;
    }
    evbuffer_drain(in, n);
    if (request_parser_.error() != MessageParser::Error::kNone) {
      OnRequestError();
      return;
    }
    if (evbuffer_get_length(upstream_.out()) >= ctx_->options->buffer_high_watermark) {
      return;  // backpressure: the origin is slower than the client
    }
    if (n == 0) {
      return;
    }
  }
}

void ClientConnection::FlushClient() {
  if (lingering()) {
    return;
  }
  switch (transport_.Flush()) {
    case SslWriteResult::kDone:
      break;
    case SslWriteResult::kBlocked:
      return;
    case SslWriteResult::kFailed:
      Close();  // the client went away
      return;
  }
  if (close_after_flush_ || (client_eof_ && exchange_.action == ExchangeAction::kNone)) {
    LingeringClose();
  }
}

void ClientConnection::LingeringClose() {
  transport_.SendCloseNotify();
  if (client_eof_) {
    Close();
    return;
  }
  state_ = ConnectionState::kDraining;
  ArmClientTimer(TimerKind::kLinger);
  transport_.StartLinger();
}

void ClientConnection::UpdateEvents() {
  if (closed()) {
    return;
  }
  if (lingering()) {
    transport_.UpdateEvents(true);
    return;
  }
  upstream_.UpdateEvents();
  transport_.UpdateEvents(handshaking() || ReadingAllowed());
}

void ClientConnection::ArmClientTimer(TimerKind kind) {
  timer_kind_ = kind;
  absl::Duration d;
  switch (kind) {
    case TimerKind::kHandshake:
      d = ctx_->options->handshake_timeout;
      break;
    case TimerKind::kHeaders:
      d = ctx_->options->header_timeout;
      break;
    case TimerKind::kIdle:
    case TimerKind::kBody:
      d = ctx_->options->idle_timeout;
      break;
    case TimerKind::kLinger:
      d = absl::Seconds(2);
      break;
    case TimerKind::kNone:
      evtimer_del(client_timer_ev_.get());
      return;
  }
  timeval tv = absl::ToTimeval(d);
  evtimer_add(client_timer_ev_.get(), &tv);
}

// --- requests -------------------------------------------------------------------

void ClientConnection::OnRequestBegin() {
  ResetExchange();
  exchange_.start = absl::Now();
  ArmClientTimer(TimerKind::kHeaders);
}

bool ClientConnection::OnRequestHeaders() {
  const MessageParser& req = request_parser_;
  exchange_.method = req.method_name();
  exchange_.path = req.url();
  exchange_.bytes_in = req.header_bytes();
  client_.http11 = req.http_major() == 1 && req.http_minor() >= 1;
  // After an upgrade request the bytes may be another protocol: whatever
  // the answer, none is parsed as a next request.
  client_.keep_alive = req.keep_alive() && !req.upgrade() && !draining_ && !ctx_->draining;
  exchange_.head_request = req.method() == HTTP_HEAD;
  exchange_.request_chunked = req.chunked();
  ArmClientTimer(TimerKind::kBody);

  if (!FollowConfigChange()) {
    Respond(421, "application/json",
            JsonError("this connection's zone has changed or is gone; connect again"), false);
    return true;
  }
  RequestDecision decision = DecideRequest(*zone_, *auth_, exchange_.method, exchange_.path,
                                           req.headers(), client_.keep_alive);
  exchange_.host = decision.host;
  exchange_.refusal = std::move(decision.refusal);
  exchange_.withhold_certificate = decision.withhold_certificate;
  if (decision.rule >= 0) {
    ctx_->metrics->RuleMatched(zone_->id, zone_->RuleId(decision.rule), decision.rule_refuses);
  }
  if (decision.status == 403) {
    // The origin is never contacted.
    bool custom = !zone_->error_body.empty();
    Respond(403,
            custom && !zone_->error_content_type.empty() ? zone_->error_content_type
                                                         : ZoneDefaults::kErrorContentType,
            custom ? absl::string_view(zone_->error_body) : ZoneDefaults::kErrorBody,
            decision.keep_alive);
    return true;
  }
  if (decision.status != 0) {
    Respond(decision.status, "application/json", JsonError(decision.message), decision.keep_alive);
    return true;
  }
  if (req.upgrade() != !decision.upgrade.empty()) {
    // The parser and the decision read Connection differently: refuse
    // rather than guess which protocol follows.
    Respond(400, "application/json", JsonError("ambiguous Upgrade request"), false);
    return true;
  }
  exchange_.path = std::move(decision.origin_form);
  exchange_.upgrade = std::move(decision.upgrade);
  if (!exchange_.upgrade.empty()) {
    // Whatever the origin answers, nothing after this request is parsed
    // as HTTP: a refused upgrade ends the connection after its response.
    client_.keep_alive = false;
  }
  uint64_t max_body = ctx_->options->max_body_bytes;
  if (max_body > 0 && req.has_content_length() && req.content_length() > max_body) {
    // Refused before anything reaches the origin; the body is not read.
    Respond(413, "application/json",
            JsonError(absl::StrCat("request body of ", req.content_length(),
                                   " bytes is larger than the limit of ", max_body, " bytes")),
            false);
    return true;
  }
  StartProxy();
  return !closed();
}

bool ClientConnection::OnRequestBody(absl::string_view data) {
  exchange_.bytes_in += data.size();
  if (exchange_.action != ExchangeAction::kProxy || upstream_.out() == nullptr) {
    return true;  // answered locally: the body is read and dropped
  }
  uint64_t max_body = ctx_->options->max_body_bytes;
  if (max_body > 0 && exchange_.bytes_in - request_parser_.header_bytes() > max_body) {
    // Only a chunked body gets here: a declared length was checked up front.
    // Parsing stops: the rest of the body is never read.
    BodyTooLarge();
    return false;
  }
  if (upstream_.streaming()) {
    // HTTP/2 frames it: the bytes alone.
    evbuffer_add(upstream_.out(), data.data(), data.size());
    return true;
  }
  if (exchange_.request_chunked) {
    std::string head = ChunkHeader(data.size());
    evbuffer_add(upstream_.out(), head.data(), head.size());
    evbuffer_add(upstream_.out(), data.data(), data.size());
    evbuffer_add(upstream_.out(), "\r\n", 2);
  } else {
    evbuffer_add(upstream_.out(), data.data(), data.size());
  }
  return true;
}

bool ClientConnection::OnRequestComplete() {
  exchange_.request_complete = true;
  if (exchange_.action == ExchangeAction::kProxy) {
    if (!request_parser_.trailers().empty() && upstream_.streaming()) {
      exchange_.request_trailers = RewriteRequestTrailers(request_parser_.trailers(), cert_headers_,
                                                          ctx_->options->allow_underscore_headers);
    }
    if (exchange_.request_chunked && !upstream_.streaming()) {
      evbuffer_add(upstream_.out(), "0\r\n\r\n", 5);
    }
    ArmClientTimer(TimerKind::kNone);  // the origin timer runs now
    if (exchange_.response_complete) {
      FinishExchange();
    }
    return true;
  }
  FinishExchange();
  return true;
}

void ClientConnection::BodyTooLarge() {
  std::string why = absl::StrCat("request body is larger than the limit of ",
                                 ctx_->options->max_body_bytes, " bytes");
  // The origin has part of the body and must not take the rest as a
  // request of its own: its connection is closed, never pooled.
  upstream_.Release(false);
  if (exchange_.response_started) {
    Abort(why);
    return;
  }
  exchange_.request_complete = true;
  Respond(413, "application/json", JsonError(why), false);
  FinishExchange();
}

void ClientConnection::OnRequestError() {
  int status = 400;
  switch (request_parser_.error()) {
    case MessageParser::Error::kHeadersTooLarge:
    case MessageParser::Error::kTooManyHeaders:
      status = 431;
      break;
    case MessageParser::Error::kUnsupported:
      status = 501;
      break;
    case MessageParser::Error::kAborted:
      if (!closed() && !close_after_flush_) {
        Abort("request aborted");
      }
      return;
    default:
      break;
  }
  if (exchange_.response_started) {
    Abort(request_parser_.error_detail());
    return;
  }
  if (upstream_.connected()) {
    upstream_.Release(false);
  }
  if (exchange_.method.empty()) {
    exchange_.method = request_parser_.method_name();
    exchange_.path = request_parser_.url();
  }
  exchange_.request_complete = true;
  Respond(status, "application/json", JsonError(request_parser_.error_detail()), false);
  FinishExchange();
  Drive();
}

void ClientConnection::Respond(int status, absl::string_view content_type, absl::string_view body,
                               bool keep_alive) {
  exchange_.action = ExchangeAction::kLocal;
  exchange_.status_code = status;
  client_.keep_alive = keep_alive && !draining_ && !ctx_->draining;
  exchange_.response_started = true;
  exchange_.response_complete = true;
  std::string response = LocalResponse(status, content_type, body, client_.keep_alive);
  if (exchange_.head_request) {
    response.resize(response.size() - body.size());
  }
  AppendToClient(response);
  if (!client_.keep_alive) {
    // Stop parsing: nothing after this request will be answered, so its
    // end may never be seen; log the exchange now.
    close_after_flush_ = true;
    FinishExchange();
  }
}

void ClientConnection::FinishExchange() {
  if (!exchange_.logged && exchange_.status_code != 0) {
    exchange_.logged = true;
    LogExchange();
  }
  if (!exchange_.request_complete || !exchange_.response_complete) {
    return;  // the other half is still moving
  }
  bool keep =
      client_.keep_alive && !close_after_flush_ && !draining_ && !ctx_->draining && !client_eof_;
  if (!keep) {
    close_after_flush_ = true;
    ArmClientTimer(TimerKind::kNone);
    return;
  }
  ResetExchange();
  ArmClientTimer(TimerKind::kIdle);
  request_parser_.Resume();
}

void ClientConnection::LogExchange() {
  ++exchanges_;
  // Decided before formatting: a sampled-out or disabled log costs nothing.
  if (ctx_->access_log->ShouldLogRequest(
          exchange_.status_code, auth_ != nullptr && auth_->status == CertStatus::kInvalid)) {
    // The entry borrows the connection's strings; the line is formatted
    // straight into the worker's log buffer.
    AccessLogEntry entry;
    absl::Time now = absl::Now();
    entry.time = exchange_.start == absl::Time() ? now : exchange_.start;
    if (zone_ != nullptr) {
      entry.zone = zone_->hostname;
    }
    entry.host = exchange_.host;
    entry.method = exchange_.method;
    entry.path = exchange_.path;
    entry.status = exchange_.status_code;
    entry.cert_status = cert_status_;
    if (!exchange_.refusal.empty()) {
      entry.reason = exchange_.refusal;
    } else if (auth_ != nullptr) {
      entry.reason = auth_->reason;
    }
    if (auth_ != nullptr) {
      entry.ski = auth_->ski_hex;
    }
    entry.bytes_in = exchange_.bytes_in;
    entry.bytes_out = exchange_.bytes_out;
    entry.duration_ms = absl::ToDoubleMilliseconds(now - entry.time);
    entry.client = client_ip_;
    ctx_->access_log->Append([&entry](std::string* out) { AppendAccessLogLine(out, entry); });
  }
  ctx_->metrics->RequestDone(zone_ != nullptr ? zone_->hostname : "",
                             zone_ != nullptr ? zone_->id : 0, exchange_.status_code, cert_status_);
}

void ClientConnection::ResetExchange() { exchange_ = Exchange{}; }

// --- what the upstream exchange asks for ---------------------------------------

void ClientConnection::AppendToClient(absl::string_view data) {
  exchange_.bytes_out += data.size();
  evbuffer_add(transport_.out(), data.data(), data.size());
}

size_t ClientConnection::ClientBacklog() const { return evbuffer_get_length(transport_.out()); }

void ClientConnection::QueueOriginRequestHead(evbuffer* out) {
  // The parser keeps the request's headers until the next request begins,
  // which waits for this exchange to end.
  const MessageParser& req = request_parser_;
  BodyFraming framing = BodyFraming::kNone;
  if (req.chunked()) {
    framing = BodyFraming::kChunked;
  } else if (req.has_content_length()) {
    framing = BodyFraming::kContentLength;
  }
  RequestContext context{client_ip_, exchange_.host, ctx_->options->allow_underscore_headers,
                         exchange_.refusal, exchange_.withhold_certificate};
  std::string& head = HeadScratch();
  AppendOriginRequestHead(&head, exchange_.method, exchange_.path, req.headers(), cert_headers_,
                          context, exchange_.upgrade, framing, req.content_length());
  evbuffer_add(out, head.data(), head.size());
}

void ClientConnection::AnswerOriginFailure(int status, absl::string_view why) {
  // Part of the body may be gone to the dead origin: close after answering
  // unless the request is already whole, or has no body at all (the origin
  // was refused or failed while its head was being read).
  bool bodiless = !request_parser_.chunked() &&
                  (!request_parser_.has_content_length() || request_parser_.content_length() == 0);
  bool keep = (exchange_.request_complete || bodiless) && client_.keep_alive;
  Respond(status, "application/json", JsonError(why), keep);
  FinishExchange();
}

void ClientConnection::OnResponseDone() {
  if (!exchange_.request_complete) {
    // The origin answered before the whole body came: finish and close,
    // since the rest of the request cannot be told from the next one.
    client_.keep_alive = false;
    close_after_flush_ = true;
  }
  FinishExchange();
}

void ClientConnection::OnSwitchingLogged() {
  if (!exchange_.logged) {
    exchange_.logged = true;
    LogExchange();
  }
}

void ClientConnection::StartProxy() {
  exchange_.action = ExchangeAction::kProxy;
  // An upgrade (WebSocket) to an https origin stays HTTP/1.1 (no ALPN
  // offered); to an h2c:// origin StartStream refuses it.
  if (ctx_->h2_origins != nullptr && ctx_->h2_origins->Handles(*zone_) &&
      (exchange_.upgrade.empty() || zone_->origin.h2c)) {
    StartStream();
    return;
  }
  StartHttp1Proxy();
}

void ClientConnection::ContinueIfExpected() {
  const std::string* expect = FindHeader(request_parser_.headers(), "expect");
  if (expect != nullptr &&
      absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(*expect), "100-continue")) {
    // The edge drops Expect (hop-by-hop here) and lets the body come.
    transport_.Write("HTTP/1.1 100 Continue\r\n\r\n");
  }
}

void ClientConnection::StartHttp1Proxy() {
  QueueOriginRequestHead(upstream_.out());
  ContinueIfExpected();
  upstream_.Start(zone_, client_ip_, Retryable());
}

void ClientConnection::StartStream() {
  const MessageParser& req = request_parser_;
  if (!exchange_.upgrade.empty()) {
    // An HTTP/1.1 upgrade has no HTTP/2 form the origin would take.
    Respond(501, "application/json",
            JsonError("this zone's origin speaks HTTP/2: upgrades are not forwarded"), false);
    return;
  }
  RequestContext context{client_ip_, exchange_.host, ctx_->options->allow_underscore_headers,
                         exchange_.refusal, exchange_.withhold_certificate};
  OriginRequest request;
  request.method = exchange_.method;
  request.path = exchange_.path;
  const std::string* host = FindHeader(req.headers(), "host");
  request.authority =
      host != nullptr ? std::string(absl::StripAsciiWhitespace(*host)) : exchange_.host;
  // Hop-by-hop and framing fields go (HTTP/2 frames the body itself), as
  // every reserved name does; the certificate and forwarding headers come.
  request.fields = RewriteRequestHeaders(req.headers(), cert_headers_, context);
  const std::string* te = FindHeader(req.headers(), "te");
  if (te != nullptr && absl::StrContains(absl::AsciiStrToLower(*te), "trailers")) {
    request.fields.push_back({"te", "trailers"});  // the one TE HTTP/2 allows
  }
  bool has_body = req.chunked() || (req.has_content_length() && req.content_length() > 0);
  ContinueIfExpected();
  upstream_.StartStream(zone_, client_ip_, std::move(request), has_body);
}

bool ClientConnection::Retryable() const {
  // Only an idempotent request without a body (RFC 9110 9.2.2; a streamed
  // body is gone once sent).
  const MessageParser& req = request_parser_;
  return !req.chunked() && !req.has_content_length() && IsIdempotentMethod(req.method_name());
}

// --- upgraded connections -----------------------------------------------------

void ClientConnection::OnSwitched(absl::string_view origin_extra) {
  // The relay reads the client whenever its own events say so.
  transport_.StopEvents();
  std::unique_ptr<OriginTransport> origin = upstream_.TakeOrigin();
  ArmClientTimer(TimerKind::kNone);
  transport_.Write(origin_extra);
  UpgradeRelay::Options options;
  options.idle = ctx_->options->upgraded_idle_timeout;
  options.high_watermark = ctx_->options->buffer_high_watermark;
  relay_ = std::make_unique<UpgradeRelay>(
      ctx_->base, transport_.ssl(), transport_.fd(), std::move(origin), options,
      [this] { return StillTrusted(); },
      [this](UpgradeRelay::End end, absl::string_view why) {
        if (end == UpgradeRelay::End::kUntrusted) {
          ctx_->connection_log->Write(FormatConnectionLogLine(
              absl::Now(), client_ip_, zone_ != nullptr ? zone_->hostname : "", why));
        }
        transport_.SendCloseNotify();
        Close();
      });
  state_ = ConnectionState::kUpgraded;
  // Bytes the client sent after its request head belong to the new protocol.
  relay_->Start(transport_.out(), transport_.in());
}

bool ClientConnection::StillTrusted() {
  // A trust change reaches an upgraded connection too: a careful operator
  // who deletes a zone or revokes a certificate wants its open WebSockets
  // gone, not alive until they idle out. Recheck costs one atomic load when
  // nothing changed.
  ZoneRecheck recheck = ctx_->tls->Recheck(transport_.ssl());
  if (recheck == ZoneRecheck::kGone) {
    return false;
  }
  zone_ = auth_->zone;
  if (zone_->mode == v1::MODE_ENFORCE && auth_->status != CertStatus::kValid) {
    return false;  // e.g. a report zone that now enforces
  }
  return StatusToken(auth_->status) == cert_status_;
}

// --- closing --------------------------------------------------------------------

void ClientConnection::Abort(absl::string_view why) {
  if (closed()) {
    return;
  }
  if (exchange_.action != ExchangeAction::kNone) {
    if (exchange_.status_code == 0) {
      exchange_.status_code = 499;  // nothing was answered
    }
    client_.keep_alive = false;
    FinishExchange();
  }
  Close();
}

void ClientConnection::Close() { CloseInternal(/*notify=*/true); }

void ClientConnection::CloseInternal(bool notify) {
  if (closed()) {
    return;
  }
  state_ = ConnectionState::kClosed;
  if (relay_ != nullptr) {
    relay_->Stop();  // freed with the connection, never from its own callback
  }
  if (driver_ != nullptr) {
    driver_->Stop();  // likewise
  }
  upstream_.Close();
  client_timer_ev_.reset();
  transport_.Close();
  if (opened_) {
    ctx_->metrics->ConnectionClosed();
  }
  if (notify && ctx_->on_closed) {
    ctx_->on_closed(this);
  }
}

}  // namespace certgate::edge
