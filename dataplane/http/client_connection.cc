#include "dataplane/http/client_connection.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/names.h"
#include "common/zone_defaults.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/origin_guard.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/request_decision.h"
#include "dataplane/http/request_target.h"
#include "dataplane/http/socket_bio.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "dataplane/http/upgrade_relay.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"
#include "dataplane/metrics/worker_metrics.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

timeval AsTimeval(absl::Duration d) { return absl::ToTimeval(d); }

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

bool IsIdempotent(int method) {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
    case HTTP_PUT:
    case HTTP_DELETE:
      return true;
    default:
      return false;
  }
}

// HeadScratch: an empty string for building a message head, kept per
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
      fd_(fd),
      client_ip_(std::move(client_ip)),
      request_parser_(HTTP_REQUEST, ctx->options->limits,
                      MessageParser::Callbacks{
                          [this] { OnRequestBegin(); },
                          [this](bool*) { return OnRequestHeaders(); },
                          [this](absl::string_view data) { return OnRequestBody(data); },
                          [this] { return OnRequestComplete(); },
                      }) {}

ClientConnection::~ClientConnection() { CloseInternal(/*notify=*/false); }

void ClientConnection::Start() {
  opened_ = true;
  ctx_->metrics->ConnectionOpened();
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  client_in_.reset(evbuffer_new());
  client_out_.reset(evbuffer_new());
  origin_out_.reset(evbuffer_new());
  client_read_ev_ =
      SocketEvent(event_new(ctx_->base, fd_, EV_READ | EV_PERSIST, &OnClientEvent, this));
  client_write_ev_ =
      SocketEvent(event_new(ctx_->base, fd_, EV_WRITE | EV_PERSIST, &OnClientEvent, this));
  client_timer_ev_.reset(evtimer_new(ctx_->base, &OnClientTimer, this));
  origin_timer_ev_.reset(evtimer_new(ctx_->base, &OnOriginTimer, this));
  ssl_ = ctx_->tls->NewSsl();
  bssl::UniquePtr<BIO> bio = SocketBio::New(fd_);
  if (ssl_ == nullptr || bio == nullptr) {
    Close();
    return;
  }
  bio_ = bio.get();
  SocketBio::UseReadinessHints(bio_, true);
  SSL_set_bio(ssl_.get(), bio.get(), bio.get());  // one reference, taken by ssl_
  bio.release();
  // SSL_write retries may come from a buffer that moved (evbuffer pullup).
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ArmClientTimer(TimerKind::kHandshake);
  Handshake();
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
  // Only idle keep-alive connections close at once (clients retry those). A
  // connection still in its handshake or before its first request may have
  // been accepted just before a hand-over to a new edge: it is served once,
  // with Connection: close, within its timeouts and the drain timeout.
  if (!handshaking() && exchanges_ > 0 && exchange_.action == Action::kNone &&
      !request_parser_.in_message()) {
    Close();
  }
}

// --- events -----------------------------------------------------------------

void ClientConnection::OnClientEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<ClientConnection*>(arg);
  if ((what & EV_READ) && self->bio_ != nullptr) {
    SocketBio::MarkReadable(self->bio_);
  }
  if (self->lingering()) {
    self->Linger();
    return;
  }
  if (self->handshaking()) {
    self->Handshake();
    return;
  }
  if (what & EV_WRITE) {
    self->client_write_blocked_ = false;
    self->ssl_read_wants_write_ = false;
  }
  self->Drive();
}

void ClientConnection::OnOriginEvent(void* arg, OriginTransport*, short what) {
  auto* self = static_cast<ClientConnection*>(arg);
  if (self->origin_connecting_) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(self->origin_fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      self->OriginFailed(502, absl::StrCat("origin connect failed: ", strerror(err)));
      self->Drive();
      return;
    }
    self->OriginConnected();
  } else if (self->origin_fd_ >= 0 && self->origin_->handshaking()) {
    self->OriginHandshake();
  }
  if ((what & EV_READ) && self->origin_fd_ >= 0 && !self->origin_->handshaking()) {
    self->ReadOrigin();
  }
  self->Drive();
}

