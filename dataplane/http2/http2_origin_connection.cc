#include "dataplane/http2/http2_origin_connection.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/origin_dial.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/http2/http2_origin_stream.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

}  // namespace

Http2OriginConnection::Http2OriginConnection(Http2OriginPool* pool, Http2OriginPool::Target target)
    : pool_(pool), target_(std::move(target)) {
  event_base* base = pool_->ctx_->base;
  out_.reset(evbuffer_new());
  timer_ev_.reset(evtimer_new(base, &Http2OriginConnection::OnTimer, this));
  kick_ev_.reset(event_new(base, -1, 0, &Http2OriginConnection::OnKick, this));
  // The lookup and connect start from the loop: a failure is then never
  // reported from inside the Open that asked for the stream.
  timeval tv = absl::ToTimeval(pool_->ctx_->options->origin_connect_timeout);
  evtimer_add(timer_ev_.get(), &tv);
  Kick();
}

Http2OriginConnection::~Http2OriginConnection() {
  if (resolve_ticket_ != 0) {
    pool_->ctx_->resolver->Cancel(resolve_ticket_);
  }
  for (Http2OriginStream* stream : waiting_) {
    stream->connection_ = nullptr;
  }
  for (auto& [id, stream] : streams_) {
    stream->connection_ = nullptr;
  }
  for (Failure& f : failed_) {
    f.stream->connection_ = nullptr;
  }
  for (Http2OriginStream* stream : http1_) {
    stream->connection_ = nullptr;
  }
}

bool Http2OriginConnection::Accepting() const {
  if (dead_) {
    return false;
  }
  if (session_ == nullptr) {
    return waiting_.size() < pool_->options_.initial_max_concurrent_streams;
  }
  return session_->CanSubmit();
}

void Http2OriginConnection::Attach(Http2OriginStream* stream) {
  stream->connection_ = this;
  if (phase_ == Phase::kOpen) {
    evtimer_del(timer_ev_.get());  // the idle timeout
    Submit(stream);
  } else {
    waiting_.push_back(stream);  // the connect timeout runs
  }
  Kick();
}

void Http2OriginConnection::Detach(Http2OriginStream* stream) {
  stream->connection_ = nullptr;
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), stream), waiting_.end());
  failed_.erase(std::remove_if(failed_.begin(), failed_.end(),
                               [stream](const Failure& f) { return f.stream == stream; }),
                failed_.end());
  http1_.erase(std::remove(http1_.begin(), http1_.end(), stream), http1_.end());
  if (stream->id_ != 0) {
    auto it = streams_.find(stream->id_);
    if (it != streams_.end() && it->second == stream) {
      streams_.erase(it);
      if (!stream->session_closed_ && session_ != nullptr) {
        // The client went away or the edge answered it: the origin stops.
        (void)session_->Reset(stream->id_, NGHTTP2_CANCEL);
      }
    }
    stream->id_ = 0;
  }
  ArmIdle();
  Kick();
}

size_t Http2OriginConnection::SendSpace(const Http2OriginStream* stream) const {
  if (session_ == nullptr || stream->session_closed_) {
    return 0;
  }
  size_t space = session_->OutboundSpace(stream->id_);
  if (space == 0) {
    stream->blocked_ = true;
  }
  return space;
}

absl::Status Http2OriginConnection::SendData(Http2OriginStream* stream, absl::string_view data) {
  if (session_ == nullptr || stream->session_closed_) {
    return absl::FailedPreconditionError("the origin stream is closed");
  }
  absl::Status sent = session_->SendData(stream->id_, data);
  if (sent.ok()) {
    stream->body_sent_ = true;
    Kick();
  } else if (absl::IsResourceExhausted(sent)) {
    stream->blocked_ = true;
  }
  return sent;
}

absl::Status Http2OriginConnection::Finish(Http2OriginStream* stream, HttpHeaders trailers) {
  if (session_ == nullptr || stream->session_closed_) {
    return absl::FailedPreconditionError("the origin stream is closed");
  }
  stream->body_sent_ = true;  // the request is on its way: no retry
  absl::Status done = session_->Finish(stream->id_, std::move(trailers));
  Kick();
  return done;
}

void Http2OriginConnection::Consume(Http2OriginStream* stream, size_t bytes) {
  if (session_ != nullptr && !stream->session_closed_) {
    session_->Consume(stream->id_, bytes);
    Kick();
  }
}

// --- from the loop ------------------------------------------------------------

void Http2OriginConnection::OnKick(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http2OriginConnection*>(arg);
  if (self->phase_ == Phase::kResolving && !self->begun_) {
    self->Begin();
  }
  self->Flush();
  self->Dispatch();
}

