#include "controlplane/webhook/webhook_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "dataplane/tls/origin_tls_context.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace certgate::controlplane {

namespace {

constexpr size_t kMaxStatusLine = 8192;

// Transport: a connected socket, TLS or not, closed on destruction.
class Transport {
 public:
  Transport(int fd, bssl::UniquePtr<SSL> ssl) : fd_(fd), ssl_(std::move(ssl)) {}
  ~Transport() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_.get());
    }
    close(fd_);
  }
  bool WriteAll(absl::string_view data) {
    while (!data.empty()) {
      int n = ssl_ != nullptr ? SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()))
                              : static_cast<int>(send(fd_, data.data(), data.size(), MSG_NOSIGNAL));
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Read: at most `size` bytes, waiting no later than `deadline`.
  int Read(char* buf, size_t size, absl::Time deadline) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return -1;
    }
    timeval tv = absl::ToTimeval(std::max(left, absl::Milliseconds(1)));
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return ssl_ != nullptr ? SSL_read(ssl_.get(), buf, static_cast<int>(size))
                           : static_cast<int>(recv(fd_, buf, size, 0));
  }

 private:
  int fd_;
  bssl::UniquePtr<SSL> ssl_;
};

absl::Status Unavailable(const WebhookUrl& url, absl::string_view why) {
  return absl::UnavailableError(absl::StrCat("webhook ", url.Origin(), ": ", why));
}

// ConnectWithTimeout: a blocking socket connected to `addr` within `timeout`.
int ConnectWithTimeout(const addrinfo* ai, absl::Duration timeout) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  pollfd pfd{fd, POLLOUT, 0};
  int error = 0;
  socklen_t len = sizeof(error);
  if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    close(fd);
    return -1;
  }
  // Back to blocking, with a timeout on each send and recv.
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int nonblock = 0;
  if (ioctl(fd, FIONBIO, &nonblock) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookClient>> WebhookClient::Create(WebhookClientOptions options) {
  std::unique_ptr<WebhookClient> client(new WebhookClient(std::move(options)));
  client->tls_.reset(SSL_CTX_new(TLS_method()));
  if (client->tls_ == nullptr) {
    return absl::InternalError("SSL_CTX_new failed");
  }
  SSL_CTX_set_min_proto_version(client->tls_.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(client->tls_.get(), SSL_VERIFY_PEER, nullptr);
  const std::string& ca_file = client->options_.ca_file.empty()
                                   ? std::string(edge::OriginTlsContext::kSystemTrustStore)
                                   : client->options_.ca_file;
  if (SSL_CTX_load_verify_locations(client->tls_.get(), ca_file.c_str(), nullptr) != 1) {
    if (!client->options_.ca_file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--webhook-ca ", ca_file, ": cannot read PEM certificates from it"));
    }
    // No system store: https webhooks will fail verification, said at send.
  }
  return client;
}

absl::StatusOr<int> WebhookClient::Connect(const WebhookUrl& url) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* result = nullptr;
  std::string port = absl::StrCat(url.port);
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return Unavailable(url, absl::StrCat("cannot resolve: ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(result, &freeaddrinfo);
  absl::Status refused = absl::OkStatus();
  for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    std::optional<IpAddress> address = IpAddress::FromSockaddr(ai->ai_addr);
    if (!address.has_value()) {
      continue;
    }
    absl::Status allowed = options_.policy.Check(*address);
    if (!allowed.ok()) {
      refused = absl::PermissionDeniedError(
          absl::StrCat("webhook ", url.Origin(), " refused: ", allowed.message()));
      continue;
    }
    int fd = ConnectWithTimeout(ai, options_.timeout);
    if (fd >= 0) {
      return fd;
    }
  }
  if (!refused.ok()) {
    return refused;
  }
  return Unavailable(url, "cannot connect");
}

absl::StatusOr<int> WebhookClient::Post(const WebhookUrl& url, const std::string& json_body) {
  absl::StatusOr<int> fd = Connect(url);
  if (!fd.ok()) {
    return fd.status();
  }
  bssl::UniquePtr<SSL> ssl;
  if (url.https) {
    ssl.reset(SSL_new(tls_.get()));
    if (ssl == nullptr) {
      close(*fd);
      return absl::InternalError("SSL_new failed");
    }
    SSL_set_fd(ssl.get(), *fd);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    // An address literal is checked against the certificate's IP SANs and
    // is not sent as SNI (RFC 6066 allows only names there).
    if (X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, url.host.data(), url.host.size());
      SSL_set_tlsext_host_name(ssl.get(), url.host.c_str());
    }
    if (SSL_connect(ssl.get()) != 1) {
      long verify = SSL_get_verify_result(ssl.get());
      close(*fd);
      return Unavailable(url, verify != X509_V_OK
                                  ? absl::StrCat("certificate not trusted: ",
                                                 X509_verify_cert_error_string(verify))
                                  : std::string("TLS handshake failed"));
    }
  }
  Transport transport(*fd, std::move(ssl));
  std::string request = absl::StrCat(
      "POST ", url.target, " HTTP/1.1\r\nHost: ", url.HostHeader(),
      "\r\nUser-Agent: certgate-control\r\nContent-Type: application/json\r\nContent-Length: ",
      json_body.size(), "\r\nConnection: close\r\n\r\n", json_body);
  if (!transport.WriteAll(request)) {
    return Unavailable(url, "connection closed while sending");
  }
  // Only the status line matters: the body of the answer is ignored. The
  // whole status line must come within one timeout, so a receiver that
  // trickles a byte at a time cannot hold the notifier.
  absl::Time deadline = absl::Now() + options_.timeout;
  std::string head;
  char buf[1024];
  while (head.find("\r\n") == std::string::npos && head.size() < kMaxStatusLine) {
    int n = transport.Read(buf, sizeof(buf), deadline);
    if (n <= 0) {
      return Unavailable(url, absl::Now() >= deadline ? "no HTTP response within the timeout"
                                                      : "no HTTP response");
    }
    head.append(buf, static_cast<size_t>(n));
  }
  absl::string_view line(head);
  line = line.substr(0, line.find("\r\n"));
  int code = 0;
  if (!absl::StartsWith(line, "HTTP/1.") || line.size() < 12 || line[8] != ' ' ||
      !absl::SimpleAtoi(line.substr(9, 3), &code) || code < 100 || code > 599) {
    return Unavailable(url, "not an HTTP/1.x response");
  }
  return code;
}

}  // namespace certgate::controlplane
