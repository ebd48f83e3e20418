#include "dataplane/http2/http2_connection.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/zone_defaults.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/grpc_refusal.h"
#include "dataplane/http/request_decision.h"
#include "dataplane/http/socket_bio.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"
#include "dataplane/metrics/worker_metrics.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

std::string JsonError(absl::string_view message) {
  return absl::StrCat("{\"error\":", JsonQuote(message), "}");
}

uint64_t HeadBytes(const Http2RequestHead& head) {
  uint64_t n = head.method.size() + head.path.size() + head.authority.size() + head.scheme.size();
  for (const HttpHeader& h : head.fields) {
    n += h.name.size() + h.value.size();
  }
  return n;
}

}  // namespace

ProtocolDriverFactory Http2Connection::Factory(Http2ServerOptions options) {
  return [options](Connection connection) -> std::unique_ptr<ProtocolDriver> {
    return std::make_unique<Http2Connection>(std::move(connection), options);
  };
}

Http2Connection::Http2Connection(Connection connection, Http2ServerOptions options)
    : conn_(std::move(connection)), options_(std::move(options)) {}

Http2Connection::~Http2Connection() { Stop(); }

void Http2Connection::Start() {
  WorkerContext* ctx = conn_.ctx;
  zone_ = conn_.auth->zone;
  cert_status_ = CertStatusName(conn_.auth->status);
  cert_headers_ =
      std::make_shared<const CertificateHeaders>(ComputeCertificateHeaders(*zone_, *conn_.auth));
  out_.reset(evbuffer_new());
  // As the HTTP/1.1 transport does: the socket is read only when the loop
  // said so since the last short read (OnSocketEvent marks it).
  if (BIO* rbio = SSL_get_rbio(conn_.ssl); SocketBio::Is(rbio)) {
    bio_ = rbio;
    SocketBio::UseReadinessHints(bio_, true);
  }
  read_ev_ =
      SocketEvent(event_new(ctx->base, conn_.fd, EV_READ | EV_PERSIST, &OnSocketEvent, this));
  write_ev_ =
      SocketEvent(event_new(ctx->base, conn_.fd, EV_WRITE | EV_PERSIST, &OnSocketEvent, this));
  kick_ev_.reset(event_new(ctx->base, -1, 0, &OnKick, this));
  idle_ev_.reset(evtimer_new(ctx->base, &OnIdleTimer, this));
  Http2ServerOptions options = options_;
  options.zone_hostname = zone_->hostname;
  Http2Session::StreamCallbacks callbacks;
  callbacks.on_data = [this](int32_t id, absl::string_view data) { OnData(id, data); };
  callbacks.on_trailers = [this](int32_t id, HttpHeaders t) { OnTrailers(id, std::move(t)); };
  callbacks.on_end_stream = [this](int32_t id) { OnEndStream(id); };
  callbacks.on_stream_close = [this](int32_t id, uint32_t code) { OnStreamClose(id, code); };
  absl::StatusOr<std::unique_ptr<Http2ServerSession>> session = Http2ServerSession::Create(
      std::move(options), [this](Http2RequestHead head) { OnRequest(std::move(head)); },
      std::move(callbacks));
  if (session.ok()) {
    session_ = std::move(*session);
    session_->set_on_local_answer(
        [this](const Http2RequestHead& head, int status) { OnLocalAnswer(head, status); });
  } else {
    ctx->connection_log->Write(FormatConnectionLogLine(
        absl::Now(), conn_.client_ip, zone_->hostname, session.status().message()));
  }
  // From the loop: the client's preface may already wait in the SSL, and
  // on_end must not run inside Start. A failed session ends there.
  Kick();
}

void Http2Connection::Drain() {
  if (session_ != nullptr && !ended_) {
    // GOAWAY NO_ERROR: the streams under way finish, no new one opens.
    session_->Drain();
    Kick();
  }
}

void Http2Connection::Stop() {
  read_ev_.Reset();
  write_ev_.Reset();
  if (bio_ != nullptr) {
    SocketBio::UseReadinessHints(bio_, false);  // nobody marks it any more
    bio_ = nullptr;
  }
  kick_ev_.reset();
  idle_ev_.reset();
  for (auto& [id, stream] : streams_) {
    if (stream->upstream != nullptr) {
      stream->upstream->Cancel();
      retired_.push_back(std::move(stream->upstream));
    }
    if (stream->status == 0) {
      stream->status = 499;  // the connection ended before an answer
    }
    Log(*stream);
  }
  streams_.clear();
  retired_.clear();
  ended_ = true;
}