void Http2OriginConnection::OnTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http2OriginConnection*>(arg);
  if (self->phase_ == Phase::kResolving) {
    self->Fail(504, absl::StrCat("resolving the origin \"", self->target_.host, "\" timed out"));
  } else if (self->phase_ == Phase::kConnecting) {
    self->Fail(504, "origin connect timed out");
  } else if (self->phase_ == Phase::kHandshaking) {
    self->Fail(504, "origin TLS handshake timed out");
  } else if (self->phase_ == Phase::kOpen && self->streams_.empty() && self->waiting_.empty()) {
    // Idle: say goodbye and close.
    self->session_->GoAway(NGHTTP2_NO_ERROR, "idle");
    self->Flush();
    self->Fail(502, "idle");
  }
  self->Dispatch();
}

void Http2OriginConnection::OnSocket(void* arg, OriginTransport*, short what) {
  auto* self = static_cast<Http2OriginConnection*>(arg);
  if (self->phase_ == Phase::kConnecting) {
    absl::Status connected = ConnectResult(*self->transport_);
    if (!connected.ok()) {
      self->Fail(502, connected.message());
      self->Dispatch();
      return;
    }
    if (self->transport_->tls()) {
      self->phase_ = Phase::kHandshaking;
      self->Handshake();
    } else {
      self->Connected();
    }
  } else if (self->phase_ == Phase::kHandshaking) {
    self->Handshake();
  } else if (self->phase_ == Phase::kOpen) {
    if (what & EV_READ) {
      self->ReadSocket();
    }
    self->Flush();
  }
  self->Dispatch();
}

void Http2OriginConnection::Kick() {
  if (kick_ev_ != nullptr) {
    event_active(kick_ev_.get(), EV_TIMEOUT, 1);
  }
}

// --- connecting ---------------------------------------------------------------

void Http2OriginConnection::Begin() {
  begun_ = true;
  in_begin_ = true;
  uint64_t ticket = pool_->ctx_->resolver->Resolve(
      target_.host, target_.port, [this](absl::StatusOr<ResolvedAddress> addr) {
        resolve_ticket_ = 0;
        resolved_inline_ = true;
        Resolved(std::move(addr));
        if (!in_begin_) {
          Flush();
          Dispatch();  // called from the loop: nobody else will
        }
      });
  in_begin_ = false;
  if (!resolved_inline_) {
    resolve_ticket_ = ticket;
  }
}

void Http2OriginConnection::Resolved(absl::StatusOr<ResolvedAddress> addr) {
  if (dead_) {
    return;
  }
  if (!addr.ok()) {
    Fail(absl::IsDeadlineExceeded(addr.status()) ? 504 : 502, addr.status().message());
    return;
  }
  absl::StatusOr<OriginDial> dial =
      DialOrigin(*pool_->ctx_, *addr, DialTarget(), &Http2OriginConnection::OnSocket, this);
  if (!dial.ok()) {
    Fail(502, dial.status().message());
    return;
  }
  transport_ = std::move(dial->transport);
  if (dial->connecting) {
    phase_ = Phase::kConnecting;
    transport_->WatchWrite(true);
    return;
  }
  if (transport_->tls()) {
    phase_ = Phase::kHandshaking;
    Handshake();
  } else {
    Connected();
  }
}

OriginDialTarget Http2OriginConnection::DialTarget() const {
  return OriginDialTarget{target_.host,      target_.port, target_.zone_hostname,
                          target_.client_ip, target_.tls,  /*offer_h2=*/true};
}

void Http2OriginConnection::Handshake() {
  absl::StatusOr<bool> done = AdvanceOriginHandshake(*pool_->ctx_, *transport_, DialTarget());
  if (!done.ok()) {
    Fail(502, done.status().message());
    return;
  }
  if (!*done) {
    transport_->WatchRead(transport_->wants_read());
    transport_->WatchWrite(transport_->wants_write());
    return;
  }
  if (transport_->alpn() == "h2") {
    Connected();
    return;
  }
  // HTTP/1.1: the connection (handshake done) waits in the HTTP/1.1 pool
  // for the first of these requests, which go the HTTP/1.1 way.
  pool_->PicksHttp1(target_.key);
  evtimer_del(timer_ev_.get());
  pool_->ctx_->origins->Put(target_.key, std::move(transport_));
  for (Http2OriginStream* stream : waiting_) {
    http1_.push_back(stream);
  }
  waiting_.clear();
  dead_ = true;
  phase_ = Phase::kDead;
  pool_->Dead();
}

