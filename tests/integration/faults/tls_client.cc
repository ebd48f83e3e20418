#include "tests/integration/faults/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::faults {
namespace {

SSL_CTX* ClientContext() {
  static SSL_CTX* const kCtx = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }();
  return kCtx;
}

void SetTimeout(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// ResponseLength: the size of the complete response at the start of `data`,
// or 0 when it is not complete yet.
size_t ResponseLength(const std::string& data) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) {
    return 0;
  }
  size_t body_length = 0;
  for (absl::string_view line : absl::StrSplit(data.substr(0, end), "\r\n")) {
    if (absl::StartsWithIgnoreCase(line, "content-length:")) {
      absl::string_view value = absl::StripAsciiWhitespace(line.substr(15));
      if (!absl::SimpleAtoi(value, &body_length)) {
        return 0;
      }
    }
  }
  size_t total = end + 4 + body_length;
  return data.size() >= total ? total : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsClient>> TlsClient::Connect(int port, const std::string& sni,
                                                              absl::Duration io_timeout, X509* cert,
                                                              EVP_PKEY* key) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  SetTimeout(fd, io_timeout);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(error)));
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(ClientContext()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (cert != nullptr && key != nullptr &&
      (!SSL_use_certificate(ssl.get(), cert) || !SSL_use_PrivateKey(ssl.get(), key))) {
    close(fd);
    return absl::InternalError("cannot set the client certificate");
  }
  if (SSL_connect(ssl.get()) != 1) {
    uint32_t error = ERR_get_error();
    ERR_clear_error();
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("TLS handshake with ", sni, " failed: ", ERR_reason_error_string(error)));
  }
  return std::unique_ptr<TlsClient>(new TlsClient(fd, std::move(ssl), io_timeout));
}

TlsClient::~TlsClient() {
  ssl_.reset();
  close(fd_);
}

bool TlsClient::Write(const std::string& data) {
  size_t offset = 0;
  while (offset < data.size()) {
    int n = SSL_write(ssl_.get(), data.data() + offset, static_cast<int>(data.size() - offset));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    offset += static_cast<size_t>(n);
  }
  return true;
}

int TlsClient::ReadSome(char* buf, int len) {
  int n = SSL_read(ssl_.get(), buf, len);
  if (n > 0) {
    return n;
  }
  int error = SSL_get_error(ssl_.get(), n);
  ERR_clear_error();
  if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return -1;
  }
  return 0;
}

absl::StatusOr<std::string> TlsClient::ReadResponse() {
  std::string data = std::move(pending_);
  pending_.clear();
  char buf[16384];
  while (true) {
    size_t length = ResponseLength(data);
    if (length > 0) {
      pending_ = data.substr(length);
      data.resize(length);
      return data;
    }
    int n = ReadSome(buf, sizeof(buf));
    if (n < 0) {
      return absl::DeadlineExceededError(absl::StrCat("no complete response; got: ", data));
    }
    if (n == 0) {
      return data;  // closed early (or before anything)
    }
    data.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> TlsClient::ReadUntilClosed(absl::Duration timeout) {
  SetTimeout(fd_, timeout);
  std::string data = std::move(pending_);
  pending_.clear();
  absl::Time deadline = absl::Now() + timeout;
  char buf[16384];
  while (absl::Now() < deadline) {
    int n = ReadSome(buf, sizeof(buf));
    if (n == 0) {
      return data;
    }
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("still open; got: ", data));
}

bool TlsClient::ClosedWithin(absl::Duration timeout) { return ReadUntilClosed(timeout).ok(); }

bool TlsClient::ReadableWithin(absl::Duration timeout) {
  if (SSL_pending(ssl_.get()) > 0 || !pending_.empty()) {
    return true;
  }
  // Records that carry no application data (a TLS 1.3 NewSessionTicket
  // after the handshake) make the socket readable too: peek past them.
  absl::Time deadline = absl::Now() + timeout;
  bool readable = false;
  while (!readable) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      break;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) {
      break;
    }
    SetTimeout(fd_, absl::Milliseconds(1));
    char c;
    int n = SSL_peek(ssl_.get(), &c, 1);
    int error = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), n);
    ERR_clear_error();
    readable =
        n > 0 || !(error == SSL_ERROR_WANT_READ ||
                   (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)));
  }
  SetTimeout(fd_, io_timeout_);
  return readable;
}

int StatusCode(const std::string& response) {
  if (!absl::StartsWith(response, "HTTP/1.")) {
    return 0;
  }
  int code = 0;
  if (response.size() < 12 || !absl::SimpleAtoi(response.substr(9, 3), &code)) {
    return 0;
  }
  return code;
}

}  // namespace certgate::faults
