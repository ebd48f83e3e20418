#include "common/x509_info.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "openssl/asn1.h"
#include "openssl/bio.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/mem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate {
namespace {

constexpr size_t kMaxCaDerBytes = 64 * 1024;

std::string BioContents(BIO* bio) {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  if (!BIO_mem_contents(bio, &contents, &len)) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(contents), len);
}

bool PrintName(const X509_NAME* name, unsigned long flags, std::string* out) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
    ERR_clear_error();
    return false;
  }
  *out = BioContents(bio.get());
  return true;
}

int64_t AsnTimeToUnix(const ASN1_TIME* time) {
  if (time == nullptr) {
    return 0;
  }
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (epoch == nullptr || !ASN1_TIME_diff(&days, &seconds, epoch.get(), time)) {
    ERR_clear_error();
    return 0;
  }
  return static_cast<int64_t>(days) * 86400 + seconds;
}

std::string DigestHex(const X509* cert, const EVP_MD* md) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!X509_digest(cert, md, digest, &len)) {
    return "";
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

size_t CertificateDerSize(const X509* cert) {
  int len = i2d_X509(const_cast<X509*>(cert), nullptr);
  return len > 0 ? static_cast<size_t>(len) : 0;
}

// Describe names a certificate in error messages by its subject.
std::string Describe(const X509* cert) {
  return absl::StrCat("\"", NameToRfc4514(X509_get_subject_name(cert)), "\"");
}

bool DnsNameMatches(absl::string_view pattern, absl::string_view hostname) {
  if (absl::EndsWith(pattern, ".")) {
    pattern.remove_suffix(1);
  }
  if (pattern.empty()) {
    return false;
  }
  if (absl::EqualsIgnoreCase(pattern, hostname)) {
    return true;
  }
  // A wildcard hostname is covered only by the same wildcard (above).
  if (absl::StartsWith(hostname, "*.") || !absl::StartsWith(pattern, "*.")) {
    return false;
  }
  absl::string_view suffix = pattern.substr(1);  // ".x"
  if (hostname.size() <= suffix.size() || !absl::EndsWithIgnoreCase(hostname, suffix)) {
    return false;
  }
  absl::string_view label = hostname.substr(0, hostname.size() - suffix.size());
  return !label.empty() && !absl::StrContains(label, '.');
}

}  // namespace

std::string NameToRfc4514(const X509_NAME* name) {
  if (name == nullptr) {
    return "";
  }
  std::string out;
  // Keep UTF-8 as is (RFC 4514 allows it); control bytes stay escaped.
  if (PrintName(name, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB, &out)) {
    return out;
  }
  if (PrintName(name, XN_FLAG_RFC2253, &out)) {
    return out;
  }
  // Strings that cannot be decoded (e.g. invalid UTF-8) are shown as #hex DER.
  if (PrintName(name, XN_FLAG_RFC2253 | ASN1_STRFLGS_DUMP_ALL, &out)) {
    return out;
  }
  return "";
}

std::string NameToDer(const X509_NAME* name) {
  uint8_t* der = nullptr;
  int len = i2d_X509_NAME(const_cast<X509_NAME*>(name), &der);
  if (len <= 0) {
    return "";
  }
  bssl::UniquePtr<uint8_t> owner(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string SerialHex(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  if (serial == nullptr) {
    return "0";
  }
  std::string hex = HexEncode(absl::string_view(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)), ASN1_STRING_length(serial)));
  size_t first = hex.find_first_not_of('0');
  if (first == std::string::npos) {
    return "0";
  }
  hex.erase(0, first);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
    hex.insert(0, "-");
  }
  return hex;
}

absl::StatusOr<std::string> NormalizeSerialHex(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  absl::string_view digits = trimmed;
  if (absl::StartsWithIgnoreCase(digits, "0x")) {
    digits.remove_prefix(2);
  }
  std::string hex;
  for (char c : digits) {
    if (c == ':') {
      continue;
    }
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat("serial \"", trimmed, "\": not a hex number"));
    }
    hex.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  if (hex.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("serial \"", trimmed, "\": empty"));
  }
  size_t first = hex.find_first_not_of('0');
  if (first == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("serial \"", trimmed, "\": must be positive, not zero"));
  }
  hex.erase(0, first);
  if (hex.size() > 40) {
    return absl::InvalidArgumentError(
        absl::StrCat("serial \"", trimmed, "\": longer than 20 bytes"));
  }
  return hex;
}

