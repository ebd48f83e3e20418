// certgate-relay-floor: the least work a TLS-terminating proxy can do per
// request, as a yardstick for the keep-alive rows of tests/bench/run.sh.
//
// It terminates TLS (BoringSSL, the edge's own build, TLS 1.3) and relays
// the decrypted bytes to one origin connection per client connection and
// the origin's bytes back, both ways as they come: no HTTP parsing, no
// header rewriting, no access log, no pool, no timers. One thread, one
// epoll set (level-triggered), non-blocking sockets. Whatever a real proxy
// adds (certgate-edge or nginx) comes on top of what this one costs, so its
// CPU per request against nginx's says how far below nginx any proxy can
// go on this machine.
//
//   certgate-relay-floor --listen 127.0.0.1:PORT --cert C --key K --origin 127.0.0.1:PORT
//
// Loopback only. Runs until killed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "CLI/CLI.hpp"
#include "common/unique_fd.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace {

using certgate::UniqueFd;

constexpr size_t kChunk = 16384;

bool ParseLoopback(const std::string& text, sockaddr_in* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return false;
  }
  std::memset(out, 0, sizeof(*out));
  out->sin_family = AF_INET;
  int port = atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535 ||
      inet_pton(AF_INET, text.substr(0, colon).c_str(), &out->sin_addr) != 1 ||
      (ntohl(out->sin_addr.s_addr) >> 24) != 127) {
    return false;
  }
  out->sin_port = htons(static_cast<uint16_t>(port));
  return true;
}

// One client connection and its origin connection. Bytes that a side could
// not take yet wait in `to_origin` / `to_client`; while they wait, that
// side's reads stop (so nothing piles up).
struct Relay {
  UniqueFd client;
  UniqueFd origin;
  bssl::UniquePtr<SSL> ssl;
  bool handshaken = false;
  std::string to_origin;
  std::string to_client;
};

class RelayFloor {
 public:
  RelayFloor(SSL_CTX* ctx, sockaddr_in origin) : ctx_(ctx), origin_(origin) {}