void ClientConnection::OnClientTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ClientConnection*>(arg);
  TimerKind kind = self->timer_kind_;
  self->timer_kind_ = TimerKind::kNone;
  switch (kind) {
    case TimerKind::kHandshake:
      self->ctx_->connection_log->Write(FormatConnectionLogLine(
          absl::Now(), self->client_ip_,
          SSL_get_servername(self->ssl_.get(), TLSEXT_NAMETYPE_host_name)
              ? SSL_get_servername(self->ssl_.get(), TLSEXT_NAMETYPE_host_name)
              : "",
          "handshake timeout"));
      self->ctx_->tls->NoteHandshakeFailed(self->ssl_.get());
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

void ClientConnection::OnOriginTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ClientConnection*>(arg);
  if (self->resolving_) {
    self->OriginFailed(
        504, absl::StrCat("resolving the origin \"", self->zone_->origin.host, "\" timed out"));
  } else if (self->origin_connecting_) {
    self->OriginFailed(504, "origin connect timed out");
  } else if (self->origin_fd_ >= 0 && self->origin_->handshaking()) {
    self->OriginFailed(504, "origin TLS handshake timed out");
  } else if (self->origin_fd_ >= 0 && evbuffer_get_length(self->client_out_.get()) >
                                          self->ctx_->options->buffer_high_watermark) {
    // The client is slow to read, not the origin: keep waiting.
    timeval tv = AsTimeval(self->ctx_->options->origin_timeout);
    evtimer_add(self->origin_timer_ev_.get(), &tv);
    return;
  } else if (!self->exchange_.response_started) {
    self->OriginFailed(504, "origin timed out");
  } else {
    self->Abort("origin timed out mid-response");
    return;
  }
  self->Drive();
}

// --- handshake ----------------------------------------------------------------

void ClientConnection::Handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    HandshakeDone();
    return;
  }
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    handshake_wants_write_ = err == SSL_ERROR_WANT_WRITE;
    UpdateEvents();
    return;
  }
  const char* sni = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  std::string reason = TlsServer::FailureReason(ssl_.get());
  if (reason.empty()) {
    reason = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
                 ? "client closed the connection during the handshake"
                 : "handshake failed";
  }
  ctx_->connection_log->Write(
      FormatConnectionLogLine(absl::Now(), client_ip_, sni ? sni : "", reason));
  ctx_->tls->NoteHandshakeFailed(ssl_.get());
  Close();
}

void ClientConnection::HandshakeDone() {
  state_ = ConnectionState::kOpen;
  handshake_wants_write_ = false;
  auth_ = TlsServer::GetAuth(ssl_.get());
  zone_ = auth_ != nullptr ? auth_->zone : nullptr;
  if (zone_ == nullptr) {
    ctx_->connection_log->Write(
        FormatConnectionLogLine(absl::Now(), client_ip_, "", "no zone after handshake"));
    Close();
    return;
  }
  // BoringSSL holds TLS 1.3 NewSessionTicket messages until the first write;
  // a zero-byte write sends them now, so a client that reads before it sends
  // (or never sends) can still resume. A would-block here is retried by the
  // next write (moving write buffers are allowed on this SSL).
  if (SSL_version(ssl_.get()) == TLS1_3_VERSION) {
    SSL_write(ssl_.get(), "", 0);
    ERR_clear_error();
  }
  cert_status_ = StatusToken(auth_->status);
  cert_headers_ = ComputeCertificateHeaders(*zone_, *auth_);
  ctx_->metrics->CertificateSeen(zone_->hostname, cert_status_, auth_->reason);
  ArmClientTimer(TimerKind::kIdle);
  Drive();
}

