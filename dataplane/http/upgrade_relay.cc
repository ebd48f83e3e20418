#include "dataplane/http/upgrade_relay.h"

#include <event2/buffer.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "dataplane/http/origin_transport.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
namespace {

constexpr size_t kChunk = 16384;

}  // namespace

UpgradeRelay::UpgradeRelay(event_base* base, SSL* ssl, int client_fd,
                           std::unique_ptr<OriginTransport> origin, Options options,
                           std::function<bool()> still_trusted, DoneCallback done)
    : base_(base),
      ssl_(ssl),
      client_fd_(client_fd),
      origin_(std::move(origin)),
      options_(options),
      still_trusted_(std::move(still_trusted)),
      done_(std::move(done)) {}

UpgradeRelay::~UpgradeRelay() { Stop(); }

void UpgradeRelay::Start(evbuffer* to_client, evbuffer* to_origin) {
  to_client_.reset(evbuffer_new());
  to_origin_.reset(evbuffer_new());
  evbuffer_add_buffer(to_client_.get(), to_client);
  evbuffer_add_buffer(to_origin_.get(), to_origin);
  int origin_fd = origin_->fd();
  client_read_ev_.reset(event_new(base_, client_fd_, EV_READ | EV_PERSIST, &OnEvent, this));
  client_write_ev_.reset(event_new(base_, client_fd_, EV_WRITE | EV_PERSIST, &OnEvent, this));
  origin_read_ev_.reset(event_new(base_, origin_fd, EV_READ | EV_PERSIST, &OnEvent, this));
  origin_write_ev_.reset(event_new(base_, origin_fd, EV_WRITE | EV_PERSIST, &OnEvent, this));
  idle_ev_.reset(evtimer_new(base_, &OnIdle, this));
  recheck_ev_.reset(event_new(base_, -1, EV_PERSIST, &OnRecheck, this));
  timeval recheck = absl::ToTimeval(options_.recheck_interval);
  event_add(recheck_ev_.get(), &recheck);
  Touch();
  Pump();
}

void UpgradeRelay::Stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (EventPtr* ev : {&client_read_ev_, &client_write_ev_, &origin_read_ev_, &origin_write_ev_,
                       &idle_ev_, &recheck_ev_}) {
    ev->reset();
  }
  origin_.reset();  // closes the origin socket (after a close_notify over TLS)
}

void UpgradeRelay::OnEvent(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<UpgradeRelay*>(arg);
  if (fd == self->client_fd_ && (what & EV_WRITE)) {
    self->client_write_blocked_ = false;
    self->client_read_wants_write_ = false;
  }
  self->Pump();
}

void UpgradeRelay::OnIdle(evutil_socket_t, short, void* arg) {
  static_cast<UpgradeRelay*>(arg)->Finish(End::kIdle, "upgraded connection idle timeout");
}

void UpgradeRelay::OnRecheck(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<UpgradeRelay*>(arg);
  if (self->still_trusted_ && !self->still_trusted_()) {
    self->Finish(End::kUntrusted,
                 "upgraded connection closed: its zone or certificate is no longer trusted");
  }
}

bool UpgradeRelay::Pump() {
  if (stopped_) {
    return false;
  }
  ReadClient();
  ReadOrigin();
  WriteOrigin();
  WriteClient();
  if (!error_.empty()) {
    Finish(End::kError, error_);
    return false;
  }
  // One side closed: what it sent last is passed on, then both close (a
  // WebSocket close frame travels before the FIN that follows it).
  if (origin_eof_ && evbuffer_get_length(to_client_.get()) == 0) {
    Finish(End::kClosed, "origin closed");
    return false;
  }
  if (client_eof_ && evbuffer_get_length(to_origin_.get()) == 0) {
    Finish(End::kClosed, "client closed");
    return false;
  }
  UpdateEvents();
  return true;
}

void UpgradeRelay::ReadClient() {
  char buf[kChunk];
  while (!client_eof_ && error_.empty() &&
         evbuffer_get_length(to_origin_.get()) < options_.high_watermark) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      evbuffer_add(to_origin_.get(), buf, n);
      bytes_to_origin_ += n;
      Touch();
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) {
      return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      client_read_wants_write_ = true;
      return;
    }
    client_eof_ = true;  // close_notify, a bare FIN, or a TLS error
    return;
  }
}

void UpgradeRelay::ReadOrigin() {
  char buf[kChunk];
  while (!origin_eof_ && error_.empty() &&
         evbuffer_get_length(to_client_.get()) < options_.high_watermark) {
    ssize_t n = origin_->Read(buf, sizeof(buf));
    if (n > 0) {
      evbuffer_add(to_client_.get(), buf, static_cast<size_t>(n));
      bytes_to_client_ += static_cast<uint64_t>(n);
      Touch();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    origin_eof_ = true;  // a close or a reset: either way nothing more comes
    return;
  }
}

void UpgradeRelay::WriteOrigin() {
  while (error_.empty() && evbuffer_get_length(to_origin_.get()) > 0) {
    int n = origin_->Write(to_origin_.get());
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    error_ = absl::StrCat("origin write failed: ", origin_->last_error());
    return;
  }
}

void UpgradeRelay::WriteClient() {
  if (!error_.empty()) {
    return;
  }
  switch (SslWriteBuffer(ssl_, to_client_.get())) {
    case SslWriteResult::kDone:
      break;
    case SslWriteResult::kBlocked:
      client_write_blocked_ = true;
      return;
    case SslWriteResult::kFailed:
      error_ = "client write failed";
      return;
  }
  client_write_blocked_ = false;
}

void UpgradeRelay::UpdateEvents() {
  auto set = [](event* ev, bool want, bool* on) {
    if (want == *on) {
      return;
    }
    if (want) {
      event_add(ev, nullptr);
    } else {
      event_del(ev);
    }
    *on = want;
  };
  bool client_read =
      !client_eof_ && evbuffer_get_length(to_origin_.get()) < options_.high_watermark;
  bool origin_read =
      !origin_eof_ && evbuffer_get_length(to_client_.get()) < options_.high_watermark;
  set(client_read_ev_.get(), client_read, &client_read_on_);
  set(client_write_ev_.get(), client_write_blocked_ || client_read_wants_write_, &client_write_on_);
  set(origin_read_ev_.get(), origin_read, &origin_read_on_);
  set(origin_write_ev_.get(), evbuffer_get_length(to_origin_.get()) > 0, &origin_write_on_);
  // Bytes already decrypted inside either SSL, or read from the client's
  // socket into its BIO (SocketBio reads ahead), never make a socket
  // readable again.
  if (client_read && (SSL_pending(ssl_) > 0 || BIO_pending(SSL_get_rbio(ssl_)) > 0)) {
    event_active(client_read_ev_.get(), EV_READ, 1);
  }
  if (origin_read && origin_->Pending()) {
    event_active(origin_read_ev_.get(), EV_READ, 1);
  }
}

void UpgradeRelay::Touch() {
  timeval tv = absl::ToTimeval(options_.idle);
  evtimer_add(idle_ev_.get(), &tv);
}

void UpgradeRelay::Finish(End end, absl::string_view why) {
  if (stopped_) {
    return;
  }
  Stop();
  if (done_) {
    DoneCallback done = std::move(done_);
    done(end, why);  // may close the client connection; `this` stays alive
  }
}

}  // namespace certgate::edge
