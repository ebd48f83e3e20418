#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"

namespace certgate::edge {

// OriginTlsContext is one zone's TLS client side towards its https origin,
// built once per zone version: the trust store that verifies the origin
// (the zone's origin CA, else the system store), the name checked in the
// origin's certificate and sent as SNI, the zone's client certificate
// (authenticated origin pulls), and a one-entry session cache so new
// connections to the origin resume. Shared by every worker; the session
// cache is the only mutable part and is locked (touched once per new
// origin connection, never per request).
class OriginTlsContext {
 public:
  // The system trust store used when a zone sets no origin CA.
  static constexpr char kSystemTrustStore[] = "/etc/ssl/certs/ca-certificates.crt";

  // Create: INVALID_ARGUMENT naming the problem (bad origin CA, client
  // certificate or key). `origin_host` is the origin URL's host.
  static absl::StatusOr<std::shared_ptr<const OriginTlsContext>> Create(
      const v1::EdgeZone& zone, const std::string& origin_host);
  ~OriginTlsContext();

  // NewSsl returns a client SSL for one origin connection (connect state,
  // SNI, host or IP check, the cached session if any). With `offer_h2` it
  // offers ALPN h2 and http/1.1 (the connection speaks what the origin
  // picks); without, no ALPN (HTTP/1.1). Null on allocation failure.
  bssl::UniquePtr<SSL> NewSsl(bool offer_h2 = false) const;

  // FailureReason: one line on why a handshake made by NewSsl failed.
  static std::string FailureReason(const SSL* ssl, int ssl_error);

  // The name (or IP) the origin's certificate must carry.
  const std::string& verify_name() const { return verify_name_; }
  // Unique per built context in this process: pooled connections made with
  // another context (an older zone version) are never reused with this one.
  uint64_t serial() const { return serial_; }
  bool has_client_certificate() const { return has_client_certificate_; }

 private:
  OriginTlsContext() = default;
  absl::Status Init(const v1::EdgeZone& zone, const std::string& origin_host);
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);

  bssl::UniquePtr<SSL_CTX> ctx_;
  std::string sni_;  // empty for an IP literal without a server name
  std::string verify_name_;
  bool verify_ip_ = false;
  bool has_client_certificate_ = false;
  uint64_t serial_ = 0;
  mutable absl::Mutex mu_;
  mutable bssl::UniquePtr<SSL_SESSION> session_ ABSL_GUARDED_BY(mu_);
};

}  // namespace certgate::edge
