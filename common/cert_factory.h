#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "openssl/base.h"

namespace certgate {

// Key types the PKI can make.
enum class KeyType { kEcP256, kEcP384, kRsa2048, kRsa3072 };

// ParseKeyType: "ec-p256", "ec-p384", "rsa-2048", "rsa-3072".
absl::StatusOr<KeyType> ParseKeyType(absl::string_view name);

// GenerateKey makes a fresh private key.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type);

// What a certificate should say. Subject is built from the set fields.
struct CertificateSpec {
  std::string common_name;
  std::string organization;
  int64_t not_before_unix = 0;  // 0: now minus 5 minutes (clock skew)
  int64_t not_after_unix = 0;   // 0: not_before + days
  int days = 365;
  bool is_ca = false;
  int path_len = -1;         // CA only; -1: no pathLenConstraint
  bool client_auth = false;  // extendedKeyUsage clientAuth
  bool server_auth = false;  // extendedKeyUsage serverAuth
  std::vector<std::string> dns_names;
  std::vector<std::string> uris;
  std::vector<std::string> emails;
  std::vector<std::string> ips;
};

// IssueCertificate signs a certificate for `subject_key` (its public half)
// with `issuer_key`; `issuer` null means self-signed. Sets a random 128-bit
// positive serial, SKI, AKI (from the issuer's SKI), basicConstraints
// (critical), keyUsage (critical: keyCertSign+cRLSign for a CA,
// digitalSignature (+keyEncipherment for RSA) for a leaf) and the SANs.
// Signs with SHA-256 (SHA-384 for P-384 issuers).
absl::StatusOr<bssl::UniquePtr<X509>> IssueCertificate(const CertificateSpec& spec,
                                                       EVP_PKEY* subject_key, const X509* issuer,
                                                       EVP_PKEY* issuer_key);

// SignCsr issues a certificate for the public key and subject of a PEM or DER
// CSR, after checking its self-signature; SANs and EKU come from `spec`
// (spec.common_name, if set, overrides the CSR's CN).
absl::StatusOr<bssl::UniquePtr<X509>> SignCsr(absl::string_view csr_pem_or_der,
                                              const CertificateSpec& spec, const X509* issuer,
                                              EVP_PKEY* issuer_key);

// IssueCrl makes a CRL signed by `issuer` revoking `serials_hex`, valid for
// `days` from now.
absl::StatusOr<bssl::UniquePtr<X509_CRL>> IssueCrl(const X509* issuer, EVP_PKEY* issuer_key,
                                                   const std::vector<std::string>& serials_hex,
                                                   int days);

}  // namespace certgate
