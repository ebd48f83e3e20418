#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/config/config_slot.h"
#include "dataplane/config/edge_config.h"
#include "openssl/base.h"
#include "openssl/ssl.h"

namespace certgate::edge {

class VerificationCache;
class ZoneSslContextCache;
struct CertIdentity;  // dataplane/config/access_policy.h

enum class CertStatus { kNone, kValid, kInvalid };
// "none" | "valid" | "invalid"
const char* CertStatusName(CertStatus status);

// TlsLibraryVersion: the TLS library the edge's code is linked with, as it
// names itself ("BoringSSL"); gRPC in the same process keeps OpenSSL 3.
const char* TlsLibraryVersion();

// ConnectionAuth is what the handshake found; the HTTP layer reads it for
// every request on the connection. Filled during the handshake, final once
// SSL_do_handshake returned 1.
struct ConnectionAuth {
  // The config the handshake started with; the connection keeps it.
  std::shared_ptr<const EdgeConfig> config;
  const ZoneConfig* zone = nullptr;  // owned by `config`
  CertStatus status = CertStatus::kNone;
  // Stable reason token when invalid: "unknown_ca", "expired",
  // "not_yet_valid", "revoked", "bad_signature", "malformed", "chain_too_long",
  // "not_client_auth", ... ("" otherwise).
  std::string reason;
  bool from_cache = false;                // chain result came from the verification cache
  bool resumed = false;                   // TLS session resumption
  bssl::UniquePtr<X509> leaf;             // null when no certificate
  bssl::UniquePtr<STACK_OF(X509)> chain;  // what the client sent after the leaf
  std::string ski_hex;                    // leaf SKI, "" when none
  // Chained to no root, valid only as pinned by an access rule (which alone
  // admits it).
  bool pinned = false;
  // What the zone's access rules read from the leaf; null unless valid and
  // some rule has identity constraints.
  std::shared_ptr<const CertIdentity> identity;
};

// ZoneRecheck is what TlsServer::Recheck found.
enum class ZoneRecheck {
  kUnchanged,  // same config, or the connection's zone object is shared unchanged
  kRejudged,   // the zone changed: the client's chain was judged again against it
  kGone,       // the connection's server name no longer leads to its zone
};

struct TlsServerOptions {
  size_t cache_entries = 100000;  // verification cache capacity (0 disables)
  int cache_shards = 16;
  // Zone SSL_CTXs kept (built on first use, least recently used out).
  size_t tls_context_cache_entries = 20000;
};

// Counters read by the metrics endpoint.
struct TlsStats {
  std::atomic<uint64_t> handshakes_ok{0};
  std::atomic<uint64_t> handshakes_failed{0};
  std::atomic<uint64_t> handshakes_resumed{0};
  std::atomic<uint64_t> unknown_sni{0};
  std::atomic<uint64_t> chain_verifications{0};    // full chain walks done
  std::atomic<uint64_t> cheap_rejections{0};       // refused before any signature
  std::atomic<uint64_t> zone_context_failures{0};  // a zone's SSL_CTX failed at first use
};

// TlsServer terminates TLS for every zone: a base SSL_CTX whose ClientHello
// callback maps SNI to a zone of the current config and switches the SSL to
// that zone's SSL_CTX; a custom verify callback checks the client chain
// against that zone's trust only, through the verification cache.
class TlsServer {
 public:
  static absl::StatusOr<std::unique_ptr<TlsServer>> Create(const ConfigSlot* slot,
                                                           TlsServerOptions options);
  ~TlsServer();

  // NewSsl makes a server SSL for one accepted connection; the caller sets
  // its fd (SSL_set_fd, non-blocking) and drives SSL_do_handshake.
  bssl::UniquePtr<SSL> NewSsl();

  // GetAuth returns the SSL's ConnectionAuth (never null for an SSL made by
  // NewSsl).
  static ConnectionAuth* GetAuth(const SSL* ssl);

  // FailureReason explains a failed handshake for the connection log:
  // "no SNI", "unknown SNI \"x\"", "no shared cipher", ... from the notes of
  // the ClientHello callback, then this thread's error queue (clear it before
  // SSL_do_handshake), then the first fatal alert; "" when nothing is known
  // (the peer just closed), so the caller can say what it saw.
  static std::string FailureReason(const SSL* ssl);

  // NoteHandshakeFailed counts a handshake that ended without a fatal alert
  // (peer closed, timeout); failures with an alert are counted already.
  // Counts each SSL at most once.
  void NoteHandshakeFailed(const SSL* ssl);

  // Recheck runs before each request on an established connection: when a
  // config newer than the connection's has been published, the connection
  // moves to it. The zone its server name leads to now must be the same zone
  // (kGone otherwise: deleted, or the name moved to another zone; the
  // connection keeps its old config, only to answer and close). When that
  // zone changed, the client's chain is judged again (cheap checks, then the
  // verification cache: a revoked serial or a removed root costs no
  // signature check, an unchanged trust version is a cache hit). Costs one
  // atomic load when nothing changed. Call on the connection's thread only.
  ZoneRecheck Recheck(SSL* ssl);

  const TlsStats& stats() const { return stats_; }
  VerificationCache* cache() const { return cache_.get(); }
  // contexts: the zones' SSL_CTXs, built on first use; its Failures() are
  // reported with the zones that failed to build at apply time.
  ZoneSslContextCache* contexts() const { return contexts_.get(); }
  // LateFailures: the zones of `config` whose SSL_CTX failed at first use,
  // as the config layer reports failures (a zone changed since is not
  // listed).
  std::vector<ZoneFailure> LateFailures(const EdgeConfig& config) const;

  // VerifyPeer is the custom verify callback of every zone SSL_CTX: checks
  // the client chain against the SSL's zone, records the result in its
  // ConnectionAuth and always returns ssl_verify_ok (enforce mode refuses at
  // the HTTP layer, with the zone's body).
  static enum ssl_verify_result_t VerifyPeer(SSL* ssl, uint8_t* out_alert);

 private:
  friend struct TlsServerCallbacks;
  TlsServer() = default;
  // Check verifies `certs` for `zone` into `auth` and counts it.
  void Check(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs, ConnectionAuth* auth);
  const ConfigSlot* slot_ = nullptr;
  bssl::UniquePtr<SSL_CTX> base_ctx_;
  std::unique_ptr<VerificationCache> cache_;
  std::unique_ptr<ZoneSslContextCache> contexts_;
  TlsStats stats_;
};

}  // namespace certgate::edge
