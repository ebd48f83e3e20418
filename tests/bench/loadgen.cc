// certgate-loadgen: a TLS 1.3 load generator for loopback benchmarks.
//
// Each thread runs one epoll loop over its share of --connections
// non-blocking connections. A connection makes a full (or, with --resume,
// resumed) handshake with a client certificate, then either sends --requests
// keep-alive HTTP/1.1 GETs or, with --requests 0, half-closes and reads until
// the server closes: that read is what tells a completed handshake from one
// the server refused after the client's Finished (a TLS 1.3 server that
// rejects a client certificate does so with an alert the client only sees on
// its next read). When a connection ends its slot opens the next one, until
// --duration or --count is reached.
//
// Client certificates: one fixed certificate (--cert/--key [--chain]), a pool
// of distinct certificates issued at start-up from --pool-ca-cert/--pool-ca-key
// (so that a server's verification cache never sees the same chain twice), or
// one of the flood modes of --bad-cert-mode. Pools are generated before the
// clock starts, so the client's own key generation is never measured.
//
// Two helper modes measure the cost of a bare TCP connection: --serve-tcp
// runs an accept loop that reads until EOF and closes, and --plain makes the
// client connect, half-close and wait for EOF without TLS.
//
// Loopback only: targets outside 127.0.0.0/8 are refused.

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "openssl/err.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace certgate::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string target;
  std::string sni;
  std::string host_header;
  std::string path = "/";
  std::string cacert;
  std::string cert;
  std::string key;
  std::string chain;
  bool no_cert = false;
  bool resume = false;
  int requests = 0;
  int threads = 1;
  int connections = 1;
  double duration_s = 0;
  int64_t count = 0;
  int timeout_ms = 10000;
  std::string bad_cert_mode;  // repeat | fresh-self-signed | other-ca | none
  bool tamper_signature = false;
  std::string pool_ca_cert;
  std::string pool_ca_key;
  int pool = 0;
  std::string pool_key_type = "ec-p256";
  std::string label;
  std::string json_out;
  bool plain = false;
  std::string serve_tcp;
  double hold_s = 0;
  std::string ready_file;
};

// Identity is one client certificate with its key and extra chain.
struct Identity {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
  std::vector<bssl::UniquePtr<X509>> chain;
};

// Loopback-only address parsing: "127.x.y.z:port" or "localhost:port".
absl::StatusOr<sockaddr_in> ParseLoopbackTarget(const std::string& target) {
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("target \"", target, "\" is not HOST:PORT"));
  }
  std::string host = target.substr(0, colon);
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in \"", target, "\""));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", host, "\" is not an IPv4 address"));
  }
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing non-loopback target ", host, ": loopback (127.0.0.0/8) only"));
  }
  return addr;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
  }
  fclose(f);
  return out;
}

absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> LoadCerts(const std::string& path) {
  auto data = ReadWholeFile(path);
  if (!data.ok()) {
    return data.status();
  }
  return ParseCertificates(*data);
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> LoadKey(const std::string& path) {
  auto data = ReadWholeFile(path);
  if (!data.ok()) {
    return data.status();
  }
  return ParsePrivateKey(*data);
}

// TamperSignature flips the last byte of the certificate's DER, which lies in
// its signature value: the certificate still parses, names and keys are
// unchanged, but the issuer's signature no longer verifies, so only a full
// chain check (or a cached verdict) can refuse it.
absl::StatusOr<bssl::UniquePtr<X509>> TamperSignature(X509* cert) {
  std::string der = CertificateToDer(cert);
  if (der.empty()) {
    return absl::InternalError("cannot encode certificate");
  }
  der.back() ^= 0x01;
  return CertificateFromDer(der);
}

// Pool generation: `count` certificates over a smaller set of keys (RSA key
// generation is slow; distinct certificates are what defeats a cache).
absl::StatusOr<std::vector<Identity>> MakePool(int count, KeyType key_type, const X509* issuer,
                                               EVP_PKEY* issuer_key, const std::string& prefix) {
  int key_count = key_type == KeyType::kRsa2048 || key_type == KeyType::kRsa3072 ? 4 : 64;
  key_count = std::min(key_count, count);
  std::vector<bssl::UniquePtr<EVP_PKEY>> keys;
  for (int i = 0; i < key_count; ++i) {
    auto key = GenerateKey(key_type);
    if (!key.ok()) {
      return key.status();
    }
    keys.push_back(std::move(*key));
  }
  std::vector<Identity> pool;
  pool.reserve(count);
  for (int i = 0; i < count; ++i) {
    CertificateSpec spec;
    spec.common_name = absl::StrCat(prefix, "-", i);
    spec.client_auth = true;
    spec.days = 30;
    EVP_PKEY* key = keys[i % key_count].get();
    auto cert = IssueCertificate(spec, key, issuer, issuer == nullptr ? key : issuer_key);
    if (!cert.ok()) {
      return cert.status();
    }
    Identity id;
    id.cert = std::move(*cert);
    EVP_PKEY_up_ref(key);
    id.key.reset(key);
    pool.push_back(std::move(id));
  }
  return pool;
}

// Percentile over sorted samples (microseconds).
double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size()))) - 1;
  idx = std::min(idx, sorted.size() - 1);
  return sorted[idx];
}

