#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/worker_context.h"
#include "openssl/base.h"

namespace certgate::edge {

struct ConnectionAuth;
class OriginTransport;
class UpgradeRelay;
struct ZoneConfig;

// ClientConnection is one accepted client: a non-blocking TLS handshake
// driven by hand (SSL_do_handshake/SSL_read/SSL_write on the socket), then
// HTTP/1.1 requests one after the other (keep-alive), each either answered
// by the edge (403, 421, 4xx, 502, 504) or proxied to the zone's origin with
// both bodies streamed. Lives on one worker thread.
class ClientConnection {
 public:
  ClientConnection(WorkerContext* ctx, int fd, std::string client_ip);
  ~ClientConnection();
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
    kDraining,     // response sent, write side shut; reading until the client closes
    kClosed,
  };
  enum class Action { kNone, kLocal, kProxy };
  enum class TimerKind { kNone, kHandshake, kHeaders, kIdle, kBody, kLinger };

  static void OnClientEvent(evutil_socket_t fd, short what, void* arg);
  static void OnOriginEvent(void* arg, OriginTransport* transport, short what);
  static void OnClientTimer(evutil_socket_t fd, short what, void* arg);
  static void OnOriginTimer(evutil_socket_t fd, short what, void* arg);

  void Handshake();
  void HandshakeDone();
  // Drive does every piece of non-blocking work possible now, then sets the
  // events to wait for.
  void Drive();
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

  // Proxy.
  // QueueOriginRequestHead queues the current request's head as the origin
  // gets it.
  void QueueOriginRequestHead();
  void StartProxy();
  // ConnectOrigin resolves the origin (OriginResolver: no blocking), then
  // ConnectResolved judges the address (origin guard) and connects.
  void ConnectOrigin();
  void ConnectResolved(absl::StatusOr<ResolvedAddress> addr);
  void OriginConnected();
  // OriginHandshake advances the TLS handshake with an https origin; a
  // failure (certificate not verified, refused) answers 502 and is logged.
  void OriginHandshake();
  void FlushOrigin();
  void ReadOrigin();
  bool OnResponseHeaders(bool* skip_body);
  bool OnResponseBody(absl::string_view data);
  bool OnResponseComplete();
  void OriginFailed(int status, absl::string_view why);
  // RetryOnFreshOrigin resends an idempotent, body-less request on a new
  // connection when
  // the pooled one it went out on closed before answering (the origin's idle
  // close raced our reuse). False when that does not apply.
  bool RetryOnFreshOrigin();
  // Retryable: RetryOnFreshOrigin could resend the current request.
  bool Retryable() const;
  void ReleaseOrigin(bool reusable);
  void AppendToClient(absl::string_view data);
  // StartRelay hands the connection to an UpgradeRelay after the origin's
  // 101: `origin_extra` is what the origin sent after its 101 head. The
  // connection's own events stop; the relay's end closes it.
  void StartRelay(absl::string_view origin_extra);
  // StillTrusted: the upgraded connection's zone still exists and its
  // certificate's verdict is still the one it upgraded with.
  bool StillTrusted();

  // Abort closes at once (a response already started cannot be replaced).
  void Abort(absl::string_view why);
  void LingeringClose();
  void Linger();
  void Close();
  void CloseInternal(bool notify);

  WorkerContext* ctx_;
  int fd_;
  std::string client_ip_;
  bssl::UniquePtr<SSL> ssl_;
  BIO* bio_ = nullptr;              // the SocketBio under ssl_ (owned by it)
  ConnectionAuth* auth_ = nullptr;  // owned by ssl_
  // Owned by auth_->config (a shared_ptr the connection holds): a config
  // swapped out stays alive while an open connection uses it. Both move
  // together, between requests only (FollowConfigChange).
  const ZoneConfig* zone_ = nullptr;
  CertificateHeaders cert_headers_;
  std::string cert_status_;

  // The client socket's read event stays registered between requests (it
  // is deleted only when it fires while reading is not allowed), so a
  // keep-alive request costs no epoll_ctl. The origin's events live in its
  // OriginTransport.
  SocketEvent client_read_ev_;
  SocketEvent client_write_ev_;
  EventPtr client_timer_ev_;
  EventPtr origin_timer_ev_;
  TimerKind timer_kind_ = TimerKind::kNone;

  EvbufferPtr client_in_;   // decrypted, not yet parsed
  EvbufferPtr client_out_;  // to encrypt and send
  EvbufferPtr origin_out_;  // to send to the origin

  ConnectionState state_ = ConnectionState::kHandshaking;
  bool handshaking() const { return state_ == ConnectionState::kHandshaking; }
  bool lingering() const { return state_ == ConnectionState::kDraining; }
  bool handshake_wants_write_ = false;
  bool client_write_blocked_ = false;
  bool ssl_read_wants_write_ = false;
  bool client_eof_ = false;
  bool close_after_flush_ = false;
  bool draining_ = false;  // the worker is stopping: no request after the current one
  bool opened_ = false;

  MessageParser request_parser_;
  std::unique_ptr<MessageParser> response_parser_;

  // The current exchange (one request and its response), reset whole
  // between requests.
  struct Exchange {
    Action action = Action::kNone;
    absl::Time start;
    std::string method;
    std::string path;
    std::string host;
    std::string refusal;  // the access rule's refusal of this request, for log and origin
    bool withhold_certificate = false;  // RequestDecision's
    bool request_complete = false;
    bool request_chunked = false;
    bool head_request = false;
    // The protocol the request asks to switch to ("" for a plain request)
    // and whether the origin agreed (a 101 with Upgrade).
    std::string upgrade;
    bool switching = false;
    bool response_started = false;
    bool response_complete = false;
    bool interim_response = false;
    BodyFraming response_framing = BodyFraming::kNone;
    int status_code = 0;
    bool logged = false;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
  };
  Exchange exchange_;
  // Per request too, but kept across the reset: read before the next
  // request's headers set them.
  bool client_http11_ = true;
  bool client_keep_alive_ = true;
  uint64_t exchanges_ = 0;  // requests answered (and logged) on this connection

  // The current origin connection; origin_fd_ is its socket (-1: none).
  std::unique_ptr<OriginTransport> origin_;
  int origin_fd_ = -1;
  std::string origin_key_;
  bool origin_connecting_ = false;
  bool resolving_ = false;  // waiting for the origin's address
  uint64_t resolve_ticket_ = 0;
  bool resolve_inline_ = false;   // inside the Resolve call
  bool origin_reused_ = false;    // taken from the pool
  bool origin_answered_ = false;  // a byte came back on the current origin connection
  absl::Time origin_sent_;

  // Set after a 101: from then on the relay moves the bytes.
  std::unique_ptr<UpgradeRelay> relay_;
};

}  // namespace certgate::edge
