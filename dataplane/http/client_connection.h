#pragma once

#include <event2/event.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/host_port.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/worker_context.h"
#include "openssl/base.h"

struct evbuffer;

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
  bool closed() const { return closed_; }

 private:
  enum class Action { kNone, kLocal, kProxy };
  enum class TimerKind { kNone, kHandshake, kHeaders, kIdle, kBody, kLinger };

  static void OnClientEvent(evutil_socket_t fd, short what, void* arg);
  static void OnOriginEvent(evutil_socket_t fd, short what, void* arg);
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
  // OriginRequestHead: the current request's head as the origin gets it.
  std::string OriginRequestHead() const;
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
  ConnectionAuth* auth_ = nullptr;  // owned by ssl_
  // Owned by auth_->config (a shared_ptr the connection holds): a config
  // swapped out stays alive while an open connection uses it. Both move
  // together, between requests only (FollowConfigChange).
  const ZoneConfig* zone_ = nullptr;
  CertificateHeaders cert_headers_;
  std::string cert_status_;

  event* client_read_ev_ = nullptr;
  event* client_write_ev_ = nullptr;
  event* client_timer_ev_ = nullptr;
  event* origin_read_ev_ = nullptr;
  event* origin_write_ev_ = nullptr;
  event* origin_timer_ev_ = nullptr;
  bool client_read_on_ = false;
  bool client_write_on_ = false;
  bool origin_read_on_ = false;
  bool origin_write_on_ = false;
  TimerKind timer_kind_ = TimerKind::kNone;

  evbuffer* client_in_ = nullptr;   // decrypted, not yet parsed
  evbuffer* client_out_ = nullptr;  // to encrypt and send
  evbuffer* origin_out_ = nullptr;  // to send to the origin

  bool handshake_done_ = false;
  bool handshake_wants_write_ = false;
  bool client_write_blocked_ = false;
  bool ssl_read_wants_write_ = false;
  bool client_eof_ = false;
  bool close_after_flush_ = false;
  bool draining_ = false;
  bool closed_ = false;
  bool lingering_ = false;
  bool opened_ = false;

  MessageParser request_parser_;
  std::unique_ptr<MessageParser> response_parser_;

  // The current exchange.
  Action action_ = Action::kNone;
  absl::Time exchange_start_;
  std::string method_;
  std::string path_;
  std::string host_;
  std::string refusal_;  // the access rule's refusal of this request, for log and origin
  bool request_complete_ = false;
  bool request_chunked_ = false;
  bool head_request_ = false;
  bool client_http11_ = true;
  bool client_keep_alive_ = true;
  // The protocol the request asks to switch to ("" for a plain request)
  // and whether the origin agreed (a 101 with Upgrade).
  std::string upgrade_;
  bool switching_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool interim_response_ = false;
  BodyFraming response_framing_ = BodyFraming::kNone;
  int status_code_ = 0;
  bool logged_ = false;
  uint64_t exchanges_ = 0;  // requests answered (and logged) on this connection
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;

  // The current origin connection; origin_fd_ is its socket (-1: none).
  std::unique_ptr<OriginTransport> origin_;
  int origin_fd_ = -1;
  std::string origin_key_;
  bool origin_connecting_ = false;
  bool resolving_ = false;  // waiting for the origin's address
  uint64_t resolve_ticket_ = 0;
  bool resolve_inline_ = false;  // inside the Resolve call
  bool origin_reused_ = false;    // taken from the pool
  bool origin_answered_ = false;  // a byte came back on the current origin connection
  absl::Time origin_sent_;

  // Set after a 101: from then on the relay moves the bytes.
  std::unique_ptr<UpgradeRelay> relay_;
};

}  // namespace certgate::edge