std::string SubjectKeyIdHex(const X509* cert) {
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(cert, NID_subject_key_identifier, nullptr, nullptr)));
  if (ski == nullptr) {
    return "";
  }
  return HexEncode(
      absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski.get())),
                        ASN1_STRING_length(ski.get())));
}

std::string AuthorityKeyIdHex(const X509* cert) {
  bssl::UniquePtr<AUTHORITY_KEYID> aki(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(cert, NID_authority_key_identifier, nullptr, nullptr)));
  if (aki == nullptr || aki->keyid == nullptr) {
    return "";
  }
  return HexEncode(
      absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki->keyid)),
                        ASN1_STRING_length(aki->keyid)));
}

std::string Sha256FingerprintHex(const X509* cert) { return DigestHex(cert, EVP_sha256()); }

std::string Sha1FingerprintHex(const X509* cert) { return DigestHex(cert, EVP_sha1()); }

int64_t NotBeforeUnix(const X509* cert) { return AsnTimeToUnix(X509_get0_notBefore(cert)); }

int64_t NotAfterUnix(const X509* cert) { return AsnTimeToUnix(X509_get0_notAfter(cert)); }

bool IsCaCertificate(const X509* cert) {
  // X509_get_extension_flags caches parsed extensions inside the object; it is
  // logically const and thread-safe in BoringSSL.
  X509* mutable_cert = const_cast<X509*>(cert);
  uint32_t flags = X509_get_extension_flags(mutable_cert);
  if ((flags & EXFLAG_INVALID) || !(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA)) {
    return false;
  }
  if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(mutable_cert) & KU_KEY_CERT_SIGN)) {
    return false;
  }
  return true;
}

absl::Status ValidateCaCertificate(const X509* cert, int64_t now_unix) {
  if (cert == nullptr) {
    return absl::InvalidArgumentError("no certificate");
  }
  size_t der_size = CertificateDerSize(cert);
  if (der_size > kMaxCaDerBytes) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(cert), " is too large (", der_size,
                                                   " bytes; at most ", kMaxCaDerBytes, ")"));
  }
  X509* mutable_cert = const_cast<X509*>(cert);
  uint32_t flags = X509_get_extension_flags(mutable_cert);
  if (flags & EXFLAG_INVALID) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " has malformed or duplicate extensions"));
  }
  if (!(flags & EXFLAG_BCONS)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " is not a CA certificate (no basicConstraints)"));
  }
  if (!(flags & EXFLAG_CA)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " is not a CA certificate (basicConstraints CA:FALSE)"));
  }
  if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(mutable_cert) & KU_KEY_CERT_SIGN)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " is not a CA certificate (keyUsage lacks keyCertSign)"));
  }
  int64_t not_before = NotBeforeUnix(cert);
  int64_t not_after = NotAfterUnix(cert);
  if (now_unix > not_after) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " expired on ", FormatRfc3339(not_after)));
  }
  if (now_unix < not_before) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(cert), " is not valid before ", FormatRfc3339(not_before)));
  }
  return absl::OkStatus();
}

std::vector<std::string> DnsNames(const X509* cert) {
  std::vector<std::string> names;
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans == nullptr) {
    return names;
  }
  for (size_t i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type == GEN_DNS) {
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                         ASN1_STRING_length(name->d.dNSName));
    }
  }
  return names;
}

bool CertificateCoversHostname(const X509* cert, absl::string_view hostname) {
  if (cert == nullptr || hostname.empty()) {
    return false;
  }
  std::vector<std::string> names = DnsNames(cert);
  if (names.empty() && X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) < 0) {
    // No SAN at all: fall back to the subject CN (legacy certificates).
    const X509_NAME* subject = X509_get_subject_name(cert);
    int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index >= 0) {
      const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len >= 0) {
        bssl::UniquePtr<unsigned char> owner(utf8);
        names.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
      }
    }
  }
  for (const std::string& name : names) {
    if (DnsNameMatches(name, hostname)) {
      return true;
    }
  }
  return false;
}

std::string FormatRfc3339(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace certgate
