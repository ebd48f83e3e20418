#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "dataplane/http/exchange.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/protocol_driver.h"
#include "dataplane/http/tls_transport.h"
#include "dataplane/http/upstream_exchange.h"
#include "dataplane/http/worker_context.h"
#include "openssl/base.h"

namespace certgate::edge {

struct ConnectionAuth;
class UpgradeRelay;
struct ZoneConfig;

// ClientConnection is one accepted client speaking HTTP/1.1: its
// TlsTransport does the TLS, then requests come one after the other
// (keep-alive). When ALPN chose h2, a ProtocolDriver (HTTP/2) serves the
// connection instead, over the same transport. Each request head goes through DecideRequest: it is
// either answered by the edge (403, 421, 4xx, 502, 504) or forwarded by the connection's
// UpstreamExchange to the zone's origin, both bodies streamed. After an agreed upgrade (101) an
// UpgradeRelay moves the bytes. Lives on one worker thread.
class ClientConnection : private TlsTransport::Handler, private UpstreamExchange::Owner {
 public:
  ClientConnection(WorkerContext* ctx, int fd, std::string client_ip);
  ~ClientConnection() override;
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Start begins the handshake.
  void Start();
  // Drain: the worker is stopping. An idle connection closes now; a busy
  // one after its current response.
  void Drain();
  bool closed() const { return state_ == ConnectionState::kClosed; }

 private:
  // Where the connection is in its life. Each state is entered once, in
  // this order (kUpgraded and kDraining are alternatives; either may be
  // skipped).
  enum class ConnectionState {
    kHandshaking,  // TLS handshake not finished
    kOpen,         // HTTP requests, one after the other
    kUpgraded,     // after a 101: the UpgradeRelay moves the bytes
    kDriven,       // ALPN chose h2: a ProtocolDriver serves the connection
    kDraining,     // response sent, write side shut; reading until the client closes
    kClosed,
  };
  enum class TimerKind { kNone, kHandshake, kHeaders, kIdle, kBody, kLinger };

  static void OnClientTimer(evutil_socket_t fd, short what, void* arg);

  // TlsTransport::Handler.
  void OnHandshakeDone() override;
  void OnHandshakeFailed(absl::string_view reason) override;
  void OnReady() override;
  void OnLingerDone() override;
  // StartDriver hands the connection to ctx_->http2_driver (ALPN chose h2):
  // the transport's events stop; the driver reads and writes its SSL and
  // socket (still owned by the transport) until its end closes the
  // connection.
  void StartDriver();

  // UpstreamExchange::Owner.
  void QueueOriginRequestHead(evbuffer* out) override;
  void AppendToClient(absl::string_view data) override;
  size_t ClientBacklog() const override;
  bool Draining() const override { return draining_; }
  bool Closed() const override { return closed(); }
  void AnswerOriginFailure(int status, absl::string_view why) override;
  // Abort closes at once (a response already started cannot be replaced).
  void Abort(absl::string_view why) override;
  void OnResponseDone() override;
  void OnSwitchingLogged() override;
  // OnSwitched hands the connection to an UpgradeRelay after the origin's
  // 101: `origin_extra` is what the origin sent after its 101 head. The
  // connection's own events stop; the relay's end closes it.
  void OnSwitched(absl::string_view origin_extra) override;
  // Drive does every piece of non-blocking work possible now, then sets the
  // events to wait for.
  void Drive() override;

  bool handshaking() const { return state_ == ConnectionState::kHandshaking; }
  bool lingering() const { return state_ == ConnectionState::kDraining; }
  bool ReadingAllowed() const;
  void ReadClient();
  void ProcessClientInput();
  void FlushClient();
  void UpdateEvents();
  void ArmClientTimer(TimerKind kind);

  // FollowConfigChange moves the connection to the current config before a
  // request (TlsServer::Recheck): new zone, verdict and certificate headers.
  // False when the connection's zone is gone: the request gets 421 and the
  // connection closes.
  bool FollowConfigChange();

  // Request parser callbacks.
  void OnRequestBegin();
  bool OnRequestHeaders();
  bool OnRequestBody(absl::string_view data);
  // BodyTooLarge answers 413 (or cuts the connection once the origin has
  // answered): the request body passed --max-body-bytes.
  void BodyTooLarge();
  bool OnRequestComplete();
  void OnRequestError();

  // Local answers and the end of an exchange.
  void Respond(int status, absl::string_view content_type, absl::string_view body, bool keep_alive);
  void FinishExchange();
  void LogExchange();
  void ResetExchange();

  // StartProxy forwards the current request through upstream_: as a stream
  // on an HTTP/2 origin (MultiplexedOrigins) or over HTTP/1.1.
  void StartProxy();
  // StartHttp1Proxy sends the request to an HTTP/1.1 origin (pooled or new
  // connection).
  void StartHttp1Proxy();
  // StartStream sends the request as a stream to the zone's HTTP/2 origin.
  void StartStream();
  // ContinueIfExpected answers Expect: 100-continue (the edge drops Expect,
  // hop-by-hop here, and lets the body come).
  void ContinueIfExpected();
  // Retryable: the upstream exchange could resend the current request.
  bool Retryable() const;
  // StillTrusted: the upgraded connection's zone still exists and its
  // certificate's verdict is still the one it upgraded with.
  bool StillTrusted();

  void LingeringClose();
  void Close();
  void CloseInternal(bool notify);

  WorkerContext* ctx_;
  std::string client_ip_;
  TlsTransport transport_;
  ConnectionAuth* auth_ = nullptr;  // owned by the transport's SSL
  // Owned by auth_->config (a shared_ptr the connection holds): a config
  // swapped out stays alive while an open connection uses it. Both move
  // together, between requests only (FollowConfigChange).
  const ZoneConfig* zone_ = nullptr;
  CertificateHeaders cert_headers_;
  std::string cert_status_;

  EventPtr client_timer_ev_;
  TimerKind timer_kind_ = TimerKind::kNone;

  ConnectionState state_ = ConnectionState::kHandshaking;
  bool client_eof_ = false;
  bool close_after_flush_ = false;
  bool draining_ = false;  // the worker is stopping: no request after the current one
  bool opened_ = false;

  MessageParser request_parser_;

  Exchange exchange_;
  ClientPersistence client_;
  uint64_t exchanges_ = 0;  // requests answered (and logged) on this connection

  // The origin half of forwarded requests.
  UpstreamExchange upstream_;

  // Set after a 101: from then on the relay moves the bytes.
  std::unique_ptr<UpgradeRelay> relay_;
  // Set when ALPN chose h2: from then on the driver serves the connection.
  std::unique_ptr<ProtocolDriver> driver_;
};

}  // namespace certgate::edge