  int Run(const sockaddr_in& listen_addr) {
    listener_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listener_.get(), reinterpret_cast<const sockaddr*>(&listen_addr),
             sizeof(listen_addr)) != 0 ||
        listen(listener_.get(), 4096) != 0) {
      fprintf(stderr, "certgate-relay-floor: cannot listen: %s\n", strerror(errno));
      return 1;
    }
    epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    Watch(listener_.get(), EPOLL_CTL_ADD, EPOLLIN);
    epoll_event events[256];
    while (true) {
      int n = epoll_wait(epoll_.get(), events, 256, -1);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == listener_.get()) {
          Accept();
          continue;
        }
        auto it = by_fd_.find(fd);
        if (it != by_fd_.end()) {
          // A copy: Close erases the map's entries while Drive still runs.
          std::shared_ptr<Relay> relay = it->second;
          Drive(relay);
        }
      }
    }
  }

 private:
  void Watch(int fd, int op, uint32_t what) {
    epoll_event ev{};
    ev.events = what;
    ev.data.fd = fd;
    epoll_ctl(epoll_.get(), op, fd, &ev);
  }

  void Accept() {
    while (true) {
      UniqueFd client(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (client.get() < 0) {
        return;
      }
      // The origin connection is made at accept, blocking: connection set-up
      // is not what this measures.
      UniqueFd origin(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (connect(origin.get(), reinterpret_cast<const sockaddr*>(&origin_), sizeof(origin_)) !=
          0) {
        fprintf(stderr, "certgate-relay-floor: origin connect failed: %s\n", strerror(errno));
        continue;
      }
      int one = 1;
      setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      setsockopt(origin.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (fcntl(origin.get(), F_SETFL, fcntl(origin.get(), F_GETFL) | O_NONBLOCK) != 0) {
        continue;
      }
      auto relay = std::make_shared<Relay>();
      relay->ssl.reset(SSL_new(ctx_));
      SSL_set_fd(relay->ssl.get(), client.get());
      SSL_set_accept_state(relay->ssl.get());
      relay->client = std::move(client);
      relay->origin = std::move(origin);
      by_fd_[relay->client.get()] = relay;
      by_fd_[relay->origin.get()] = relay;
      Watch(relay->client.get(), EPOLL_CTL_ADD, EPOLLIN);
      Watch(relay->origin.get(), EPOLL_CTL_ADD, EPOLLIN);
      watching_[relay->client.get()] = EPOLLIN;
      watching_[relay->origin.get()] = EPOLLIN;
    }
  }

  // Drive does all the relay can do now, then sets what each socket waits for.
  void Drive(const std::shared_ptr<Relay>& relay) {
    Relay& r = *relay;
    if (!r.handshaken) {
      ERR_clear_error();
      int rc = SSL_do_handshake(r.ssl.get());
      if (rc != 1) {
        int err = SSL_get_error(r.ssl.get(), rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          Close(relay);
        }
        return;
      }
      r.handshaken = true;
    }
    char buf[kChunk];
    // Client → origin.
    while (r.to_origin.empty()) {
      ERR_clear_error();
      int n = SSL_read(r.ssl.get(), buf, sizeof(buf));
      if (n <= 0) {
        int err = SSL_get_error(r.ssl.get(), n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          Close(relay);
          return;
        }
        break;
      }
      ssize_t sent = send(r.origin.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN) {
        Close(relay);
        return;
      }
      size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
      r.to_origin.assign(buf + done, static_cast<size_t>(n) - done);
    }
    if (!r.to_origin.empty()) {
      ssize_t sent = send(r.origin.get(), r.to_origin.data(), r.to_origin.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN) {
        Close(relay);
        return;
      }
      r.to_origin.erase(0, sent > 0 ? static_cast<size_t>(sent) : 0);
    }
    // Origin → client.
    if (!r.to_client.empty()) {
      ERR_clear_error();
      int n = SSL_write(r.ssl.get(), r.to_client.data(), static_cast<int>(r.to_client.size()));
      if (n > 0) {
        r.to_client.erase(0, static_cast<size_t>(n));
      } else if (SSL_get_error(r.ssl.get(), n) != SSL_ERROR_WANT_WRITE) {
        Close(relay);
        return;
      }
    }
    while (r.to_client.empty()) {
      ssize_t n = recv(r.origin.get(), buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        Close(relay);
        return;
      }
      if (n < 0) {
        break;
      }
      ERR_clear_error();
      int w = SSL_write(r.ssl.get(), buf, static_cast<int>(n));
      if (w <= 0) {
        if (SSL_get_error(r.ssl.get(), w) != SSL_ERROR_WANT_WRITE) {
          Close(relay);
          return;
        }
        r.to_client.assign(buf, static_cast<size_t>(n));
      }
      if (static_cast<size_t>(n) < sizeof(buf)) {
        break;  // the socket is empty now
      }
    }
    // Read a side only while the other side takes what it gives.
    SetWatch(r.client.get(), (r.to_origin.empty() ? EPOLLIN : 0u) |
                                 (r.to_client.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT)));
    SetWatch(r.origin.get(), (r.to_client.empty() ? EPOLLIN : 0u) |
                                 (r.to_origin.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT)));
  }

  void SetWatch(int fd, uint32_t what) {
    uint32_t& now = watching_[fd];
    if (now != what) {
      Watch(fd, EPOLL_CTL_MOD, what);
      now = what;
    }
  }

  void Close(std::shared_ptr<Relay> relay) {
    by_fd_.erase(relay->client.get());
    by_fd_.erase(relay->origin.get());
    watching_.erase(relay->client.get());
    watching_.erase(relay->origin.get());
    // Closing the sockets takes them out of the epoll set.
  }

  SSL_CTX* ctx_;
  sockaddr_in origin_;
  UniqueFd listener_;
  UniqueFd epoll_;
  std::unordered_map<int, std::shared_ptr<Relay>> by_fd_;
  std::unordered_map<int, uint32_t> watching_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"certgate-relay-floor: TLS termination and a byte relay, the floor of a proxy"};
  std::string listen_text, cert, key, origin_text;
  app.add_option("--listen", listen_text, "127.0.0.1:PORT to serve on")->required();
  app.add_option("--cert", cert, "Server certificate chain (PEM)")->required();
  app.add_option("--key", key, "Server private key (PEM)")->required();
  app.add_option("--origin", origin_text, "127.0.0.1:PORT of the origin")->required();
  CLI11_PARSE(app, argc, argv);
  sockaddr_in listen_addr{};
  sockaddr_in origin_addr{};
  if (!ParseLoopback(listen_text, &listen_addr)) {
    fprintf(stderr, "certgate-relay-floor: --listen: want 127.x.x.x:PORT, got \"%s\"\n",
            listen_text.c_str());
    return 2;
  }
  if (!ParseLoopback(origin_text, &origin_addr)) {
    fprintf(stderr, "certgate-relay-floor: --origin: want 127.x.x.x:PORT, got \"%s\"\n",
            origin_text.c_str());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  // A write that waited is retried from `to_client`, not the buffer it
  // was first given.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    fprintf(stderr, "certgate-relay-floor: cannot load --cert %s / --key %s\n", cert.c_str(),
            key.c_str());
    return 2;
  }
  // Like the servers it is compared with, it asks for the client's
  // certificate; the keep-alive rows do not measure its check.
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER,
                            [](SSL*, uint8_t*) { return ssl_verify_ok; });
  RelayFloor relay(ctx.get(), origin_addr);
  return relay.Run(listen_addr);
}