// --- events -----------------------------------------------------------------

void Http2Connection::OnSocketEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<Http2Connection*>(arg);
  if ((what & EV_READ) && self->bio_ != nullptr) {
    SocketBio::MarkReadable(self->bio_);
  }
  if (what & EV_WRITE) {
    self->write_blocked_ = false;
    self->read_wants_write_ = false;
  }
  self->Run();
}

void Http2Connection::OnKick(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http2Connection*>(arg);
  self->kicked_ = false;
  self->Run();
}

void Http2Connection::OnIdleTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http2Connection*>(arg);
  // No stream for the idle timeout: say goodbye properly, then close.
  self->session_->GoAway(NGHTTP2_NO_ERROR, "");
  self->Run();
}

void Http2Connection::Kick() {
  if (!kicked_ && !ended_ && kick_ev_ != nullptr) {
    kicked_ = true;
    event_active(kick_ev_.get(), EV_READ, 1);
  }
}

void Http2Connection::Run() {
  if (ended_) {
    return;
  }
  if (session_ == nullptr) {
    End("");
    return;
  }
  ReadClient();
  // Bounded rounds; what is left for later comes back through the loop.
  bool resumed = true;
  for (int round = 0; round < 4 && resumed && !ended_; ++round) {
    Flush();
    if (ended_) {
      return;
    }
    // Streams whose response waited for room read their origin again.
    // Another round (and a kick) only when one of them gave output: a
    // long-lived stream (gRPC streaming) with nothing to send would
    // otherwise keep the loop busy and starve its other sockets.
    uint64_t given = upstream_output_;
    for (auto& [id, stream] : streams_) {
      if (stream->upstream != nullptr && stream->response_started &&
          session_->OutboundSpace(id) >= kReadChunk) {
        stream->upstream->ResumeResponse();
      }
    }
    resumed = upstream_output_ != given;
  }
  if (ended_) {
    return;
  }
  if (resumed) {
    Kick();  // the last round queued output: write it from the loop
  }
  retired_.clear();
  if (evbuffer_get_length(out_.get()) == 0 && (session_->done() || client_eof_)) {
    End(session_->close_reason());
    return;
  }
  UpdateEvents();
  if (session_->open_streams() == 0) {
    timeval tv = absl::ToTimeval(conn_.ctx->options->idle_timeout);
    evtimer_add(idle_ev_.get(), &tv);
  } else {
    evtimer_del(idle_ev_.get());
  }
}

void Http2Connection::ReadClient() {
  char buf[kReadChunk];
  size_t watermark = conn_.ctx->options->buffer_high_watermark;
  while (!ended_ && !client_eof_ && evbuffer_get_length(out_.get()) < watermark) {
    ERR_clear_error();
    int n = SSL_read(conn_.ssl, buf, sizeof(buf));
    if (n > 0) {
      absl::Status received = session_->Receive(absl::string_view(buf, static_cast<size_t>(n)));
      if (!received.ok()) {
        // The client broke the protocol or a limit: the session queued a
        // GOAWAY; it goes out, then the connection closes (Run).
        conn_.ctx->connection_log->Write(FormatConnectionLogLine(
            absl::Now(), conn_.client_ip, zone_->hostname, received.message()));
        client_eof_ = true;
        return;
      }
      continue;
    }
    int err = SSL_get_error(conn_.ssl, n);
    if (err == SSL_ERROR_WANT_READ) {
      return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      read_wants_write_ = true;
      return;
    }
    // Clean close_notify, a bare FIN, or a TLS error: streams in flight
    // cannot be answered any more.
    client_eof_ = true;
    return;
  }
}

void Http2Connection::Flush() {
  size_t watermark = conn_.ctx->options->buffer_high_watermark;
  for (;;) {
    // What nghttp2 has not framed yet stays in the streams' outboxes (under
    // the session's outbound limits) while the socket is behind.
    bool full = evbuffer_get_length(out_.get()) >= watermark;
    bool took = false;
    if (!full) {
      took = session_->TakeOutputTo([this](absl::string_view bytes) {
        evbuffer_add(out_.get(), bytes.data(), bytes.size());
      });
    }
    switch (SslWriteBuffer(conn_.ssl, out_.get())) {
      case SslWriteResult::kDone:
        write_blocked_ = false;
        break;
      case SslWriteResult::kBlocked:
        write_blocked_ = true;
        return;
      case SslWriteResult::kFailed:
        End("");  // the client went away
        return;
    }
    if (!full && !took) {
      return;  // the socket took everything and the session has no more now
    }
  }
}