void Http2OriginConnection::Connected() {
  evtimer_del(timer_ev_.get());
  Http2OriginConnection* self = this;
  Http2Session::StreamCallbacks callbacks;
  callbacks.on_data = [self](int32_t id, absl::string_view data) {
    Event e{Event::kData, id};
    e.data = std::string(data);
    self->events_.push_back(std::move(e));
  };
  callbacks.on_trailers = [self](int32_t id, HttpHeaders trailers) {
    Event e{Event::kTrailers, id};
    e.fields = std::move(trailers);
    self->events_.push_back(std::move(e));
  };
  callbacks.on_end_stream = [self](int32_t id) { self->events_.push_back(Event{Event::kEnd, id}); };
  callbacks.on_stream_close = [self](int32_t id, uint32_t code) {
    auto it = self->streams_.find(id);
    if (it != self->streams_.end()) {
      it->second->session_closed_ = true;
    }
    Event e{Event::kClose, id};
    e.error_code = code;
    self->events_.push_back(std::move(e));
  };
  absl::StatusOr<std::unique_ptr<Http2ClientSession>> session = Http2ClientSession::Create(
      pool_->options_,
      [self](Http2ResponseHead head) {
        Event e{Event::kHead, head.stream_id};
        e.status = head.status;
        e.end_stream = head.end_stream;
        e.fields = std::move(head.fields);
        self->events_.push_back(std::move(e));
      },
      // Streams above last_stream_id are closed by nghttp2 with
      // REFUSED_STREAM (StreamClosed retries them); no new stream goes here.
      [](int32_t, uint32_t) {}, std::move(callbacks));
  if (!session.ok()) {
    Fail(502, session.status().message());
    return;
  }
  session_ = std::move(*session);
  phase_ = Phase::kOpen;
  transport_->WatchRead(true);
  std::vector<Http2OriginStream*> waiting = std::move(waiting_);
  waiting_.clear();
  for (Http2OriginStream* stream : waiting) {
    Submit(stream);
  }
  Flush();
  ArmIdle();
}

void Http2OriginConnection::Submit(Http2OriginStream* stream) {
  const OriginRequest& r = stream->request_;
  bool empty_finish = stream->finish_pending_ && stream->pending_trailers_.empty();
  bool end_stream = stream->end_stream_ || empty_finish;
  Http2RequestHead head;
  head.method = r.method;
  head.scheme = target_.tls != nullptr ? "https" : "http";
  head.authority = r.authority;
  head.path = r.path;
  head.fields = r.fields;
  absl::StatusOr<int32_t> id = session_->SubmitRequest(head, end_stream);
  if (!id.ok()) {
    failed_.push_back(Failure{stream, 502, std::string(id.status().message())});
    Kick();
    return;
  }
  stream->id_ = *id;
  stream->session_closed_ = false;
  streams_[*id] = stream;
  if (stream->finish_pending_) {
    stream->finish_pending_ = false;
    if (!empty_finish) {
      (void)session_->Finish(*id, std::move(stream->pending_trailers_));
    }
    stream->end_stream_ = true;
  }
  Kick();
}

// --- I/O ------------------------------------------------------------------------

void Http2OriginConnection::ReadSocket() {
  char buf[kReadChunk];
  while (!dead_) {
    ssize_t n = transport_->Read(buf, sizeof(buf));
    if (n > 0) {
      absl::Status received = session_->Receive(absl::string_view(buf, static_cast<size_t>(n)));
      if (!received.ok()) {
        Flush();  // the GOAWAY saying why
        Fail(502, absl::StrCat("origin broke HTTP/2: ", received.message()));
        return;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      break;
    }
    Fail(502, n == 0 ? std::string("origin closed the connection") : transport_->last_error());
    return;
  }
  if (!dead_ && session_->done()) {
    Fail(502, session_->close_reason().empty() ? std::string("origin ended the HTTP/2 connection")
                                               : session_->close_reason());
  }
}

void Http2OriginConnection::Flush() {
  if (phase_ != Phase::kOpen || session_ == nullptr || transport_ == nullptr) {
    return;
  }
  std::string output = session_->TakeOutput();
  evbuffer_add(out_.get(), output.data(), output.size());
  while (evbuffer_get_length(out_.get()) > 0) {
    int n = transport_->Write(out_.get());
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      break;
    }
    std::string why = absl::StrCat("origin write failed: ", transport_->last_error());
    evbuffer_drain(out_.get(), evbuffer_get_length(out_.get()));
    Fail(502, why);
    return;
  }
  if (dead_) {
    return;
  }
  transport_->WatchWrite(evbuffer_get_length(out_.get()) > 0);
  for (auto& [id, stream] : streams_) {
    if (stream->blocked_ && session_->OutboundSpace(id) > 0) {
      stream->blocked_ = false;
      writable_.push_back(id);
    }
  }
}

