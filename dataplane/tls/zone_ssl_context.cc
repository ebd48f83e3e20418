#include "dataplane/tls/zone_ssl_context.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/pem.h"
#include "common/zone_defaults.h"
#include "dataplane/tls/alpn_selection.h"
#include "dataplane/tls/certificate_pool.h"
#include "dataplane/tls/session_binding.h"
#include "dataplane/tls/ssl_error.h"
#include "dataplane/tls/zone_trust.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/nid.h"
#include "openssl/obj.h"
#include "openssl/pool.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace certgate::edge {

namespace {

// The CertificateRequest must fit in one handshake message that every client
// accepts; 16 KiB of names leaves ample room under the 64 KiB limits.
constexpr size_t kMaxCaNamesBytes = 16 * 1024;

constexpr char kUsableKeys[] =
    "RSA of 2048 to 16384 bits, ECDSA on P-256, P-384 or P-521, or Ed25519";

// CheckServerKey: BoringSSL's TLS server loads some keys it can never sign a
// handshake with (an ECDSA key on P-224 has no TLS 1.3 signature algorithm)
// and refuses others only when the chain is set (DSA). Both fail here, with
// the key's type in the message.
absl::Status CheckServerKey(const EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_RSA: {
      unsigned bits = EVP_PKEY_bits(key);
      if (bits < 2048 || bits > 16384) {
        return absl::InvalidArgumentError(absl::StrCat(
            "server key: RSA of ", bits, " bits cannot be used (use ", kUsableKeys, ")"));
      }
      return absl::OkStatus();
    }
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      const EC_GROUP* group = ec != nullptr ? EC_KEY_get0_group(ec) : nullptr;
      int curve = group != nullptr ? EC_GROUP_get_curve_name(group) : NID_undef;
      if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1 || curve == NID_secp521r1) {
        return absl::OkStatus();
      }
      const char* name = curve != NID_undef ? OBJ_nid2sn(curve) : nullptr;
      return absl::InvalidArgumentError(
          absl::StrCat("server key: ECDSA on curve ", name != nullptr ? name : "unknown",
                       " cannot be used for TLS (use ", kUsableKeys, ")"));
    }
    case EVP_PKEY_ED25519:
      return absl::OkStatus();
    case EVP_PKEY_DSA:
      return absl::InvalidArgumentError(
          absl::StrCat("server key: DSA keys cannot be used for TLS (use ", kUsableKeys, ")"));
    default:
      return absl::InvalidArgumentError(absl::StrCat("server key: key type ", EVP_PKEY_id(key),
                                                     " cannot be used for TLS (use ", kUsableKeys,
                                                     ")"));
  }
}

struct ServerIdentity {
  std::vector<bssl::UniquePtr<X509>> chain;
  bssl::UniquePtr<EVP_PKEY> key;
};

absl::StatusOr<ServerIdentity> ParseServerIdentity(const v1::EdgeZone& zone) {
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
  if (absl::Status usable = CheckServerKey(key->get()); !usable.ok()) {
    return usable;
  }
  return ServerIdentity{*std::move(chain), *std::move(key)};
}

}  // namespace

absl::Status CheckZoneServerIdentity(const v1::EdgeZone& zone) {
  absl::StatusOr<ServerIdentity> identity = ParseServerIdentity(zone);
  if (!identity.ok()) {
    return identity.status();
  }
  // The leaf's public key against the key: what SSL_CTX_set_chain_and_key
  // checks, without the context.
  bssl::UniquePtr<EVP_PKEY> leaf_key(X509_get_pubkey(identity->chain.front().get()));
  if (leaf_key == nullptr || EVP_PKEY_cmp(leaf_key.get(), identity->key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("server key does not match the certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<bssl::UniquePtr<SSL_CTX>> NewZoneSslContext(const v1::EdgeZone& zone,
                                                           const ZoneTrust& trust) {
  absl::StatusOr<ServerIdentity> identity = ParseServerIdentity(zone);
  if (!identity.ok()) {
    return identity.status();
  }
  std::vector<bssl::UniquePtr<X509>>* chain = &identity->chain;
  bssl::UniquePtr<EVP_PKEY>* key = &identity->key;

  // Buffers only, like TlsServer's base context: the edge reads client
  // certificates as DER, so BoringSSL need not parse them into X509 too.
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_with_buffers_method()));
  if (!ctx) {
    return absl::ResourceExhaustedError("SSL_CTX_new failed");
  }
  if (!SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION)) {
    return absl::InternalError(absl::StrCat("TLS versions: ", PopSslErrorReason()));
  }
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> chain_buffers;
  std::vector<CRYPTO_BUFFER*> chain_pointers;
  for (const bssl::UniquePtr<X509>& cert : *chain) {
    std::string der = CertificateToDer(cert.get());
    if (der.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("server chain: ", PopSslErrorReason()));
    }
    // From the shared pool: the zone's config holds these same bytes.
    chain_buffers.emplace_back(CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()),
                                                 der.size(), SharedCertificatePool()));
    if (!chain_buffers.back()) {
      return absl::ResourceExhaustedError("out of memory");
    }
    chain_pointers.push_back(chain_buffers.back().get());
  }
  // Also checks that the key belongs to the leaf.
  if (!SSL_CTX_set_chain_and_key(ctx.get(), chain_pointers.data(), chain_pointers.size(),
                                 key->get(), nullptr)) {
    uint32_t error = ERR_peek_last_error();
    if ((ERR_GET_LIB(error) == ERR_LIB_X509 &&
         ERR_GET_REASON(error) == X509_R_KEY_VALUES_MISMATCH) ||
        (ERR_GET_LIB(error) == ERR_LIB_SSL &&
         ERR_GET_REASON(error) == SSL_R_CERTIFICATE_AND_PRIVATE_KEY_MISMATCH)) {
      ERR_clear_error();
      return absl::InvalidArgumentError("server key does not match the certificate");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("server certificate and key cannot be used for TLS: ", PopSslErrorReason()));
  }

  // No verify settings here: SSL_set_SSL_CTX does not copy them, so
  // TlsServer sets them on each SSL when it switches it to this context
  // (requested, not required; none in mode off). This layer stays below the
  // handshake code.
  if (zone.mode() != v1::MODE_OFF) {
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

  // BoringSSL negotiates ALPN after the select-certificate callback, with
  // the callback of the context that callback switched to (SSL_set_SSL_CTX
  // replaces ssl->ctx): each zone offers h2 or not on its own.
  InstallAlpnSelection(ctx.get(), !zone.http2_disabled());

  auto sid_ctx = SessionBinding::SessionIdContext(zone.id(), zone.trust_version(),
                                                  ZoneDefaults::EffectiveMode(zone.mode()));
  if (!SSL_CTX_set_session_id_context(ctx.get(), sid_ctx.data(), sid_ctx.size())) {
    return absl::InternalError(absl::StrCat("session id context: ", PopSslErrorReason()));
  }
  return ctx;
}

}  // namespace certgate::edge