void Http2Connection::UpdateEvents() {
  bool reading =
      !client_eof_ && evbuffer_get_length(out_.get()) < conn_.ctx->options->buffer_high_watermark;
  read_ev_.Set(reading);
  write_ev_.Set(write_blocked_ || read_wants_write_);
  // Records already decrypted, or read ahead into the BIO, never make the
  // socket readable again.
  if (reading && (SSL_pending(conn_.ssl) > 0 || BIO_pending(SSL_get_rbio(conn_.ssl)) > 0)) {
    event_active(read_ev_.get(), EV_READ, 1);
  }
}

void Http2Connection::End(absl::string_view why) {
  if (ended_) {
    return;
  }
  if (!why.empty()) {
    conn_.ctx->connection_log->Write(
        FormatConnectionLogLine(absl::Now(), conn_.client_ip, zone_->hostname, why));
  }
  ERR_clear_error();
  SSL_shutdown(conn_.ssl);  // best effort close_notify
  ended_ = true;
  conn_.on_end();  // the connection closes; Stop follows
}

bool Http2Connection::FollowConfigChange() {
  ConnectionAuth* auth = conn_.auth;
  ZoneRecheck recheck = conn_.ctx->tls->Recheck(conn_.ssl);
  if (recheck == ZoneRecheck::kGone) {
    return false;
  }
  zone_ = auth->zone;
  if (recheck == ZoneRecheck::kRejudged) {
    cert_status_ = CertStatusName(auth->status);
    cert_headers_ =
        std::make_shared<const CertificateHeaders>(ComputeCertificateHeaders(*zone_, *auth));
    conn_.ctx->metrics->CertificateSeen(zone_->hostname, cert_status_, auth->reason);
  }
  return true;
}

// --- streams ------------------------------------------------------------------

Http2Connection::Stream* Http2Connection::Find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2Connection::OnRequest(Http2RequestHead head) {
  WorkerContext* ctx = conn_.ctx;
  const ConnectionAuth& auth = *conn_.auth;
  auto owned = std::make_unique<Stream>();
  Stream& stream = *owned;
  streams_[head.stream_id] = std::move(owned);
  stream.id = head.stream_id;
  stream.start = absl::Now();
  stream.method = head.method;
  stream.path = head.path;
  stream.bytes_in = HeadBytes(head);
  if (!FollowConfigChange()) {
    // As on HTTP/1.1: 421, and the connection takes no further request.
    stream.cert_status = cert_status_;
    RespondJson(stream, 421, "this connection's zone has changed or is gone; connect again");
    // GOAWAY once the 421 is out (OnStreamClose): a GOAWAY first would
    // make some clients drop the answer.
    zone_gone_ = true;
    return;
  }
  stream.config = auth.config;
  stream.zone = zone_;
  stream.cert_status = cert_status_;
  // The fields move: the stream keeps only method and path of the head.
  HttpHeaders headers = Http1Headers(std::move(head));
  RequestDecision decision =
      DecideRequest(*zone_, auth, head.method, head.path, headers, /*keep_alive=*/true);
  stream.host = decision.host;
  stream.refusal = decision.refusal;
  if (decision.rule >= 0) {
    ctx->metrics->RuleMatched(zone_->id, zone_->RuleId(decision.rule), decision.rule_refuses);
  }
  if (decision.status == 403) {
    // The origin is never contacted.
    if (IsGrpcRequest(headers)) {
      // A gRPC client reads only grpc-status: a trailers-only answer. It
      // counts (log, metrics) as the 403 it stands for.
      const std::string* type = FindHeader(headers, "content-type");
      GrpcRefusal refusal =
          MakeGrpcRefusal(auth.status, decision.refusal.empty() ? auth.reason : decision.refusal,
                          type != nullptr ? *type : "application/grpc");
      stream.status = 403;
      stream.response_started = true;
      if (!session_->SubmitResponse(stream.id, refusal.http_status, refusal.fields, true).ok()) {
        session_->Reset(stream.id, NGHTTP2_INTERNAL_ERROR).IgnoreError();
      }
      return;
    }
    bool custom = !zone_->error_body.empty();
    Respond(stream, 403,
            custom && !zone_->error_content_type.empty() ? zone_->error_content_type
                                                         : ZoneDefaults::kErrorContentType,
            custom ? absl::string_view(zone_->error_body) : ZoneDefaults::kErrorBody);
    return;
  }
  if (decision.status != 0) {
    RespondJson(stream, decision.status, decision.message);
    return;
  }
  uint64_t max_body = ctx->options->max_body_bytes;
  std::optional<uint64_t> content_length;
  if (const std::string* cl = FindHeader(headers, "content-length")) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(*cl, &n)) {
      RespondJson(stream, 400, "invalid content-length");
      return;
    }
    content_length = n;
  }
  if (max_body > 0 && content_length.has_value() && *content_length > max_body) {
    RespondJson(stream, 413,
                absl::StrCat("request body of ", *content_length,
                             " bytes is larger than the limit of ", max_body, " bytes"));
    return;
  }
  stream.upstream = MakeStreamUpstream(ctx, *zone_, MakeSink(stream.id));
  if (stream.upstream == nullptr) {
    RespondJson(stream, 502, "the zone's origin protocol is not served to HTTP/2 clients");
    return;
  }
  StreamRequest request;
  request.method = head.method;
  request.path = std::move(decision.origin_form);
  request.host = decision.host;
  request.client_ip = conn_.client_ip;
  request.headers = std::move(headers);
  request.cert = cert_headers_;
  stream.cert = cert_headers_;
  request.refusal = decision.refusal;
  request.withhold_certificate = decision.withhold_certificate;
  request.allow_underscore_headers = ctx->options->allow_underscore_headers;
  request.has_body = !head.end_stream;
  request.content_length = content_length;
  stream.upstream->Start(std::move(request));
}

