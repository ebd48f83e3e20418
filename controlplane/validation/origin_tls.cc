#include "controlplane/validation/origin_tls.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "controlplane/validation/server_certificate.h"
#include "dataplane/tls/ssl_error.h"
#include "openssl/evp.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate::controlplane {
namespace {

constexpr size_t kMaxOriginCaCertificates = 64;

}  // namespace

absl::StatusOr<std::string> ValidateOriginCa(absl::string_view pem) {
  absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> certs = ParseCertificates(pem);
  if (!certs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("origin CA: ", certs.status().message()));
  }
  if (certs->size() > kMaxOriginCaCertificates) {
    return absl::InvalidArgumentError(absl::StrCat("origin CA: ", certs->size(),
                                                   " certificates; at most ",
                                                   kMaxOriginCaCertificates, " are allowed"));
  }
  std::string normalized;
  for (const bssl::UniquePtr<X509>& cert : *certs) {
    normalized += CertificateToPem(cert.get());
  }
  return normalized;
}

absl::StatusOr<std::string> ValidateOriginServerName(absl::string_view name) {
  absl::StatusOr<std::string> normalized = NormalizeHostname(name);
  if (!normalized.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("origin server name: ", normalized.status().message()));
  }
  if (IsWildcardHostname(*normalized)) {
    return absl::InvalidArgumentError(
        absl::StrCat("origin server name \"", name, "\" cannot be a wildcard"));
  }
  return normalized;
}

absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateOriginClientCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, int64_t now_unix,
    std::string* normalized_key_pem) {
  ASSIGN_OR_RETURN(ChainAndKey parsed,
                   ParseChainAndMatchingKey(chain_pem, key_pem, "origin client certificate"));
  X509* leaf = parsed.chain[0].get();
  bssl::UniquePtr<EVP_PKEY>& key = parsed.key;
  std::string subject = NameToRfc4514(X509_get_subject_name(leaf));
  if (NotAfterUnix(leaf) <= now_unix) {
    return absl::InvalidArgumentError(absl::StrCat(
        "origin client certificate ", subject, " expired at ", FormatRfc3339(NotAfterUnix(leaf))));
  }
  if (NotBeforeUnix(leaf) > now_unix + 300) {
    return absl::InvalidArgumentError(absl::StrCat("origin client certificate ", subject,
                                                   " is not valid before ",
                                                   FormatRfc3339(NotBeforeUnix(leaf))));
  }
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "origin client certificate ", subject, " does not allow clientAuth (extendedKeyUsage)"));
  }
  if (EVP_PKEY_id(key.get()) == EVP_PKEY_RSA && EVP_PKEY_bits(key.get()) < 2048) {
    return absl::InvalidArgumentError(absl::StrCat("origin client certificate key is RSA ",
                                                   EVP_PKEY_bits(key.get()),
                                                   " bits; at least 2048 are needed"));
  }
  // The edge loads the pair into a TLS client context; refuse here what it
  // would refuse there (key types BoringSSL cannot sign TLS with).
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) {
    return absl::ResourceExhaustedError("SSL_CTX_new failed");
  }
  if (!SSL_CTX_use_certificate(ctx.get(), leaf) || !SSL_CTX_use_PrivateKey(ctx.get(), key.get()) ||
      !SSL_CTX_check_private_key(ctx.get())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "origin client certificate cannot be used for TLS: ", edge::PopSslErrorReason()));
  }
  if (normalized_key_pem != nullptr) {
    *normalized_key_pem = PrivateKeyToPem(key.get());
  }
  return DescribeUploadedChain(parsed.chain);
}

}  // namespace certgate::controlplane
