#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "openssl/base.h"

struct evbuffer;

namespace certgate::edge {

class OriginTlsContext;
struct ZoneConfig;

// OriginTransport is one connection to an origin: a non-blocking socket and,
// for an https origin, the BoringSSL client session on it, driven by hand
// like the client side (SSL_do_handshake/SSL_read/SSL_write). It owns both;
// pooled https connections keep their SSL, so a reused connection costs no
// handshake. Used by one worker thread.
class OriginTransport {
 public:
  // Plain: cleartext http. Takes ownership of `fd`.
  static std::unique_ptr<OriginTransport> Plain(int fd);
  // Tls: https through `tls`, which the transport keeps alive (its session
  // callback may run while the connection idles in the pool, after the zone
  // version that built it is gone). Takes ownership of `fd`; null (fd
  // closed) when the SSL cannot be made.
  static std::unique_ptr<OriginTransport> Tls(int fd, std::shared_ptr<const OriginTlsContext> tls);
  ~OriginTransport();
  OriginTransport(const OriginTransport&) = delete;
  OriginTransport& operator=(const OriginTransport&) = delete;

  int fd() const { return fd_; }
  bool tls() const { return ssl_ != nullptr; }
  // Handshaking: a TLS handshake is still to finish; reads and writes of
  // application data wait for it.
  bool handshaking() const { return ssl_ != nullptr && !handshake_done_; }
  // What the handshake waits for on the socket.
  bool wants_read() const { return wants_read_; }
  bool wants_write() const { return wants_write_; }

  enum class Step { kDone, kWait, kFailed };
  // Handshake advances the TLS handshake; on kFailed `error` says why (the
  // origin certificate's verification error, an alert, a close).
  Step Handshake(std::string* error);

  // Write sends what the socket takes from the front of `buf` (and drains
  // it): bytes sent, or -1 with errno set (EAGAIN: would block).
  int Write(evbuffer* buf);
  // Read: bytes read, 0 at the end of the stream, -1 with errno set
  // (EAGAIN: would block; EPROTO: a TLS error, see last_error()).
  ssize_t Read(char* buf, size_t len);
  // last_error: why the last Read or Write failed.
  std::string last_error() const;
  // Pending: decrypted bytes wait inside the SSL; the socket will not
  // signal them.
  bool Pending() const;
  // LooksOpen: an idle pooled connection has nothing to read (no EOF, no
  // unasked bytes). TLS records that carry no data (session tickets) are
  // consumed.
  bool LooksOpen();

 private:
  OriginTransport(int fd, bssl::UniquePtr<SSL> ssl, std::shared_ptr<const OriginTlsContext> tls);
  int fd_;
  std::shared_ptr<const OriginTlsContext> tls_context_;
  bssl::UniquePtr<SSL> ssl_;
  bool handshake_done_ = false;
  bool wants_read_ = false;
  bool wants_write_ = false;
  std::string tls_error_;
};

}  // namespace certgate::edge