void Http2Connection::OnLocalAnswer(const Http2RequestHead& head, int status) {
  // Logged under the connection's zone, as the HTTP/1.1 path logs a
  // request for another zone's host; never reaches an origin.
  Stream stream;
  stream.id = head.stream_id;
  stream.start = absl::Now();
  stream.method = head.method;
  stream.path = head.path;
  stream.host = HostWithoutPort(head.authority);
  stream.zone = zone_;
  stream.cert_status = cert_status_;
  stream.status = status;
  stream.bytes_in = HeadBytes(head);
  Log(stream);
}

void Http2Connection::OnData(int32_t id, absl::string_view data) {
  Stream* stream = Find(id);
  if (stream == nullptr) {
    session_->Consume(id, data.size());
    return;
  }
  stream->bytes_in += data.size();
  if (stream->upstream == nullptr) {
    session_->Consume(id, data.size());  // answered by the edge: read and dropped
    return;
  }
  uint64_t max_body = conn_.ctx->options->max_body_bytes;
  if (max_body > 0 && stream->bytes_in > max_body) {
    // Counted with the head's bytes, as the HTTP/1.1 path counts.
    stream->upstream->Cancel();
    retired_.push_back(std::move(stream->upstream));
    session_->Consume(id, data.size());
    if (!stream->response_started) {
      RespondJson(*stream, 413,
                  absl::StrCat("request body is larger than the limit of ", max_body, " bytes"));
    } else {
      session_->Reset(id, NGHTTP2_CANCEL).IgnoreError();
    }
    return;
  }
  stream->upstream->SendBody(data);
}

void Http2Connection::OnTrailers(int32_t id, HttpHeaders trailers) {
  Stream* stream = Find(id);
  if (stream != nullptr && stream->upstream != nullptr) {
    stream->upstream->EndRequest(RewriteRequestTrailers(
        trailers, *stream->cert, conn_.ctx->options->allow_underscore_headers));
  }
}

void Http2Connection::OnEndStream(int32_t id) {
  Stream* stream = Find(id);
  if (stream != nullptr && stream->upstream != nullptr) {
    stream->upstream->EndRequest({});  // a no-op after trailers
  }
}

void Http2Connection::OnStreamClose(int32_t id, uint32_t /*error_code*/) {
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    return;
  }
  Stream& stream = *it->second;
  if (stream.upstream != nullptr) {
    stream.upstream->Cancel();
    retired_.push_back(std::move(stream.upstream));
  }
  if (stream.status == 0) {
    stream.status = 499;  // reset by the client before any answer
  }
  Log(stream);
  streams_.erase(it);
  if (zone_gone_) {
    session_->Drain();
  }
}

