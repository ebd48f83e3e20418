#include "dataplane/tls/zone_ssl_context.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pem.h"
#include "dataplane/tls/session_binding.h"
#include "dataplane/tls/tls_server.h"
#include "dataplane/tls/zone_trust.h"
#include "openssl/err.h"
#include "openssl/pool.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace certgate::edge {

namespace {

// The CertificateRequest must fit in one handshake message that every client
// accepts; 16 KiB of names leaves ample room under the 64 KiB limits.
constexpr size_t kMaxCaNamesBytes = 16 * 1024;

std::string SslError() {
  uint32_t error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) {
    return "unknown error";
  }
  const char* reason = ERR_reason_error_string(error);
  return reason != nullptr ? reason : "unknown error";
}

}  // namespace

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> NewZoneSslContext(const v1::EdgeZone& zone,
                                                           const ZoneTrust& trust) {
  if (zone.server_chain_pem().empty() || zone.server_key_pem().empty()) {
    return absl::InvalidArgumentError("no server certificate and key");
  }
  auto chain = ParseCertificates(zone.server_chain_pem());
  if (!chain.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server certificate: ", chain.status().message()));
  }
  if (chain->empty()) {
    return absl::InvalidArgumentError("server certificate: empty chain");
  }
  auto key = ParsePrivateKey(zone.server_key_pem());
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("server key: ", key.status().message()));
  }

  // Buffers only, like TlsServer's base context: the edge reads client
  // certificates as DER, so BoringSSL need not parse them into X509 too.
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_with_buffers_method()));
  if (!ctx) {
    return absl::ResourceExhaustedError("SSL_CTX_new failed");
  }
  if (!SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION)) {
    return absl::InternalError(absl::StrCat("TLS versions: ", SslError()));
  }
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain_buffers;
  std::vector<CRYPTO_BUFFER*> chain_pointers;
  for (const bssl::UniquePtr<X509>& cert : *chain) {
    std::string der = CertificateToDer(cert.get());
    if (der.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("server chain: ", SslError()));
    }
    chain_buffers.emplace_back(
        CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
    if (!chain_buffers.back()) {
      return absl::ResourceExhaustedError("out of memory");
    }
    chain_pointers.push_back(chain_buffers.back().get());
  }
  // Also checks that the key belongs to the leaf.
  if (!SSL_CTX_set_chain_and_key(ctx.get(), chain_pointers.data(), chain_pointers.size(),
                                 key->get(), nullptr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server key does not match the certificate: ", SslError()));
  }

  if (zone.mode() == v1::MODE_OFF) {
    SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    // Requested, not required: a client without a certificate still gets
    // the zone's 403 body in enforce mode.
    SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER, &TlsServer::VerifyPeer);
    if (zone.send_ca_names()) {
      bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> names(sk_CRYPTO_BUFFER_new_null());
      if (!names) {
        return absl::ResourceExhaustedError("out of memory");
      }
      for (const std::string& der : trust.ClientCaNames(kMaxCaNamesBytes)) {
        bssl::UniquePtr<CRYPTO_BUFFER> buffer(
            CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
        if (!buffer || !bssl::PushToStack(names.get(), std::move(buffer))) {
          return absl::ResourceExhaustedError("out of memory");
        }
      }
      SSL_CTX_set0_client_CAs(ctx.get(), names.release());
    }
  }

  auto sid_ctx = SessionBinding::SessionIdContext(
      zone.id(), zone.trust_version(),
      zone.mode() == v1::MODE_UNSPECIFIED ? v1::MODE_ENFORCE : zone.mode());
  if (!SSL_CTX_set_session_id_context(ctx.get(), sid_ctx.data(), sid_ctx.size())) {
    return absl::InternalError(absl::StrCat("session id context: ", SslError()));
  }
  return ctx;
}

}  // namespace certgate::edge