// Results of one thread; merged at the end.
struct Results {
  int64_t ok_connections = 0;
  int64_t failed_connections = 0;
  int64_t handshakes = 0;
  int64_t resumed = 0;
  int64_t requests = 0;
  int64_t held = 0;
  std::map<std::string, int64_t> errors;
  std::map<int, int64_t> statuses;
  std::vector<uint32_t> handshake_us;   // connect start -> handshake done
  std::vector<uint32_t> connection_us;  // connect start -> connection finished
  std::vector<uint32_t> request_us;     // request written -> response complete

  void Merge(Results& other) {
    ok_connections += other.ok_connections;
    failed_connections += other.failed_connections;
    handshakes += other.handshakes;
    resumed += other.resumed;
    requests += other.requests;
    held += other.held;
    for (auto& [k, v] : other.errors) {
      errors[k] += v;
    }
    for (auto& [k, v] : other.statuses) {
      statuses[k] += v;
    }
    handshake_us.insert(handshake_us.end(), other.handshake_us.begin(), other.handshake_us.end());
    connection_us.insert(connection_us.end(), other.connection_us.begin(),
                         other.connection_us.end());
    request_us.insert(request_us.end(), other.request_us.begin(), other.request_us.end());
  }
};

// Shared, read-only after start-up.
struct Shared {
  Options options;
  sockaddr_in addr{};
  SSL_CTX* ctx = nullptr;
  std::vector<Identity> pool;  // empty: fixed identity in the SSL_CTX (or none)
  std::atomic<uint64_t> next_identity{0};
  std::atomic<int64_t> started{0};
  std::atomic<int64_t> held_total{0};
  std::atomic<bool> stop{false};
  Clock::time_point deadline = Clock::time_point::max();
  std::string request;
};

uint32_t MicrosSince(Clock::time_point t0) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  return static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX));
}

enum class State { kIdle, kConnecting, kHandshaking, kWriting, kReading, kDraining, kHeld };

struct Conn;
int g_conn_ex_index = -1;

// Conn is one connection slot of a worker.
struct Conn {
  int fd = -1;
  bssl::UniquePtr<SSL> ssl;
  bssl::UniquePtr<SSL_SESSION> session;  // latest ticket, for --resume
  State state = State::kIdle;
  Clock::time_point start;
  Clock::time_point request_start;
  int requests_done = 0;
  bool all_2xx = true;
  size_t write_offset = 0;
  http_parser parser;
  bool response_complete = false;
  bool keep_alive = true;
  int last_status = 0;
};

int OnMessageComplete(http_parser* parser) {
  Conn* conn = static_cast<Conn*>(parser->data);
  conn->response_complete = true;
  conn->last_status = static_cast<int>(parser->status_code);
  conn->keep_alive = http_should_keep_alive(parser) != 0;
  // Stop parsing here: the next response belongs to the next request.
  http_parser_pause(parser, 1);
  return 0;
}

http_parser_settings MakeParserSettings() {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_complete = OnMessageComplete;
  return settings;
}

// NewSessionCallback keeps the newest ticket on the connection's slot.
int NewSessionCallback(SSL* ssl, SSL_SESSION* session) {
  Conn* conn = static_cast<Conn*>(SSL_get_ex_data(ssl, g_conn_ex_index));
  if (conn == nullptr) {
    return 0;
  }
  conn->session.reset(session);
  return 1;  // we took the reference
}

