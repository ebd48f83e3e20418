#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "openssl/base.h"

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
  // Plain: cleartext http.
  static std::unique_ptr<OriginTransport> Plain(UniqueFd fd);
  // Tls: https through `tls`, which the transport keeps alive (its session
  // callback may run while the connection idles in the pool, after the zone
  // version that built it is gone). Null (fd closed) when the SSL cannot be
  // made. `offer_h2`: ALPN h2 and http/1.1 (alpn() says which the origin picked).
  static std::unique_ptr<OriginTransport> Tls(UniqueFd fd,
                                              std::shared_ptr<const OriginTlsContext> tls,
                                              bool offer_h2 = false);
  ~OriginTransport();
  OriginTransport(const OriginTransport&) = delete;
  OriginTransport& operator=(const OriginTransport&) = delete;

  int fd() const { return fd_.get(); }
  bool tls() const { return ssl_ != nullptr; }
  // The protocol the origin picked by ALPN ("" when none).
  std::string alpn() const;
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
  // Send writes `buf` until it is empty (kDone) or the socket is full
  // (kBlocked); kFailed: the origin went away (last_error says how).
  SslWriteResult Send(evbuffer* buf);
  // Pending: decrypted bytes wait inside the SSL; the socket will not
  // signal them.
  bool Pending() const;
  // LooksOpen: an idle pooled connection has nothing to read (no EOF, no
  // unasked bytes). TLS records that carry no data (session tickets) are
  // consumed.
  bool LooksOpen();

  // The socket's events belong to the connection, not to whoever uses it:
  // they stay registered while it moves between a client connection and
  // the pool, so a reused connection costs no epoll_ctl.
  using EventHandler = void (*)(void* owner, OriginTransport* transport, short what);
  // Watch sends the socket's events to `handler(owner, ...)` from now on;
  // the first call creates them on `base` (later calls keep that base).
  void Watch(event_base* base, EventHandler handler, void* owner);
  // Unwatch frees the events (another owner of the socket takes over).
  void Unwatch();
  void WatchRead(bool on) { read_ev_.Set(on); }
  void WatchWrite(bool on) { write_ev_.Set(on); }
  // ActivateRead runs the read handler from the loop (bytes wait inside
  // the SSL).
  void ActivateRead();
  // idle_readable: the socket became readable while pooled (a close, a TLS
  // ticket or unasked bytes); the pool stops watching it until it is taken.
  bool idle_readable() const { return idle_readable_; }
  void set_idle_readable(bool on) { idle_readable_ = on; }

 private:
  // Only Plain and Tls make one (std::make_unique needs a public
  // constructor).
  struct Private {
    explicit Private() = default;
  };

 public:
  OriginTransport(Private, UniqueFd fd, bssl::UniquePtr<SSL> ssl,
                  std::shared_ptr<const OriginTlsContext> tls);

 private:
  static void OnEvent(evutil_socket_t fd, short what, void* arg);

  UniqueFd fd_;
  std::shared_ptr<const OriginTlsContext> tls_context_;
  bssl::UniquePtr<SSL> ssl_;
  bool handshake_done_ = false;
  bool wants_read_ = false;
  bool wants_write_ = false;
  std::string tls_error_;
  EventHandler handler_ = nullptr;
  void* owner_ = nullptr;
  // Declared last: freed (deleted from the loop) before the socket closes.
  SocketEvent read_ev_;
  SocketEvent write_ev_;
  bool idle_readable_ = false;
};

}  // namespace certgate::edge