void Http2OriginConnection::Dispatch() {
  // One at a time from the front: a sink may detach any stream (its own)
  // and open new ones while this runs.
  while (true) {
    if (!failed_.empty()) {
      Failure f = std::move(failed_.front());
      failed_.erase(failed_.begin());
      f.stream->connection_ = nullptr;
      f.stream->id_ = 0;
      f.stream->sink_->OnOriginFailed(f.status, f.why);
      continue;
    }
    if (!events_.empty()) {
      Event e = std::move(events_.front());
      events_.erase(events_.begin());
      auto it = streams_.find(e.stream_id);
      if (it == streams_.end()) {
        continue;  // detached: its owner is gone
      }
      Http2OriginStream* stream = it->second;
      switch (e.kind) {
        case Event::kHead:
          stream->response_seen_ = true;
          stream->request_ = OriginRequest{};  // never resent once answered
          stream->sink_->OnOriginResponse(e.status, std::move(e.fields), e.end_stream);
          break;
        case Event::kData:
          stream->sink_->OnOriginData(e.data);
          break;
        case Event::kTrailers:
          stream->sink_->OnOriginTrailers(std::move(e.fields));
          break;
        case Event::kEnd:
          stream->ended_ = true;
          stream->sink_->OnOriginEnd();
          break;
        case Event::kClose:
          streams_.erase(it);
          StreamClosed(stream, e.error_code);
          ArmIdle();
          break;
      }
      continue;
    }
    if (!http1_.empty()) {
      Http2OriginStream* stream = http1_.front();
      http1_.erase(http1_.begin());
      stream->connection_ = nullptr;
      stream->sink_->OnOriginHttp1();
      continue;
    }
    if (dead_ && (!waiting_.empty() || !streams_.empty())) {
      for (Http2OriginStream* stream : waiting_) {
        failed_.push_back(Failure{stream, fail_status_, fail_why_});
      }
      waiting_.clear();
      for (auto& [id, stream] : streams_) {
        stream->session_closed_ = true;
        failed_.push_back(Failure{stream, fail_status_, fail_why_});
      }
      streams_.clear();
      continue;
    }
    if (!writable_.empty()) {
      int32_t id = writable_.front();
      writable_.erase(writable_.begin());
      auto it = streams_.find(id);
      if (it != streams_.end()) {
        it->second->sink_->OnOriginWritable();
      }
      continue;
    }
    break;
  }
}

void Http2OriginConnection::StreamClosed(Http2OriginStream* stream, uint32_t error_code) {
  stream->connection_ = nullptr;
  stream->id_ = 0;
  if (stream->ended_) {
    // The response was whole (OnOriginEnd said so), even if the origin
    // then reset a request body it no longer wanted.
    return;
  }
  if (!stream->response_seen_ && error_code == NGHTTP2_REFUSED_STREAM && !stream->body_sent_ &&
      !stream->retried_) {
    // Refused unprocessed (above a GOAWAY's last_stream_id, or
    // REFUSED_STREAM): safe to send once more, on another connection.
    pool_->ctx_->metrics->OriginRetry();
    pool_->Retry(stream, this);
    return;
  }
  std::string why =
      error_code == NGHTTP2_NO_ERROR
          ? std::string("origin closed the stream without a whole response")
          : absl::StrCat("origin reset the stream (", nghttp2_http2_strerror(error_code), ")");
  stream->sink_->OnOriginFailed(502, why);
}

void Http2OriginConnection::Fail(int status, absl::string_view why) {
  if (dead_) {
    return;
  }
  dead_ = true;
  phase_ = Phase::kDead;
  evtimer_del(timer_ev_.get());
  if (transport_ != nullptr) {
    // Freed with the connection (from the pool's reaper), not from inside
    // its own event.
    transport_->WatchRead(false);
    transport_->WatchWrite(false);
  }
  // The streams hear of it in Dispatch, after the events already
  // collected (a response that arrived whole before the close stands).
  fail_status_ = status;
  fail_why_ = std::string(why);
  writable_.clear();
  pool_->Dead();
}

void Http2OriginConnection::ArmIdle() {
  if (phase_ != Phase::kOpen || !streams_.empty() || !waiting_.empty()) {
    return;
  }
  timeval tv = absl::ToTimeval(pool_->idle_timeout_);
  evtimer_add(timer_ev_.get(), &tv);
}

}  // namespace certgate::edge