// ErrorKind names why a TLS call failed: the alert the peer sent, or the
// library's reason.
std::string ErrorKind(SSL* ssl, int ret, const char* phase) {
  int err = SSL_get_error(ssl, ret);
  if (err == SSL_ERROR_ZERO_RETURN) {
    return absl::StrCat(phase, ":close_notify");
  }
  uint32_t packed = ERR_peek_last_error();
  std::string kind;
  if (packed != 0) {
    int reason = ERR_GET_REASON(packed);
    if (reason >= SSL_AD_REASON_OFFSET && ERR_GET_LIB(packed) == ERR_LIB_SSL) {
      kind =
          absl::StrCat(phase, ":alert_", SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
    } else {
      const char* r = ERR_reason_error_string(packed);
      kind = absl::StrCat(phase, ":", r != nullptr ? r : "tls_error");
    }
  } else if (err == SSL_ERROR_SYSCALL) {
    kind = absl::StrCat(phase, ret == 0 ? ":eof" : ":syscall");
  } else {
    kind = absl::StrCat(phase, ":ssl_error_", err);
  }
  ERR_clear_error();
  for (char& c : kind) {
    if (c == ' ') {
      c = '_';
    }
  }
  return kind;
}

// Worker runs one epoll loop over its connection slots.
class Worker {
 public:
  Worker(Shared* shared, int slots) : shared_(shared), conns_(slots) {
    settings_ = MakeParserSettings();
  }

  void Run() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < conns_.size(); ++i) {
      StartConnection(i);
    }
    epoll_event events[256];
    while (true) {
      if (Clock::now() >= shared_->deadline) {
        shared_->stop = true;
      }
      if (shared_->stop) {
        break;
      }
      if (active_ == 0) {
        break;
      }
      int n = epoll_wait(epfd_, events, 256, 50);
      for (int i = 0; i < n; ++i) {
        size_t slot = events[i].data.u64;
        Drive(slot);
      }
      CheckTimeouts();
    }
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].state != State::kIdle) {
        Close(i);  // unfinished at the deadline: not counted
      }
    }
    close(epfd_);
  }

  Results& results() { return results_; }

 private:
  bool MayStart() {
    if (shared_->stop) {
      return false;
    }
    if (shared_->options.count > 0 && shared_->started.fetch_add(1) >= shared_->options.count) {
      return false;
    }
    return true;
  }

  void StartConnection(size_t slot) {
    Conn& c = conns_[slot];
    if (!MayStart()) {
      return;
    }
    c.start = Clock::now();
    c.requests_done = 0;
    c.all_2xx = true;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      Fail(slot, "socket");
      return;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&shared_->addr), sizeof(sockaddr_in));
    if (r < 0 && errno != EINPROGRESS) {
      Fail(slot, absl::StrCat("connect:", strerror(errno)), /*opened=*/false);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.u64 = slot;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.state = State::kConnecting;
    ++active_;
  }

  void Close(size_t slot) {
    Conn& c = conns_[slot];
    if (c.fd >= 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
    if (c.ssl) {
      SSL_set_ex_data(c.ssl.get(), g_conn_ex_index, nullptr);
    }
    c.ssl.reset();
    if (c.state != State::kIdle) {
      --active_;
    }
    c.state = State::kIdle;
  }

  void Fail(size_t slot, const std::string& kind, bool opened = true) {
    ++results_.failed_connections;
    ++results_.errors[kind];
    if (opened) {
      Close(slot);
    } else if (conns_[slot].fd >= 0) {
      close(conns_[slot].fd);
      conns_[slot].fd = -1;
    }
    Next(slot);
  }

  void Succeed(size_t slot) {
    Conn& c = conns_[slot];
    results_.connection_us.push_back(MicrosSince(c.start));
    if (c.all_2xx) {
      ++results_.ok_connections;
    } else {
      ++results_.failed_connections;
      ++results_.errors["http_status_not_2xx"];
    }
    if (shared_->options.hold_s > 0) {
      // Keep it open and idle: memory per idle keep-alive connection.
      c.state = State::kHeld;
      ++results_.held;
      shared_->held_total.fetch_add(1);
      return;
    }
    if (c.ssl && shared_->options.requests > 0) {
      SSL_shutdown(c.ssl.get());  // one close_notify, not waiting for the peer's
    }
    Close(slot);
    Next(slot);
  }

  void Next(size_t slot) {
    if (!shared_->stop && Clock::now() < shared_->deadline) {
      StartConnection(slot);
    }
  }

  void CheckTimeouts() {
    auto now = Clock::now();
    auto limit = std::chrono::milliseconds(shared_->options.timeout_ms);
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.state == State::kIdle || c.state == State::kHeld) {
        continue;
      }
      Clock::time_point since = c.state == State::kReading ? c.request_start : c.start;
      if (now - since > limit) {
        Fail(i, absl::StrCat("timeout_", StateName(c.state)));
      }
    }
  }

  static const char* StateName(State s) {
    switch (s) {
      case State::kConnecting:
        return "connect";
      case State::kHandshaking:
        return "handshake";
      case State::kWriting:
        return "write";
      case State::kReading:
        return "response";
      case State::kDraining:
        return "drain";
      default:
        return "idle";
    }
  }

  void SetUpSsl(size_t slot) {
    Conn& c = conns_[slot];
    c.ssl.reset(SSL_new(shared_->ctx));
    SSL_set_ex_data(c.ssl.get(), g_conn_ex_index, &c);
    SSL_set_fd(c.ssl.get(), c.fd);
    SSL_set_connect_state(c.ssl.get());
    if (!shared_->options.sni.empty()) {
      SSL_set_tlsext_host_name(c.ssl.get(), shared_->options.sni.c_str());
      if (!shared_->options.cacert.empty()) {
        X509_VERIFY_PARAM_set1_host(SSL_get0_param(c.ssl.get()), shared_->options.sni.data(),
                                    shared_->options.sni.size());
      }
    }
    if (!shared_->pool.empty()) {
      const Identity& id =
          shared_->pool[shared_->next_identity.fetch_add(1) % shared_->pool.size()];
      SSL_use_certificate(c.ssl.get(), id.cert.get());
      SSL_use_PrivateKey(c.ssl.get(), id.key.get());
      for (const auto& extra : id.chain) {
        SSL_add1_chain_cert(c.ssl.get(), extra.get());
      }
    }
    if (shared_->options.resume && c.session) {
      SSL_set_session(c.ssl.get(), c.session.get());
    }
  }

  void Drive(size_t slot) {
    Conn& c = conns_[slot];
    switch (c.state) {
      case State::kConnecting: {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          Fail(slot, absl::StrCat("connect:", strerror(err)));
          return;
        }
        if (shared_->options.plain) {
          ++results_.handshakes;
          results_.handshake_us.push_back(MicrosSince(c.start));
          shutdown(c.fd, SHUT_WR);
          c.state = State::kDraining;
          DrivePlainDrain(slot);
          return;
        }
        SetUpSsl(slot);
        c.state = State::kHandshaking;
        [[fallthrough]];
      }
      case State::kHandshaking: {
        int r = SSL_do_handshake(c.ssl.get());
        if (r != 1) {
          int err = SSL_get_error(c.ssl.get(), r);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            return;
          }
          Fail(slot, ErrorKind(c.ssl.get(), r, "handshake"));
          return;
        }
        ++results_.handshakes;
        if (SSL_session_reused(c.ssl.get())) {
          ++results_.resumed;
        }
        results_.handshake_us.push_back(MicrosSince(c.start));
        if (shared_->options.requests > 0) {
          BeginRequest(slot);
        } else {
          // Half-close and read to EOF: a server that refuses the client's
          // certificate says so with an alert here; tickets arrive here too.
          shutdown(c.fd, SHUT_WR);
          c.state = State::kDraining;
        }
        Drive(slot);
        return;
      }
      case State::kWriting: {
        const std::string& req = shared_->request;
        while (c.write_offset < req.size()) {
          int r = SSL_write(c.ssl.get(), req.data() + c.write_offset,
                            static_cast<int>(req.size() - c.write_offset));
          if (r <= 0) {
            int err = SSL_get_error(c.ssl.get(), r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
              return;
            }
            Fail(slot, ErrorKind(c.ssl.get(), r, "write"));
            return;
          }
          c.write_offset += static_cast<size_t>(r);
        }
        c.state = State::kReading;
        [[fallthrough]];
      }
      case State::kReading: {
        char buf[16384];
        while (true) {
          int r = SSL_read(c.ssl.get(), buf, sizeof(buf));
          if (r <= 0) {
            int err = SSL_get_error(c.ssl.get(), r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
              return;
            }
            Fail(slot, ErrorKind(c.ssl.get(), r, "response"));
            return;
          }
          size_t used = http_parser_execute(&c.parser, &settings_, buf, static_cast<size_t>(r));
          (void)used;
          if (c.response_complete) {
            FinishRequest(slot);
            return;
          }
          if (HTTP_PARSER_ERRNO(&c.parser) != HPE_OK) {
            Fail(slot, absl::StrCat("response:", http_errno_name(HTTP_PARSER_ERRNO(&c.parser))));
            return;
          }
        }
      }
      case State::kDraining: {
        if (shared_->options.plain) {
          DrivePlainDrain(slot);
          return;
        }
        char buf[4096];
        while (true) {
          int r = SSL_read(c.ssl.get(), buf, sizeof(buf));
          if (r > 0) {
            continue;
          }
          int err = SSL_get_error(c.ssl.get(), r);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            return;
          }
          if (err == SSL_ERROR_ZERO_RETURN ||
              (err == SSL_ERROR_SYSCALL && r == 0 && ERR_peek_error() == 0)) {
            Succeed(slot);
            return;
          }
          Fail(slot, ErrorKind(c.ssl.get(), r, "after_handshake"));
          return;
        }
      }
      case State::kHeld: {
        // The server closed an idle connection: note it, do not reopen.
        char buf[256];
        if (recv(c.fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == 0) {
          ++results_.errors["held_closed_by_server"];
          shared_->held_total.fetch_sub(1);
          Close(slot);
        }
        return;
      }
      case State::kIdle:
        return;
    }
  }

  void DrivePlainDrain(size_t slot) {
    Conn& c = conns_[slot];
    char buf[512];
    while (true) {
      ssize_t r = read(c.fd, buf, sizeof(buf));
      if (r > 0) {
        continue;
      }
      if (r == 0) {
        Succeed(slot);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      }
      Fail(slot, absl::StrCat("plain:", strerror(errno)));
      return;
    }
  }

  void BeginRequest(size_t slot) {
    Conn& c = conns_[slot];
    http_parser_init(&c.parser, HTTP_RESPONSE);
    c.parser.data = &c;
    c.response_complete = false;
    c.write_offset = 0;
    c.request_start = Clock::now();
    c.state = State::kWriting;
  }

  void FinishRequest(size_t slot) {
    Conn& c = conns_[slot];
    ++results_.requests;
    ++results_.statuses[c.last_status];
    results_.request_us.push_back(MicrosSince(c.request_start));
    if (c.last_status < 200 || c.last_status > 299) {
      c.all_2xx = false;
    }
    ++c.requests_done;
    if (c.requests_done < shared_->options.requests && c.keep_alive &&
        Clock::now() < shared_->deadline && !shared_->stop) {
      BeginRequest(slot);
      Drive(slot);
      return;
    }
    Succeed(slot);
  }

  Shared* shared_;
  std::vector<Conn> conns_;
  Results results_;
  http_parser_settings settings_;
  int epfd_ = -1;
  int active_ = 0;
};

