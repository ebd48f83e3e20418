#pragma once

#include <event2/event.h>

#include <string>

#include "absl/strings/string_view.h"
#include "common/unique_fd.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/ssl_buffer_write.h"
#include "openssl/base.h"

namespace certgate::edge {

// TlsTransport is the TLS side of one accepted client socket, whatever
// protocol runs on it: the socket, the SSL driven by hand over a SocketBio
// (SSL_do_handshake/SSL_read/SSL_write), the decrypted input and the output
// still to encrypt, and the socket's events. It knows nothing of HTTP: it
// reports the end of the handshake and socket readiness to its Handler, and
// the protocol on top reads, writes and flushes. After the handshake the
// HTTP/1.1 ClientConnection drives it; when ALPN chose h2 its events stop
// (StopEvents) and the HTTP/2 driver reads and writes its SSL and socket,
// which stay owned here. Used by one worker thread.
class TlsTransport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // The handshake finished; from here the protocol chosen by ALPN
    // (alpn()) drives the transport.
    virtual void OnHandshakeDone() = 0;
    // The handshake failed or the client left during it; `reason` is for
    // the connection log. The handler closes.
    virtual void OnHandshakeFailed(absl::string_view reason) = 0;
    // After the handshake: the socket became readable or writable. Read,
    // process, Flush, then UpdateEvents.
    virtual void OnReady() = 0;
    // A lingering close ended: the client closed (or reset) its side.
    virtual void OnLingerDone() = 0;
  };

  TlsTransport(event_base* base, UniqueFd fd, Handler* handler);
  ~TlsTransport();
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  // Start takes `ssl` (server side, not yet started), makes the buffers
  // and events and begins the handshake. False when something could not be
  // made: the caller closes.
  bool Start(bssl::UniquePtr<SSL> ssl);

  bool handshaking() const { return state_ == State::kHandshaking; }
  bool lingering() const { return state_ == State::kLingering; }
  bool closed() const { return state_ == State::kClosed; }

  enum class ReadResult { kData, kWouldBlock, kEnd };
  // Read decrypts one read's worth into in(): kData, kWouldBlock (nothing
  // now; the events say when), or kEnd (close_notify, FIN or a TLS error).
  ReadResult Read();
  // MaybeReadable: Read could return something (readiness hint set, bytes
  // buffered in the BIO or the SSL). Without it a read would only return
  // EAGAIN.
  bool MaybeReadable() const;
  evbuffer* in() const { return in_.get(); }
  evbuffer* out() const { return out_.get(); }
  void Write(absl::string_view data) { evbuffer_add(out_.get(), data.data(), data.size()); }
  // Flush encrypts and sends out() as far as the socket takes it.
  SslWriteResult Flush();
  // UpdateEvents registers what to wait for: reading when `reading` (the
  // protocol wants input), writing when a write or a read is blocked on
  // the socket. Bytes already decrypted or buffered re-activate the read
  // event, since they never make the socket readable again.
  void UpdateEvents(bool reading);

  // SendCloseNotify: best effort TLS close_notify.
  void SendCloseNotify();
  // StartLinger half-closes the socket and then drops what the client still
  // sends until it closes (OnLingerDone): closing with unread input would
  // make the kernel send a reset that can destroy the response before the
  // client has read it.
  void StartLinger();
  // StopEvents frees the socket's events (an UpgradeRelay takes over the
  // SSL and socket, which stay owned here) and turns readiness hints off.
  void StopEvents();
  // Close frees everything and closes the socket; the object stays (it may
  // be inside one of its own calls) and does nothing more.
  void Close();

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_.get(); }
  // The server name the client asked for ("" if none).
  absl::string_view sni() const;
  // The protocol ALPN chose ("" if none), e.g. "h2" or "http/1.1".
  absl::string_view alpn() const;

 private:
  enum class State { kIdle, kHandshaking, kOpen, kLingering, kClosed };
  static void OnEvent(evutil_socket_t fd, short what, void* arg);
  void Handshake();
  void Linger();

  event_base* base_;
  UniqueFd fd_;
  Handler* handler_;
  State state_ = State::kIdle;
  bssl::UniquePtr<SSL> ssl_;
  BIO* bio_ = nullptr;  // the SocketBio under ssl_ (owned by it)
  EvbufferPtr in_;      // decrypted, not yet consumed
  EvbufferPtr out_;     // to encrypt and send
  // The read event stays registered between requests (it is deleted only
  // when it fires while reading is not wanted), so a keep-alive request
  // costs no epoll_ctl.
  SocketEvent read_ev_;
  SocketEvent write_ev_;
  bool handshake_wants_write_ = false;
  bool write_blocked_ = false;
  bool read_wants_write_ = false;
};

}  // namespace certgate::edge
