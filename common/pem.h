#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "openssl/base.h"

namespace certgate {

// ParseCertificates reads one or many certificates from PEM (CERTIFICATE
// blocks; other blocks are an error; text between blocks is ignored, as RFC
// 7468 allows) or from a single DER certificate. Returns INVALID_ARGUMENT
// naming the problem (e.g. "certificate 2 in upload: malformed PEM") when
// nothing or something malformed is found.
absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificates(absl::string_view pem_or_der);

// ParsePrivateKey reads a private key: PEM (PKCS#8, EC or RSA; an "EC
// PARAMETERS" block may precede it; encrypted keys are refused) or DER.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKey(absl::string_view pem);

// ParseCrl reads a CRL from PEM (X509 CRL block) or DER.
absl::StatusOr<bssl::UniquePtr<X509_CRL>> ParseCrl(absl::string_view pem_or_der);

// CertificateToPem / CertificateToDer / PrivateKeyToPem / CrlToPem encode.
std::string CertificateToPem(const X509* cert);
std::string CertificateToDer(const X509* cert);
std::string PrivateKeyToPem(const EVP_PKEY* key);
std::string CrlToPem(const X509_CRL* crl);

// CertificateFromDer parses exactly one DER certificate (no trailing bytes).
absl::StatusOr<bssl::UniquePtr<X509>> CertificateFromDer(absl::string_view der);

}  // namespace certgate