double CpuSecondsSelf() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// ServeTcp: accept, read until EOF, close. Runs until killed.
int ServeTcp(const std::string& listen_address) {
  auto addr = ParseLoopbackTarget(listen_address);
  if (!addr.ok()) {
    fprintf(stderr, "certgate-loadgen: %s\n", std::string(addr.status().message()).c_str());
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_in)) != 0 ||
      listen(lfd, 4096) != 0) {
    fprintf(stderr, "certgate-loadgen: cannot listen on %s: %s\n", listen_address.c_str(),
            strerror(errno));
    return 1;
  }
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
  epoll_event events[256];
  char buf[4096];
  while (true) {
    int n = epoll_wait(epfd, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        while (true) {
          int cfd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) {
            break;
          }
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = cfd;
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      while (true) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r > 0) {
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        }
        close(fd);  // EOF or error; close also removes it from epoll
        break;
      }
    }
  }
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::Status SetUp(Shared& shared) {
  Options& o = shared.options;
  auto addr = ParseLoopbackTarget(o.target);
  if (!addr.ok()) {
    return addr.status();
  }
  shared.addr = *addr;
  if (o.host_header.empty()) {
    o.host_header = o.sni.empty() ? "localhost" : o.sni;
  }
  shared.request = absl::StrCat("GET ", o.path, " HTTP/1.1\r\nHost: ", o.host_header,
                                "\r\nUser-Agent: certgate-loadgen\r\n\r\n");
  if (o.plain) {
    return absl::OkStatus();
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  shared.ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, NewSessionCallback);
  if (!o.cacert.empty()) {
    auto cas = LoadCerts(o.cacert);
    if (!cas.ok()) {
      return cas.status();
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (auto& ca : *cas) {
      X509_STORE_add_cert(store, ca.get());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }

  std::string mode = o.bad_cert_mode;
  if (mode == "none") {
    o.no_cert = true;
  }
  if (o.no_cert) {
    return absl::OkStatus();
  }
  std::optional<KeyType> pool_type;
  {
    auto t = ParseKeyType(o.pool_key_type);
    if (!t.ok()) {
      return t.status();
    }
    pool_type = *t;
  }
  int pool_size = o.pool > 0 ? o.pool : 4096;

  if (mode == "fresh-self-signed") {
    auto pool = MakePool(pool_size, *pool_type, nullptr, nullptr, "self-signed");
    if (!pool.ok()) {
      return pool.status();
    }
    shared.pool = std::move(*pool);
    return absl::OkStatus();
  }
  if (!o.pool_ca_cert.empty()) {
    // A pool issued by a CA: distinct valid certificates (the zone's CA), or
    // certificates of another tenant's CA (--bad-cert-mode other-ca).
    auto ca = LoadCerts(o.pool_ca_cert);
    if (!ca.ok()) {
      return ca.status();
    }
    auto ca_key = LoadKey(o.pool_ca_key);
    if (!ca_key.ok()) {
      return ca_key.status();
    }
    auto pool = MakePool(pool_size, *pool_type, (*ca)[0].get(), ca_key->get(), "pool-device");
    if (!pool.ok()) {
      return pool.status();
    }
    shared.pool = std::move(*pool);
    return absl::OkStatus();
  }
  if (mode == "other-ca") {
    return absl::InvalidArgumentError(
        "--bad-cert-mode other-ca needs --pool-ca-cert/--pool-ca-key");
  }
  // One fixed identity: --cert/--key, or (repeat without --cert) a
  // self-signed one made here.
  Identity id;
  if (!o.cert.empty()) {
    auto certs = LoadCerts(o.cert);
    if (!certs.ok()) {
      return certs.status();
    }
    auto key = LoadKey(o.key.empty() ? o.cert : o.key);
    if (!key.ok()) {
      return key.status();
    }
    id.cert = std::move((*certs)[0]);
    for (size_t i = 1; i < certs->size(); ++i) {
      id.chain.push_back(std::move((*certs)[i]));
    }
    id.key = std::move(*key);
  } else if (mode == "repeat") {
    auto pool = MakePool(1, *pool_type, nullptr, nullptr, "repeated-self-signed");
    if (!pool.ok()) {
      return pool.status();
    }
    id = std::move((*pool)[0]);
  } else {
    return absl::InvalidArgumentError(
        "no client certificate: pass --cert/--key, --pool-ca-cert/--pool-ca-key, "
        "--bad-cert-mode, or --no-cert");
  }
  if (!o.chain.empty()) {
    auto chain = LoadCerts(o.chain);
    if (!chain.ok()) {
      return chain.status();
    }
    for (auto& c : *chain) {
      id.chain.push_back(std::move(c));
    }
  }
  if (o.tamper_signature) {
    auto tampered = TamperSignature(id.cert.get());
    if (!tampered.ok()) {
      return tampered.status();
    }
    id.cert = std::move(*tampered);
  }
  if (!SSL_CTX_use_certificate(ctx, id.cert.get()) || !SSL_CTX_use_PrivateKey(ctx, id.key.get())) {
    return absl::InvalidArgumentError("client certificate and key do not match");
  }
  for (auto& extra : id.chain) {
    SSL_CTX_add1_chain_cert(ctx, extra.get());
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Shared shared;
  Options& o = shared.options;
  CLI::App app("certgate-loadgen: TLS 1.3 mTLS load generator (loopback only)", "certgate-loadgen");
  app.add_option("--target", o.target, "HOST:PORT to connect to (127.0.0.0/8 only)");
  app.add_option("--sni", o.sni, "server name to send");
  app.add_option("--host", o.host_header, "Host header (default: the SNI)");
  app.add_option("--path", o.path, "request path");
  app.add_option("--cacert", o.cacert, "verify the server against these CAs (PEM)");
  app.add_option("--cert", o.cert, "client certificate (PEM; extra blocks are sent as chain)");
  app.add_option("--key", o.key, "client private key (PEM)");
  app.add_option("--chain", o.chain, "extra certificates to send after the leaf (PEM)");
  app.add_flag("--no-cert", o.no_cert, "send no client certificate");
  app.add_flag("--resume", o.resume, "resume with the newest session ticket of each slot");
  app.add_option("--requests", o.requests,
                 "keep-alive GETs per connection (0: handshake, half-close, read to EOF)");
  app.add_option("--threads", o.threads, "worker threads");
  app.add_option("--connections", o.connections, "concurrent connections (over all threads)");
  app.add_option("--duration", o.duration_s, "stop after this many seconds");
  app.add_option("--count", o.count, "stop after this many connections");
  app.add_option("--timeout-ms", o.timeout_ms, "per-connection (and per-request) timeout");
  app.add_option("--bad-cert-mode", o.bad_cert_mode,
                 "flood: repeat | fresh-self-signed | other-ca | none")
      ->check(CLI::IsMember({"repeat", "fresh-self-signed", "other-ca", "none"}));
  app.add_flag("--tamper-signature", o.tamper_signature,
               "flip a byte of the client certificate's signature (still parses, never "
               "verifies)");
  app.add_option("--pool-ca-cert", o.pool_ca_cert,
                 "issue a pool of distinct client certificates from this CA");
  app.add_option("--pool-ca-key", o.pool_ca_key, "key of --pool-ca-cert");
  app.add_option("--pool", o.pool, "pool size (default 4096)");
  app.add_option("--pool-key-type", o.pool_key_type, "ec-p256 | ec-p384 | rsa-2048 | rsa-3072");
  app.add_option("--label", o.label, "name printed with the results");
  app.add_option("--json-out", o.json_out, "write the results as JSON to this file");
  app.add_flag("--plain", o.plain, "no TLS: connect, half-close, read to EOF");
  app.add_option("--serve-tcp", o.serve_tcp,
                 "run a bare accept loop on HOST:PORT (read to EOF, close) until killed");
  app.add_option("--hold", o.hold_s,
                 "keep each finished connection open and idle for this many seconds");
  app.add_option("--ready-file", o.ready_file,
                 "with --hold: create this file once every connection is held");
  CLI11_PARSE(app, argc, argv);

  if (!o.serve_tcp.empty()) {
    return ServeTcp(o.serve_tcp);
  }
  if (o.target.empty()) {
    fprintf(stderr, "certgate-loadgen: --target is required\n");
    return 2;
  }
  if (o.duration_s <= 0 && o.count <= 0 && o.hold_s <= 0) {
    fprintf(stderr, "certgate-loadgen: give --duration, --count or --hold\n");
    return 2;
  }
  o.threads = std::max(1, std::min(o.threads, o.connections));
  g_conn_ex_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  if (absl::Status st = SetUp(shared); !st.ok()) {
    fprintf(stderr, "certgate-loadgen: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  bssl::UniquePtr<SSL_CTX> ctx_owner(shared.ctx);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    int slots = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(&shared, slots));
  }
  double cpu0 = CpuSecondsSelf();
  auto t0 = Clock::now();
  if (o.duration_s > 0) {
    shared.deadline = t0 + std::chrono::microseconds(static_cast<int64_t>(o.duration_s * 1e6));
  }
  std::atomic<bool> measuring_done{false};
  std::thread hold_watcher;
  if (o.hold_s > 0) {
    // Every connection opens once; the clock runs until all are held, then
    // they stay idle for --hold seconds.
    shared.options.count = o.connections;
    shared.deadline = Clock::time_point::max();
    hold_watcher = std::thread([&] {
      auto start = Clock::now();
      while (shared.held_total.load() < o.connections &&
             Clock::now() - start < std::chrono::milliseconds(o.timeout_ms) * 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!o.ready_file.empty()) {
        FILE* f = fopen(o.ready_file.c_str(), "w");
        if (f != nullptr) {
          fprintf(f, "%lld\n", static_cast<long long>(shared.held_total.load()));
          fclose(f);
        }
      }
      auto until = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(o.hold_s * 1e6));
      while (Clock::now() < until && !measuring_done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      shared.stop = true;
    });
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    Worker* worker = w.get();
    threads.emplace_back([worker] { worker->Run(); });
  }
  for (auto& t : threads) {
    t.join();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSecondsSelf() - cpu0;
  measuring_done = true;
  if (hold_watcher.joinable()) {
    hold_watcher.join();
  }

  Results total;
  for (auto& w : workers) {
    total.Merge(w->results());
  }
  std::sort(total.handshake_us.begin(), total.handshake_us.end());
  std::sort(total.connection_us.begin(), total.connection_us.end());
  std::sort(total.request_us.begin(), total.request_us.end());
  int64_t attempted = total.ok_connections + total.failed_connections;
  double success = attempted > 0 ? static_cast<double>(total.ok_connections) / attempted : 0;
  // Latency of the unit being measured: per request with --requests, else
  // per connection (connect to EOF).
  const std::vector<uint32_t>& lat = o.requests > 0 ? total.request_us : total.connection_us;
  double p50 = Percentile(lat, 0.5) / 1000.0;
  double p99 = Percentile(lat, 0.99) / 1000.0;
  double p999 = Percentile(lat, 0.999) / 1000.0;
  double hs_rate = elapsed > 0 ? total.handshakes / elapsed : 0;
  double req_rate = elapsed > 0 ? total.requests / elapsed : 0;
  double cpu_per_conn_us = attempted > 0 ? cpu * 1e6 / attempted : 0;

  std::vector<std::string> err_parts;
  std::string err_json;
  for (auto& [k, v] : total.errors) {
    err_parts.push_back(absl::StrCat(k, "=", v));
    absl::StrAppend(&err_json, err_json.empty() ? "" : ",", "\"", JsonEscape(k), "\":", v);
  }
  std::vector<std::string> status_parts;
  std::string status_json;
  for (auto& [k, v] : total.statuses) {
    status_parts.push_back(absl::StrCat(k, "=", v));
    absl::StrAppend(&status_json, status_json.empty() ? "" : ",", "\"", k, "\":", v);
  }
  printf(
      "loadgen %s: %.1fs conns=%d handshakes=%lld (%.1f/s, resumed %lld) requests=%lld (%.1f/s) "
      "ok=%lld failed=%lld success=%.4f latency ms p50=%.3f p99=%.3f p999=%.3f errors={%s} "
      "status={%s} client_cpu=%.3fs (%.1f us/conn)%s\n",
      o.label.c_str(), elapsed, o.connections, static_cast<long long>(total.handshakes), hs_rate,
      static_cast<long long>(total.resumed), static_cast<long long>(total.requests), req_rate,
      static_cast<long long>(total.ok_connections),
      static_cast<long long>(total.failed_connections), success, p50, p99, p999,
      absl::StrJoin(err_parts, ",").c_str(), absl::StrJoin(status_parts, ",").c_str(), cpu,
      cpu_per_conn_us, o.hold_s > 0 ? absl::StrCat(" held=", total.held).c_str() : "");
  std::string json = absl::StrFormat(
      "{\"label\":\"%s\",\"elapsed_s\":%.3f,\"connections\":%d,\"threads\":%d,"
      "\"handshakes\":%d,\"resumed\":%d,\"handshakes_per_s\":%.2f,\"requests\":%d,"
      "\"requests_per_s\":%.2f,\"ok\":%d,\"failed\":%d,\"success_rate\":%.6f,"
      "\"latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
      "\"handshake_latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
      "\"errors\":{%s},\"status\":{%s},\"client_cpu_s\":%.4f,\"client_cpu_us_per_conn\":%.2f,"
      "\"held\":%d}",
      JsonEscape(o.label), elapsed, o.connections, o.threads, total.handshakes, total.resumed,
      hs_rate, total.requests, req_rate, total.ok_connections, total.failed_connections, success,
      p50, p99, p999, Percentile(total.handshake_us, 0.5) / 1000.0,
      Percentile(total.handshake_us, 0.99) / 1000.0, Percentile(total.handshake_us, 0.999) / 1000.0,
      err_json, status_json, cpu, cpu_per_conn_us, total.held);
  if (!o.json_out.empty()) {
    FILE* f = fopen(o.json_out.c_str(), "w");
    if (f == nullptr) {
      fprintf(stderr, "certgate-loadgen: cannot write %s\n", o.json_out.c_str());
      return 1;
    }
    fprintf(f, "%s\n", json.c_str());
    fclose(f);
  } else {
    printf("%s\n", json.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace certgate::bench

int main(int argc, char** argv) { return certgate::bench::Main(argc, argv); }