bool ClientConnection::FollowConfigChange() {
  ZoneRecheck recheck = ctx_->tls->Recheck(ssl_.get());
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
  if (closed() || lingering() || state_ == ConnectionState::kUpgraded) {
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
  FlushOrigin();
  if (closed()) {
    return;
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
         evbuffer_get_length(origin_out_.get()) < ctx_->options->buffer_high_watermark &&
         evbuffer_get_length(client_out_.get()) < ctx_->options->buffer_high_watermark &&
         evbuffer_get_length(client_in_.get()) < kReadChunk * 4;
}

void ClientConnection::ReadClient() {
  char buf[kReadChunk];
  // Without a readiness hint (the last read came back short and the loop
  // has not said "readable" since) the read would only return EAGAIN.
  while (ReadingAllowed() && (SocketBio::MaybeReadable(bio_) || SSL_pending(ssl_.get()) > 0)) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n > 0) {
      evbuffer_add(client_in_.get(), buf, n);
      if (timer_kind_ == TimerKind::kBody) {
        ArmClientTimer(TimerKind::kBody);
      }
      ProcessClientInput();
      if (closed()) {
        return;
      }
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ) {
      return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      ssl_read_wants_write_ = true;
      return;
    }
    // Clean close_notify, a bare FIN, or a TLS error.
    client_eof_ = true;
    if (exchange_.action == Action::kNone && !request_parser_.in_message()) {
      if (evbuffer_get_length(client_out_.get()) > 0) {
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
  while (!closed() && evbuffer_get_length(client_in_.get()) > 0 && !request_parser_.paused()) {
    if (close_after_flush_) {
      evbuffer_drain(client_in_.get(), evbuffer_get_length(client_in_.get()));
      return;
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(client_in_.get(), -1, nullptr, &vec, 1) < 1) {
      return;
    }
    size_t n = request_parser_.Feed(static_cast<const char*>(vec.iov_base), vec.iov_len);
    evbuffer_drain(client_in_.get(), n);
    if (closed()) {
      return;
    }
    if (request_parser_.error() != MessageParser::Error::kNone) {
      OnRequestError();
      return;
    }
    if (evbuffer_get_length(origin_out_.get()) >= ctx_->options->buffer_high_watermark) {
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
  switch (SslWriteBuffer(ssl_.get(), client_out_.get())) {
    case SslWriteResult::kDone:
      break;
    case SslWriteResult::kBlocked:
      client_write_blocked_ = true;
      return;
    case SslWriteResult::kFailed:
      Close();  // the client went away
      return;
  }
  client_write_blocked_ = false;
  if (close_after_flush_ || (client_eof_ && exchange_.action == Action::kNone)) {
    LingeringClose();
  }
}

void ClientConnection::LingeringClose() {
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // best effort close_notify
  if (client_eof_) {
    Close();
    return;
  }
  // Half-close, then drop whatever the client still sends for a moment:
  // closing a socket with unread input makes the kernel send a reset, which
  // can destroy the response before the client has read it.
  shutdown(fd_, SHUT_WR);
  state_ = ConnectionState::kDraining;
  ArmClientTimer(TimerKind::kLinger);
  UpdateEvents();
}

void ClientConnection::Linger() {
  char buf[kReadChunk];
  while (true) {
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    Close();
    return;
  }
}

void ClientConnection::UpdateEvents() {
  if (closed()) {
    return;
  }
  if (lingering()) {
    client_read_ev_.Set(true);
    client_write_ev_.Set(false);
    return;
  }
  bool reading = handshaking() || ReadingAllowed();
  // Registered while reading is allowed; when it is not, deleted only if
  // the socket has something to read (level-triggered, it would fire
  // again and again), so the pause between a request and its response
  // costs no epoll_ctl.
  if (reading) {
    client_read_ev_.Set(true);
  } else if (SocketBio::MaybeReadable(bio_)) {
    client_read_ev_.Set(false);
  }
  client_write_ev_.Set(handshake_wants_write_ || client_write_blocked_ || ssl_read_wants_write_);
  if (origin_fd_ >= 0) {
    bool origin_read =
        !origin_connecting_ && !exchange_.response_complete &&
        evbuffer_get_length(client_out_.get()) < ctx_->options->buffer_high_watermark;
    bool origin_write = origin_connecting_ || evbuffer_get_length(origin_out_.get()) > 0;
    if (!origin_connecting_ && origin_->handshaking()) {
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
  // Records already read or decrypted never make the socket readable again.
  if (!handshaking() && ReadingAllowed() &&
      (SSL_pending(ssl_.get()) > 0 || BIO_pending(bio_) > 0)) {
    event_active(client_read_ev_.get(), EV_READ, 1);
  }
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
  timeval tv = AsTimeval(d);
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
  client_http11_ = req.http_major() == 1 && req.http_minor() >= 1;
  // After an upgrade request the bytes may be another protocol: whatever
  // the answer, none is parsed as a next request.
  client_keep_alive_ = req.keep_alive() && !req.upgrade() && !draining_ && !ctx_->draining;
  exchange_.head_request = req.method() == HTTP_HEAD;
  exchange_.request_chunked = req.chunked();
  ArmClientTimer(TimerKind::kBody);

  if (!FollowConfigChange()) {
    Respond(421, "application/json",
            JsonError("this connection's zone has changed or is gone; connect again"), false);
    return true;
  }
  RequestDecision decision = DecideRequest(*zone_, *auth_, exchange_.method, exchange_.path,
                                           req.headers(), client_keep_alive_);
  exchange_.host = decision.host;
  exchange_.refusal = std::move(decision.refusal);
  exchange_.withhold_certificate = decision.withhold_certificate;
  if (decision.rule >= 0) {
    ctx_->metrics->RuleMatched(zone_->id, zone_->source.access_rules(decision.rule).id(),
                               decision.rule_refuses);
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
    client_keep_alive_ = false;
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
  if (exchange_.action != Action::kProxy || origin_out_ == nullptr) {
    return true;  // answered locally: the body is read and dropped
  }
  uint64_t max_body = ctx_->options->max_body_bytes;
  if (max_body > 0 && exchange_.bytes_in - request_parser_.header_bytes() > max_body) {
    // Only a chunked body gets here: a declared length was checked up front.
    // Parsing stops: the rest of the body is never read.
    BodyTooLarge();
    return false;
  }
  if (exchange_.request_chunked) {
    std::string head = ChunkHeader(data.size());
    evbuffer_add(origin_out_.get(), head.data(), head.size());
    evbuffer_add(origin_out_.get(), data.data(), data.size());
    evbuffer_add(origin_out_.get(), "\r\n", 2);
  } else {
    evbuffer_add(origin_out_.get(), data.data(), data.size());
  }
  return true;
}

bool ClientConnection::OnRequestComplete() {
  exchange_.request_complete = true;
  if (exchange_.action == Action::kProxy) {
    if (exchange_.request_chunked) {
      evbuffer_add(origin_out_.get(), "0\r\n\r\n", 5);
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
  ReleaseOrigin(false);
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
  if (origin_fd_ >= 0) {
    ReleaseOrigin(false);
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
  exchange_.action = Action::kLocal;
  exchange_.status_code = status;
  client_keep_alive_ = keep_alive && !draining_ && !ctx_->draining;
  exchange_.response_started = true;
  exchange_.response_complete = true;
  std::string response = LocalResponse(status, content_type, body, client_keep_alive_);
  if (exchange_.head_request) {
    response.resize(response.size() - body.size());
  }
  AppendToClient(response);
  if (!client_keep_alive_) {
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
      client_keep_alive_ && !close_after_flush_ && !draining_ && !ctx_->draining && !client_eof_;
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
    AccessLogEntry entry;
    entry.time = exchange_.start == absl::Time() ? absl::Now() : exchange_.start;
    entry.zone = zone_ != nullptr ? zone_->hostname : "";
    entry.host = exchange_.host;
    entry.method = exchange_.method;
    entry.path = exchange_.path;
    entry.status = exchange_.status_code;
    entry.cert_status = cert_status_;
    entry.reason = !exchange_.refusal.empty() ? exchange_.refusal
                   : auth_ != nullptr         ? auth_->reason
                                              : "";
    entry.ski = auth_ != nullptr ? auth_->ski_hex : "";
    entry.bytes_in = exchange_.bytes_in;
    entry.bytes_out = exchange_.bytes_out;
    entry.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - entry.time);
    entry.client = client_ip_;
    ctx_->access_log->Write(FormatAccessLogLine(entry));
  }
  ctx_->metrics->RequestDone(zone_ != nullptr ? zone_->hostname : "",
                             zone_ != nullptr ? zone_->id : 0, exchange_.status_code, cert_status_);
}

void ClientConnection::ResetExchange() { exchange_ = Exchange{}; }

void ClientConnection::AppendToClient(absl::string_view data) {
  exchange_.bytes_out += data.size();
  evbuffer_add(client_out_.get(), data.data(), data.size());
}

// --- the origin side ------------------------------------------------------------

void ClientConnection::QueueOriginRequestHead() {
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
  evbuffer_add(origin_out_.get(), head.data(), head.size());
}

void ClientConnection::StartProxy() {
  exchange_.action = Action::kProxy;
  const MessageParser& req = request_parser_;
  QueueOriginRequestHead();
  const std::string* expect = FindHeader(req.headers(), "expect");
  if (expect != nullptr &&
      absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(*expect), "100-continue")) {
    // The edge drops Expect (hop-by-hop here) and lets the body come.
    evbuffer_add(client_out_.get(), "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  // One response parser for the connection's life, reset per request.
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
  origin_key_ = zone_->origin_pool_key;
  origin_sent_ = absl::Now();
  // A request RetryOnFreshOrigin may resend needs no check that the pooled
  // connection is still open (one recv): a closed one is retried.
  origin_ = ctx_->origins->Take(origin_key_, /*check_open=*/!Retryable());
  if (origin_ != nullptr) {
    origin_fd_ = origin_->fd();
    origin_reused_ = true;
    origin_answered_ = false;
    origin_->Watch(ctx_->base, &OnOriginEvent, this);
    OriginConnected();
    return;
  }
  ConnectOrigin();
}

void ClientConnection::ConnectOrigin() {
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
                                                Drive();  // called from the loop: nobody else will
                                              }
                                            });
  resolve_inline_ = false;
  if (resolving_) {
    resolve_ticket_ = ticket;
    timeval tv = AsTimeval(ctx_->options->origin_connect_timeout);
    evtimer_add(origin_timer_ev_.get(), &tv);
  }
}

void ClientConnection::ConnectResolved(absl::StatusOr<ResolvedAddress> addr) {
  if (closed()) {
    return;
  }
  if (!addr.ok()) {
    OriginFailed(absl::IsDeadlineExceeded(addr.status()) ? 504 : 502, addr.status().message());
    return;
  }
  // Judged at every connect, on the address just resolved (DNS rebinding).
  if (std::optional<OriginGuard::Refusal> refused =
          ctx_->origin_guard->Check(reinterpret_cast<const sockaddr*>(&addr->addr))) {
    ctx_->metrics->OriginRefused(zone_->hostname, refused->label);
    ctx_->connection_log->Write(FormatOriginFailureLogLine(
        absl::Now(), "origin_refused", client_ip_, zone_->hostname, refused->reason));
    // The client learns only that the origin is refused, not where it is.
    OriginFailed(502, "origin address refused by the edge's origin policy");
    return;
  }
  int fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    OriginFailed(502, absl::StrCat("origin socket: ", strerror(errno)));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  origin_ = zone_->origin_tls != nullptr ? OriginTransport::Tls(fd, zone_->origin_tls)
                                         : OriginTransport::Plain(fd);
  if (origin_ == nullptr) {
    OriginFailed(502, "origin TLS: cannot start a session");
    return;
  }
  origin_fd_ = fd;
  origin_reused_ = false;
  origin_answered_ = false;
  origin_->Watch(ctx_->base, &OnOriginEvent, this);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) != 0) {
    if (errno != EINPROGRESS) {
      OriginFailed(502, absl::StrCat("origin connect failed: ", strerror(errno)));
      return;
    }
    origin_connecting_ = true;
    timeval tv = AsTimeval(ctx_->options->origin_connect_timeout);
    evtimer_add(origin_timer_ev_.get(), &tv);
    return;
  }
  OriginConnected();
}

void ClientConnection::OriginConnected() {
  origin_connecting_ = false;
  // A TLS handshake is part of connecting: it gets the connect timeout.
  bool handshaking = origin_->handshaking();
  timeval tv = AsTimeval(handshaking ? ctx_->options->origin_connect_timeout
                                     : ctx_->options->origin_timeout);
  evtimer_add(origin_timer_ev_.get(), &tv);
  if (handshaking) {
    OriginHandshake();
  }
}

void ClientConnection::OriginHandshake() {
  std::string error;
  switch (origin_->Handshake(&error)) {
    case OriginTransport::Step::kWait:
      return;
    case OriginTransport::Step::kDone: {
      timeval tv = AsTimeval(ctx_->options->origin_timeout);
      evtimer_add(origin_timer_ev_.get(), &tv);
      return;
    }
    case OriginTransport::Step::kFailed:
      break;
  }
  // Never forwarded: the origin is not the one the zone trusts, or it
  // refused the edge. The reason is logged; the client gets a 502.
  std::string why =
      absl::StrCat("origin ", zone_->origin.host, ":", zone_->origin.port, ": ", error);
  ctx_->connection_log->Write(FormatOriginFailureLogLine(absl::Now(), "origin_tls_failed",
                                                         client_ip_, zone_->hostname, why));
  OriginFailed(502, why);
}

void ClientConnection::FlushOrigin() {
  if (origin_fd_ < 0 || origin_connecting_ || origin_->handshaking()) {
    return;
  }
  while (evbuffer_get_length(origin_out_.get()) > 0) {
    int n = origin_->Write(origin_out_.get());
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    // The origin went away while we were sending.
    if (RetryOnFreshOrigin()) {
      return;
    }
    if (exchange_.response_started) {
      Abort("origin closed while receiving the request");
    } else {
      OriginFailed(502, absl::StrCat("origin write failed: ", origin_->last_error()));
    }
    return;
  }
}

void ClientConnection::ReadOrigin() {
  char buf[kReadChunk];
  while (origin_fd_ >= 0 && !closed() && !exchange_.response_complete &&
         evbuffer_get_length(client_out_.get()) < ctx_->options->buffer_high_watermark) {
    ssize_t n = origin_->Read(buf, sizeof(buf));
    if (n > 0) {
      origin_answered_ = true;
      timeval tv = AsTimeval(ctx_->options->origin_timeout);
      evtimer_add(origin_timer_ev_.get(), &tv);
      size_t used = response_parser_->Feed(buf, static_cast<size_t>(n));
      if (closed()) {
        return;
      }
      if (exchange_.switching) {
        StartRelay(absl::string_view(buf + used, static_cast<size_t>(n) - used));
        return;
      }
      if (response_parser_->error() != MessageParser::Error::kNone) {
        if (exchange_.response_started) {
          Abort("malformed response from the origin");
        } else {
          OriginFailed(502, absl::StrCat("malformed response from the origin: ",
                                         response_parser_->error_detail()));
        }
        return;
      }
      if (used < static_cast<size_t>(n) && !exchange_.response_complete) {
        Abort("unexpected bytes from the origin");
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
                                                             client_ip_, zone_->hostname, why));
    }
    if (response_parser_->FeedEof() && exchange_.response_complete) {
      return;  // a body delimited by the close
    }
    if (exchange_.response_started) {
      Abort(why);
    } else {
      OriginFailed(502, why);
    }
    return;
  }
}

bool ClientConnection::OnResponseHeaders(bool* skip_body) {
  const MessageParser& resp = *response_parser_;
  int status = resp.status_code();
  if (status == 101) {
    // Only an answer to an upgrade request, agreeing to it, without a body;
    // anything else would leave the two sides disagreeing on what follows.
    if (exchange_.upgrade.empty() || !resp.upgrade() || resp.has_content_length() ||
        resp.chunked() || CountHeader(resp.headers(), "upgrade") != 1) {
      return false;
    }
    ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - origin_sent_));
    exchange_.status_code = status;
    exchange_.switching = true;
    exchange_.response_started = true;
    AppendToClient(SerializeUpgradeResponseHead(resp.status_text(),
                                                RewriteResponseHeaders(resp.headers()),
                                                *FindHeader(resp.headers(), "upgrade")));
    return true;
  }
  if (status >= 100 && status < 200) {
    exchange_.interim_response = true;  // e.g. 100 Continue: the edge answered Expect itself
    return true;
  }
  exchange_.interim_response = false;
  ctx_->metrics->OriginLatency(absl::ToDoubleSeconds(absl::Now() - origin_sent_));
  *skip_body = exchange_.head_request;
  exchange_.status_code = status;
  bool no_body = exchange_.head_request || status == 204 || status == 304;
  if (resp.has_content_length()) {
    exchange_.response_framing = BodyFraming::kContentLength;
  } else if (no_body) {
    exchange_.response_framing = BodyFraming::kNone;
  } else if (client_http11_) {
    exchange_.response_framing = BodyFraming::kChunked;
  } else {
    exchange_.response_framing = BodyFraming::kUntilClose;
    client_keep_alive_ = false;
  }
  client_keep_alive_ = client_keep_alive_ && !draining_ && !ctx_->draining;
  std::string& head = HeadScratch();
  AppendProxiedResponseHead(&head, status, resp.status_text(), resp.headers(),
                            exchange_.response_framing, resp.content_length(), client_keep_alive_);
  exchange_.response_started = true;
  AppendToClient(head);
  return true;
}

bool ClientConnection::OnResponseBody(absl::string_view data) {
  if (exchange_.response_framing == BodyFraming::kChunked) {
    AppendToClient(ChunkHeader(data.size()));
    AppendToClient(data);
    AppendToClient("\r\n");
  } else {
    AppendToClient(data);
  }
  return true;
}

bool ClientConnection::OnResponseComplete() {
  if (exchange_.switching) {
    // ReadOrigin hands the connection to the relay as soon as Feed returns.
    exchange_.response_complete = true;
    if (!exchange_.logged) {
      exchange_.logged = true;
      LogExchange();
    }
    return true;
  }
  if (exchange_.interim_response) {
    exchange_.interim_response = false;
    response_parser_->Resume();
    return true;
  }
  if (exchange_.response_framing == BodyFraming::kChunked) {
    AppendToClient("0\r\n\r\n");
  }
  exchange_.response_complete = true;
  // An origin that refused an upgrade is not reused: it saw a request whose
  // continuation it may still expect.
  ReleaseOrigin(response_parser_->keep_alive() && exchange_.request_complete &&
                exchange_.upgrade.empty());
  if (!exchange_.request_complete) {
    // The origin answered before the whole body came: finish and close,
    // since the rest of the request cannot be told from the next one.
    client_keep_alive_ = false;
    close_after_flush_ = true;
  }
  FinishExchange();
  return true;
}

void ClientConnection::OriginFailed(int status, absl::string_view why) {
  ctx_->metrics->OriginError();
  ReleaseOrigin(false);
  if (exchange_.response_started) {
    Abort(why);
    return;
  }
  // Part of the body may be gone to the dead origin: close after answering
  // unless the request is already whole.
  bool keep = exchange_.request_complete && client_keep_alive_;
  Respond(status, "application/json", JsonError(why), keep);
  FinishExchange();
}

bool ClientConnection::Retryable() const {
  // Only an idempotent request without a body (RFC 9110 9.2.2; a streamed
  // body is gone once sent).
  const MessageParser& req = request_parser_;
  return !req.chunked() && !req.has_content_length() && IsIdempotent(req.method());
}

bool ClientConnection::RetryOnFreshOrigin() {
  // Like nginx with upstream keepalive: a request that went out on a reused
  // connection and got nothing back is resent once on a new one; a fresh
  // connection is never retried.
  if (!origin_reused_ || origin_answered_ || !Retryable()) {
    return false;
  }
  ctx_->metrics->OriginRetry();
  ReleaseOrigin(false);
  QueueOriginRequestHead();
  origin_sent_ = absl::Now();
  ConnectOrigin();
  return true;
}

void ClientConnection::ReleaseOrigin(bool reusable) {
  if (resolving_) {
    ctx_->resolver->Cancel(resolve_ticket_);
    resolving_ = false;
    resolve_ticket_ = 0;
  }
  if (origin_timer_ev_ != nullptr) {
    evtimer_del(origin_timer_ev_.get());
  }
  if (origin_fd_ >= 0) {
    if (reusable && evbuffer_get_length(origin_out_.get()) == 0) {
      ctx_->origins->Put(origin_key_, std::move(origin_));
    }
    origin_.reset();  // closes the socket (after a close_notify over TLS)
  }
  origin_fd_ = -1;
  origin_connecting_ = false;
  if (origin_out_ != nullptr) {
    evbuffer_drain(origin_out_.get(), evbuffer_get_length(origin_out_.get()));
  }
}

// --- upgraded connections -----------------------------------------------------

void ClientConnection::StartRelay(absl::string_view origin_extra) {
  client_read_ev_.Reset();
  client_write_ev_.Reset();
  origin_->Unwatch();
  // The relay reads the client whenever its own events say so.
  SocketBio::UseReadinessHints(bio_, false);
  ArmClientTimer(TimerKind::kNone);
  evtimer_del(origin_timer_ev_.get());
  evbuffer_add(client_out_.get(), origin_extra.data(), origin_extra.size());
  origin_fd_ = -1;
  UpgradeRelay::Options options;
  options.idle = ctx_->options->upgraded_idle_timeout;
  options.high_watermark = ctx_->options->buffer_high_watermark;
  relay_ = std::make_unique<UpgradeRelay>(
      ctx_->base, ssl_.get(), fd_, std::move(origin_), options, [this] { return StillTrusted(); },
      [this](UpgradeRelay::End end, absl::string_view why) {
        if (end == UpgradeRelay::End::kUntrusted) {
          ctx_->connection_log->Write(FormatConnectionLogLine(
              absl::Now(), client_ip_, zone_ != nullptr ? zone_->hostname : "", why));
        }
        ERR_clear_error();
        SSL_shutdown(ssl_.get());  // best effort close_notify
        Close();
      });
  state_ = ConnectionState::kUpgraded;
  // Bytes the client sent after its request head belong to the new protocol.
  relay_->Start(client_out_.get(), client_in_.get());
}

bool ClientConnection::StillTrusted() {
  // A trust change reaches an upgraded connection too: a careful operator
  // who deletes a zone or revokes a certificate wants its open WebSockets
  // gone, not alive until they idle out. Recheck costs one atomic load when
  // nothing changed.
  ZoneRecheck recheck = ctx_->tls->Recheck(ssl_.get());
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
  if (exchange_.action != Action::kNone) {
    if (exchange_.status_code == 0) {
      exchange_.status_code = 499;  // nothing was answered
    }
    client_keep_alive_ = false;
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
  ReleaseOrigin(false);
  client_read_ev_.Reset();
  client_write_ev_.Reset();
  client_timer_ev_.reset();
  origin_timer_ev_.reset();
  client_in_.reset();
  client_out_.reset();
  origin_out_.reset();
  bio_ = nullptr;
  ssl_.reset();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (opened_) {
    ctx_->metrics->ConnectionClosed();
  }
  if (notify && ctx_->on_closed) {
    ctx_->on_closed(this);
  }
}

}  // namespace certgate::edge