StreamUpstream::Sink Http2Connection::MakeSink(int32_t id) {
  StreamUpstream::Sink sink;
  sink.on_head = [this, id](int status, HttpHeaders fields, bool end_stream) {
    Stream* stream = Find(id);
    if (stream == nullptr) {
      return;
    }
    stream->status = status;
    stream->response_started = true;
    stream->head_ended = end_stream;
    for (const HttpHeader& h : fields) {
      stream->bytes_out += h.name.size() + h.value.size();
    }
    if (!session_->SubmitResponse(id, status, fields, end_stream).ok()) {
      session_->Reset(id, NGHTTP2_INTERNAL_ERROR).IgnoreError();
    }
  };
  sink.on_data = [this, id](absl::string_view data) {
    Stream* stream = Find(id);
    if (stream == nullptr) {
      return;
    }
    stream->bytes_out += data.size();
    ++upstream_output_;
    if (!session_->SendData(id, data).ok()) {
      // Only when the upstream read past space(): never buffer beyond it.
      session_->Reset(id, NGHTTP2_INTERNAL_ERROR).IgnoreError();
    }
  };
  sink.on_end = [this, id](HttpHeaders trailers) {
    ++upstream_output_;
    Stream* stream = Find(id);
    if (stream != nullptr && !stream->head_ended) {
      session_->Finish(id, std::move(trailers)).IgnoreError();
    }
  };
  sink.on_failed = [this, id](int status, absl::string_view why) {
    Stream* stream = Find(id);
    if (stream == nullptr) {
      return;
    }
    if (!stream->response_started) {
      RespondJson(*stream, status, why);
    } else {
      session_->Reset(id, NGHTTP2_INTERNAL_ERROR).IgnoreError();
    }
  };
  sink.on_consumed = [this, id](size_t bytes) { session_->Consume(id, bytes); };
  sink.space = [this, id] { return session_->OutboundSpace(id); };
  sink.kick = [this] { Kick(); };
  return sink;
}

void Http2Connection::Respond(Stream& stream, int status, absl::string_view content_type,
                              absl::string_view body) {
  stream.status = status;
  stream.response_started = true;
  stream.bytes_out += body.size();
  HttpHeaders fields = {{"content-type", std::string(content_type)},
                        {"content-length", absl::StrCat(body.size())}};
  bool head_only = body.empty() || stream.method == "HEAD";
  if (!session_->SubmitResponse(stream.id, status, fields, head_only).ok()) {
    session_->Reset(stream.id, NGHTTP2_INTERNAL_ERROR).IgnoreError();
    return;
  }
  if (!head_only) {
    session_->SendData(stream.id, body).IgnoreError();
    session_->Finish(stream.id).IgnoreError();
  }
}

void Http2Connection::RespondJson(Stream& stream, int status, absl::string_view message) {
  Respond(stream, status, "application/json", JsonError(message));
}

void Http2Connection::Log(const Stream& stream) {
  WorkerContext* ctx = conn_.ctx;
  const ConnectionAuth* auth = conn_.auth;
  const ZoneConfig* zone = stream.zone != nullptr ? stream.zone : zone_;
  if (ctx->access_log->ShouldLogRequest(stream.status, auth->status == CertStatus::kInvalid)) {
    AccessLogEntry entry;
    entry.time = stream.start;
    // A view: the zone outlives the line, a temporary "" string would not.
    entry.zone = zone != nullptr ? absl::string_view(zone->hostname) : absl::string_view();
    entry.host = stream.host;
    entry.method = stream.method;
    entry.path = stream.path;
    entry.status = stream.status;
    entry.cert_status = stream.cert_status;
    entry.reason = !stream.refusal.empty() ? stream.refusal : auth->reason;
    entry.ski = auth->ski_hex;
    entry.bytes_in = stream.bytes_in;
    entry.bytes_out = stream.bytes_out;
    entry.duration_ms = absl::ToDoubleMilliseconds(absl::Now() - entry.time);
    entry.client = conn_.client_ip;
    ctx->access_log->Append([&entry](std::string* out) { AppendAccessLogLine(out, entry); });
  }
  ctx->metrics->RequestDone(zone != nullptr ? zone->hostname : "", zone != nullptr ? zone->id : 0,
                            stream.status, stream.cert_status);
}

}  // namespace certgate::edge
