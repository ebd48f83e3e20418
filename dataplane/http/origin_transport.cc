#include "dataplane/http/origin_transport.h"

#include <event2/buffer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "dataplane/tls/origin_tls_context.h"
#include "dataplane/tls/ssl_error.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {
OriginTransport::OriginTransport(Private, UniqueFd fd, bssl::UniquePtr<SSL> ssl,
                                 std::shared_ptr<const OriginTlsContext> tls)
    : fd_(std::move(fd)), tls_context_(std::move(tls)), ssl_(std::move(ssl)) {}

std::unique_ptr<OriginTransport> OriginTransport::Plain(UniqueFd fd) {
  return std::make_unique<OriginTransport>(Private(), std::move(fd), nullptr, nullptr);
}

std::unique_ptr<OriginTransport> OriginTransport::Tls(UniqueFd fd,
                                                      std::shared_ptr<const OriginTlsContext> tls,
                                                      bool offer_h2) {
  bssl::UniquePtr<SSL> ssl = tls->NewSsl(offer_h2);
  if (ssl == nullptr || !SSL_set_fd(ssl.get(), fd.get())) {
    ERR_clear_error();
    return nullptr;  // `fd` closes here
  }
  return std::make_unique<OriginTransport>(Private(), std::move(fd), std::move(ssl),
                                           std::move(tls));
}

OriginTransport::~OriginTransport() {
  Unwatch();
  if (ssl_ != nullptr && handshake_done_) {
    SSL_shutdown(ssl_.get());  // best effort close_notify; never waits
    ERR_clear_error();
  }
  ssl_.reset();
  // fd_ closes last, after the SSL and the events.
}

std::string OriginTransport::alpn() const {
  if (ssl_ == nullptr) {
    return "";
  }
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

OriginTransport::Step OriginTransport::Handshake(std::string* error) {
  if (!handshaking()) {
    return Step::kDone;
  }
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  wants_read_ = wants_write_ = false;
  if (rc == 1) {
    handshake_done_ = true;
    return Step::kDone;
  }
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) {
    wants_read_ = true;
    return Step::kWait;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    wants_write_ = true;
    return Step::kWait;
  }
  *error = OriginTlsContext::FailureReason(ssl_.get(), err);
  return Step::kFailed;
}

int OriginTransport::Write(evbuffer* buf) {
  if (ssl_ == nullptr) {
    return evbuffer_write(buf, fd_.get());
  }
  size_t before = evbuffer_get_length(buf);
  int err = 0;
  SslWriteResult result = SslWriteBuffer(ssl_.get(), buf, &err);
  size_t sent = before - evbuffer_get_length(buf);
  if (sent > 0) {
    return static_cast<int>(sent);  // a failure shows on the next call
  }
  if (result != SslWriteResult::kFailed) {
    errno = EAGAIN;
    return -1;
  }
  tls_error_ = PopSslErrorReason("");
  if (err != SSL_ERROR_SYSCALL || errno == 0) {
    errno = EPIPE;
  }
  return -1;
}

SslWriteResult OriginTransport::Send(evbuffer* buf) {
  while (evbuffer_get_length(buf) > 0) {
    if (Write(buf) > 0) {
      continue;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? SslWriteResult::kBlocked
                                                                     : SslWriteResult::kFailed;
  }
  return SslWriteResult::kDone;
}

ssize_t OriginTransport::Read(char* buf, size_t len) {
  if (ssl_ == nullptr) {
    return recv(fd_.get(), buf, len, 0);
  }
  ERR_clear_error();
  int n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<size_t>(len, 1 << 30)));
  if (n > 0) {
    return n;
  }
  int err = SSL_get_error(ssl_.get(), n);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify
    case SSL_ERROR_SYSCALL:
      if (n == 0 || errno == 0) {
        return 0;  // closed without close_notify, as many servers do
      }
      return -1;
    default:
      // An alert (e.g. the origin refused the edge's client certificate,
      // which TLS 1.3 reports after the handshake) or a bad record.
      tls_error_ = PopSslErrorReason("");
      errno = EPROTO;
      return -1;
  }
}

std::string OriginTransport::last_error() const {
  if (errno == EPROTO && !tls_error_.empty()) {
    return absl::StrCat("origin TLS error: ", tls_error_);
  }
  return std::strerror(errno);
}

void OriginTransport::Watch(event_base* base, EventHandler handler, void* owner) {
  handler_ = handler;
  owner_ = owner;
  if (read_ev_.get() == nullptr && base != nullptr) {
    read_ev_ = SocketEvent(event_new(base, fd_.get(), EV_READ | EV_PERSIST, &OnEvent, this));
    write_ev_ = SocketEvent(event_new(base, fd_.get(), EV_WRITE | EV_PERSIST, &OnEvent, this));
  }
}

void OriginTransport::Unwatch() {
  read_ev_.Reset();
  write_ev_.Reset();
  handler_ = nullptr;
  owner_ = nullptr;
}

void OriginTransport::ActivateRead() {
  if (read_ev_.get() != nullptr) {
    event_active(read_ev_.get(), EV_READ, 1);
  }
}

void OriginTransport::OnEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<OriginTransport*>(arg);
  if (self->handler_ != nullptr) {
    self->handler_(self->owner_, self, what);
  }
}

bool OriginTransport::Pending() const { return ssl_ != nullptr && SSL_pending(ssl_.get()) > 0; }

bool OriginTransport::LooksOpen() {
  if (ssl_ == nullptr) {
    char byte;
    ssize_t n = recv(fd_.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  if (SSL_pending(ssl_.get()) > 0) {
    return false;
  }
  char byte;
  ERR_clear_error();
  int n = SSL_peek(ssl_.get(), &byte, 1);
  if (n > 0) {
    return false;
  }
  int err = SSL_get_error(ssl_.get(), n);
  ERR_clear_error();
  return err == SSL_ERROR_WANT_READ;
}

}  // namespace certgate::edge
