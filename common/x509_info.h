#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "openssl/base.h"

namespace certgate {

// Pure helpers over BoringSSL's X509; none of them take ownership.

// NameToRfc4514 formats a distinguished name as RFC 4514 (most significant RDN
// last, as `openssl x509 -nameopt RFC2253` prints it).
std::string NameToRfc4514(const X509_NAME* name);
// NameToDer returns the DER of a name (the key revocations use for issuers).
std::string NameToDer(const X509_NAME* name);

// Hex helpers: lowercase, no separators.
std::string HexEncode(absl::string_view bytes);
// SerialHex: the serial as lowercase hex without leading zeros ("0" for zero,
// "-" in front of a (malformed) negative serial).
std::string SerialHex(const X509* cert);
// NormalizeSerialHex accepts `0x`, colons and upper case; INVALID_ARGUMENT on
// anything that is not a positive hex number of at most 20 bytes.
absl::StatusOr<std::string> NormalizeSerialHex(absl::string_view text);

// SubjectKeyIdHex / AuthorityKeyIdHex: "" when the extension is absent.
std::string SubjectKeyIdHex(const X509* cert);
std::string AuthorityKeyIdHex(const X509* cert);
// FingerprintHex: "sha256" or "sha1" digest of the DER.
std::string Sha256FingerprintHex(const X509* cert);
std::string Sha1FingerprintHex(const X509* cert);

// Validity as seconds since the Unix epoch.
int64_t NotBeforeUnix(const X509* cert);
int64_t NotAfterUnix(const X509* cert);

// IsCaCertificate: basicConstraints CA:TRUE, and keyCertSign when key usage
// is present.
bool IsCaCertificate(const X509* cert);

// ValidateCaCertificate checks an uploaded root or intermediate: a CA (see
// IsCaCertificate), within its validity period at `now_unix`, DER at most 64
// KiB. The error names the certificate by its quoted RFC 4514 subject and says
// what is wrong, e.g. "\"CN=device-1\" is not a CA certificate (basicConstraints
// CA:FALSE)" or "\"CN=Old Root\" expired on 2020-01-01T00:00:00Z".
absl::Status ValidateCaCertificate(const X509* cert, int64_t now_unix);

// DnsNames returns the dNSName SANs of a certificate.
std::vector<std::string> DnsNames(const X509* cert);

// CertificateCoversHostname: a SAN dNSName (or, without any SAN, the CN)
// matches `hostname`; `*.x` in the certificate covers one label, and a
// wildcard hostname `*.x` is covered only by a `*.x` name.
bool CertificateCoversHostname(const X509* cert, absl::string_view hostname);

// RFC 3339 in UTC, e.g. "2026-11-27T12:00:00Z".
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace certgate
