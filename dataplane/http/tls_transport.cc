#include "dataplane/http/tls_transport.h"

#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/socket_bio.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
namespace {

constexpr size_t kReadChunk = 16384;

}  // namespace

TlsTransport::TlsTransport(event_base* base, UniqueFd fd, Handler* handler)
    : base_(base), fd_(std::move(fd)), handler_(handler) {}

TlsTransport::~TlsTransport() { Close(); }

bool TlsTransport::Start(bssl::UniquePtr<SSL> ssl) {
  int one = 1;
  setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  in_.reset(evbuffer_new());
  out_.reset(evbuffer_new());
  read_ev_ = SocketEvent(event_new(base_, fd_.get(), EV_READ | EV_PERSIST, &OnEvent, this));
  write_ev_ = SocketEvent(event_new(base_, fd_.get(), EV_WRITE | EV_PERSIST, &OnEvent, this));
  ssl_ = std::move(ssl);
  bssl::UniquePtr<BIO> bio = SocketBio::New(fd_.get());
  if (ssl_ == nullptr || bio == nullptr) {
    return false;
  }
  bio_ = bio.get();
  SocketBio::UseReadinessHints(bio_, true);
  SSL_set_bio(ssl_.get(), bio.get(), bio.get());  // one reference, taken by ssl_
  bio.release();
  // SSL_write retries may come from a buffer that moved (evbuffer pullup).
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  state_ = State::kHandshaking;
  Handshake();
  return true;
}

void TlsTransport::OnEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<TlsTransport*>(arg);
  if ((what & EV_READ) && self->bio_ != nullptr) {
    SocketBio::MarkReadable(self->bio_);
  }
  switch (self->state_) {
    case State::kLingering:
      self->Linger();
      return;
    case State::kHandshaking:
      self->Handshake();
      return;
    case State::kOpen:
      if (what & EV_WRITE) {
        self->write_blocked_ = false;
        self->read_wants_write_ = false;
      }
      self->handler_->OnReady();
      return;
    case State::kIdle:
    case State::kClosed:
      return;
  }
}

void TlsTransport::Handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    state_ = State::kOpen;
    handshake_wants_write_ = false;
    // BoringSSL holds TLS 1.3 NewSessionTicket messages until the first
    // write; a zero-byte write sends them now, so a client that reads before
    // it sends (or never sends) can still resume. A would-block here is
    // retried by the next write (moving write buffers are allowed).
    if (SSL_version(ssl_.get()) == TLS1_3_VERSION) {
      SSL_write(ssl_.get(), "", 0);
      ERR_clear_error();
    }
    handler_->OnHandshakeDone();
    return;
  }
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    handshake_wants_write_ = err == SSL_ERROR_WANT_WRITE;
    UpdateEvents(true);
    return;
  }
  std::string reason = TlsServer::FailureReason(ssl_.get());
  if (reason.empty()) {
    reason = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
                 ? "client closed the connection during the handshake"
                 : "handshake failed";
  }
  handler_->OnHandshakeFailed(reason);
}

TlsTransport::ReadResult TlsTransport::Read() {
  // Decrypted straight into in(): no copy through a buffer of our own.
  evbuffer_iovec vec;
  if (evbuffer_reserve_space(in_.get(), kReadChunk, &vec, 1) < 1) {
    return ReadResult::kEnd;  // out of memory: treated as a broken connection
  }
  ERR_clear_error();
  int n = SSL_read(ssl_.get(), vec.iov_base,
                   static_cast<int>(std::min<size_t>(vec.iov_len, kReadChunk)));
  if (n > 0) {
    vec.iov_len = static_cast<size_t>(n);
    evbuffer_commit_space(in_.get(), &vec, 1);
    return ReadResult::kData;
  }
  evbuffer_commit_space(in_.get(), &vec, 0);
  int err = SSL_get_error(ssl_.get(), n);
  if (err == SSL_ERROR_WANT_READ) {
    return ReadResult::kWouldBlock;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    read_wants_write_ = true;
    return ReadResult::kWouldBlock;
  }
  return ReadResult::kEnd;
}

bool TlsTransport::MaybeReadable() const {
  return bio_ != nullptr && (SocketBio::MaybeReadable(bio_) || SSL_pending(ssl_.get()) > 0);
}

SslWriteResult TlsTransport::Flush() {
  SslWriteResult result = SslWriteBuffer(ssl_.get(), out_.get());
  write_blocked_ = result == SslWriteResult::kBlocked;
  return result;
}

void TlsTransport::UpdateEvents(bool reading) {
  if (state_ == State::kClosed || state_ == State::kIdle) {
    return;
  }
  if (state_ == State::kLingering) {
    read_ev_.Set(true);
    write_ev_.Set(false);
    return;
  }
  // Registered while reading is wanted; when it is not, deleted only if the
  // socket has something to read (level-triggered, it would fire again and
  // again), so the pause between a request and its response costs no
  // epoll_ctl.
  if (reading) {
    read_ev_.Set(true);
  } else if (SocketBio::MaybeReadable(bio_)) {
    read_ev_.Set(false);
  }
  write_ev_.Set(handshake_wants_write_ || write_blocked_ || read_wants_write_);
  // Records already read or decrypted never make the socket readable again.
  if (state_ == State::kOpen && reading && (SSL_pending(ssl_.get()) > 0 || BIO_pending(bio_) > 0)) {
    event_active(read_ev_.get(), EV_READ, 1);
  }
}

void TlsTransport::SendCloseNotify() {
  if (ssl_ == nullptr) {
    return;
  }
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // best effort
}

void TlsTransport::StartLinger() {
  shutdown(fd_.get(), SHUT_WR);
  state_ = State::kLingering;
  UpdateEvents(false);
}

void TlsTransport::Linger() {
  char buf[kReadChunk];
  while (true) {
    ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return;
    }
    handler_->OnLingerDone();
    return;
  }
}

void TlsTransport::StopEvents() {
  read_ev_.Reset();
  write_ev_.Reset();
  if (bio_ != nullptr) {
    SocketBio::UseReadinessHints(bio_, false);
  }
}

void TlsTransport::Close() {
  state_ = State::kClosed;
  read_ev_.Reset();
  write_ev_.Reset();
  in_.reset();
  out_.reset();
  bio_ = nullptr;
  ssl_.reset();
  fd_.reset();
}

absl::string_view TlsTransport::sni() const {
  const char* name =
      ssl_ != nullptr ? SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name) : nullptr;
  return name != nullptr ? absl::string_view(name) : absl::string_view();
}

absl::string_view TlsTransport::alpn() const {
  if (ssl_ == nullptr) {
    return {};
  }
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

}  // namespace certgate::edge
