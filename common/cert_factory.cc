#include "common/cert_factory.h"

#include <arpa/inet.h>

#include <cstdint>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/names.h"
#include "common/x509_info.h"
#include "openssl/asn1.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/digest.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/nid.h"
#include "openssl/obj.h"
#include "openssl/pem.h"
#include "openssl/rand.h"
#include "openssl/rsa.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate {
namespace {

constexpr int64_t kClockSkewSeconds = 5 * 60;
constexpr int64_t kSecondsPerDay = 86400;
// Certificates and CRLs may be valid for at most 100 years.
constexpr int kMaxDays = 36500;

absl::Status Internal(absl::string_view what) {
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, " failed"));
}

bool IsP384(const EVP_PKEY* key) {
  if (EVP_PKEY_id(key) != EVP_PKEY_EC) {
    return false;
  }
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  return ec != nullptr && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_secp384r1;
}

const EVP_MD* DigestFor(const EVP_PKEY* signing_key) {
  return IsP384(signing_key) ? EVP_sha384() : EVP_sha256();
}

// KeyIdOf is RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
std::string KeyIdOf(const X509* cert) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
  if (bits == nullptr) {
    return "";
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(ASN1_STRING_get0_data(bits), static_cast<size_t>(ASN1_STRING_length(bits)), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

// IssuerKeyId: the issuer's own SKI when it has one (what verifiers match the
// AKI against), else computed from its key.
std::string IssuerKeyId(const X509* issuer) {
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(issuer, NID_subject_key_identifier, nullptr, nullptr)));
  if (ski != nullptr && ASN1_STRING_length(ski.get()) > 0) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski.get())),
                       static_cast<size_t>(ASN1_STRING_length(ski.get())));
  }
  return KeyIdOf(issuer);
}

bssl::UniquePtr<ASN1_INTEGER> RandomSerial() {
  uint8_t bytes[16];
  do {
    RAND_bytes(bytes, sizeof(bytes));
    bytes[0] &= 0x7f;       // positive
  } while (bytes[0] == 0);  // keep 16 bytes of entropy-bearing length, non-zero
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (bn == nullptr) {
    return nullptr;
  }
  return bssl::UniquePtr<ASN1_INTEGER>(BN_to_ASN1_INTEGER(bn.get(), nullptr));
}

bool SetTime(int64_t unix_seconds, bssl::UniquePtr<ASN1_TIME>* out) {
  // ASN1_TIME_set picks UTCTime through 2049, GeneralizedTime after (RFC 5280).
  out->reset(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)));
  return *out != nullptr;
}

absl::Status AddExtension(X509* cert, int nid, void* value, bool critical, absl::string_view what) {
  if (!X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE)) {
    return Internal(absl::StrCat("adding ", what));
  }
  return absl::OkStatus();
}

absl::Status AddGeneralName(GENERAL_NAMES* names, int type, absl::string_view value,
                            absl::string_view what) {
  bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (name == nullptr) {
    return Internal("GENERAL_NAME_new");
  }
  if (type == GEN_IPADD) {
    uint8_t addr[16];
    size_t len = 0;
    std::string text(value);
    if (inet_pton(AF_INET, text.c_str(), addr) == 1) {
      len = 4;
    } else if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
      len = 16;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("IP SAN \"", value, "\" is not an IPv4 or IPv6 address"));
    }
    bssl::UniquePtr<ASN1_OCTET_STRING> octets(ASN1_OCTET_STRING_new());
    if (octets == nullptr || !ASN1_OCTET_STRING_set(octets.get(), addr, static_cast<int>(len))) {
      return Internal("ASN1_OCTET_STRING_set");
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets.release());
  } else {
    if (!IsPrintableAscii(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " SAN \"", value, "\" must be non-empty printable ASCII without spaces"));
    }
    bssl::UniquePtr<ASN1_IA5STRING> ia5(ASN1_IA5STRING_new());
    if (ia5 == nullptr ||
        !ASN1_STRING_set(ia5.get(), value.data(), static_cast<int>(value.size()))) {
      return Internal("ASN1_STRING_set");
    }
    GENERAL_NAME_set0_value(name.get(), type, ia5.release());
  }
  if (!sk_GENERAL_NAME_push(names, name.get())) {
    return Internal("sk_GENERAL_NAME_push");
  }
  name.release();
  return absl::OkStatus();
}

absl::Status SetNameEntry(X509_NAME* name, int nid, absl::string_view value,
                          absl::string_view what) {
  if (value.empty()) {
    return absl::OkStatus();
  }
  // Replace any existing entry (a CSR's CN overridden by the spec).
  int index;
  while ((index = X509_NAME_get_index_by_NID(name, nid, -1)) >= 0) {
    bssl::UniquePtr<X509_NAME_ENTRY> removed(X509_NAME_delete_entry(name, index));
  }
  if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                  reinterpret_cast<const uint8_t*>(value.data()),
                                  static_cast<int>(value.size()), -1, 0)) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid (UTF-8, at most 64 characters)"));
  }
  return absl::OkStatus();
}

// CheckIssuer: a signer must be a CA whose certificate matches its key.
absl::Status CheckIssuer(const X509* issuer, EVP_PKEY* issuer_key) {
  if (issuer_key == nullptr) {
    return absl::InvalidArgumentError("no issuer key");
  }
  if (!IsCaCertificate(issuer)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "issuer \"", NameToRfc4514(X509_get_subject_name(issuer)), "\" is not a CA certificate"));
  }
  if (!X509_check_private_key(const_cast<X509*>(issuer), issuer_key)) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("issuer key does not match the certificate \"",
                                                   NameToRfc4514(X509_get_subject_name(issuer)),
                                                   "\""));
  }
  return absl::OkStatus();
}

// Issue builds and signs a certificate for `subject_key` named `subject`.
absl::StatusOr<bssl::UniquePtr<X509>> Issue(const CertificateSpec& spec, X509_NAME* subject,
                                            EVP_PKEY* subject_key, const X509* issuer,
                                            EVP_PKEY* issuer_key) {
  if (subject_key == nullptr) {
    return absl::InvalidArgumentError("no subject key");
  }
  if (issuer != nullptr) {
    absl::Status status = CheckIssuer(issuer, issuer_key);
    if (!status.ok()) {
      return status;
    }
  } else if (issuer_key != nullptr && EVP_PKEY_cmp(subject_key, issuer_key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "a self-signed certificate must be signed with its own key (no issuer certificate "
        "given)");
  }
  EVP_PKEY* signing_key = issuer != nullptr ? issuer_key : subject_key;
  if (X509_NAME_entry_count(subject) == 0) {
    return absl::InvalidArgumentError("certificate needs a common name or organization");
  }
  int64_t not_before = spec.not_before_unix != 0
                           ? spec.not_before_unix
                           : absl::ToUnixSeconds(absl::Now()) - kClockSkewSeconds;
  int64_t not_after = spec.not_after_unix;
  if (not_after == 0) {
    if (spec.days <= 0 || spec.days > kMaxDays) {
      return absl::InvalidArgumentError(
          absl::StrCat("days must be from 1 to ", kMaxDays, "; got ", spec.days));
    }
    not_after = not_before + static_cast<int64_t>(spec.days) * kSecondsPerDay;
  }
  if (not_after <= not_before) {
    return absl::InvalidArgumentError(absl::StrCat("not_after (", FormatRfc3339(not_after),
                                                   ") must be after not_before (",
                                                   FormatRfc3339(not_before), ")"));
  }

  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<ASN1_INTEGER> serial = RandomSerial();
  bssl::UniquePtr<ASN1_TIME> start;
  bssl::UniquePtr<ASN1_TIME> end;
  if (cert == nullptr || serial == nullptr || !SetTime(not_before, &start) ||
      !SetTime(not_after, &end) || !X509_set_version(cert.get(), X509_VERSION_3) ||
      !X509_set_serialNumber(cert.get(), serial.get()) ||
      !X509_set_subject_name(cert.get(), subject) ||
      !X509_set_issuer_name(cert.get(),
                            issuer != nullptr ? X509_get_subject_name(issuer) : subject) ||
      !X509_set1_notBefore(cert.get(), start.get()) || !X509_set1_notAfter(cert.get(), end.get()) ||
      !X509_set_pubkey(cert.get(), subject_key)) {
    return Internal("building the certificate");
  }

  bssl::UniquePtr<BASIC_CONSTRAINTS> constraints(BASIC_CONSTRAINTS_new());
  if (constraints == nullptr) {
    return Internal("BASIC_CONSTRAINTS_new");
  }
  constraints->ca = spec.is_ca ? 0xff : 0;
  if (spec.is_ca && spec.path_len >= 0) {
    constraints->pathlen = ASN1_INTEGER_new();
    if (constraints->pathlen == nullptr || !ASN1_INTEGER_set(constraints->pathlen, spec.path_len)) {
      return Internal("ASN1_INTEGER_set");
    }
  }
  absl::Status status =
      AddExtension(cert.get(), NID_basic_constraints, constraints.get(), true, "basicConstraints");
  if (!status.ok()) {
    return status;
  }

  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  if (usage == nullptr) {
    return Internal("ASN1_BIT_STRING_new");
  }
  // Bit numbers from RFC 5280 4.2.1.3.
  constexpr int kDigitalSignature = 0;
  constexpr int kKeyEncipherment = 2;
  constexpr int kKeyCertSign = 5;
  constexpr int kCrlSign = 6;
  std::vector<int> bits;
  if (spec.is_ca) {
    bits = {kKeyCertSign, kCrlSign};
  } else {
    bits = {kDigitalSignature};
    if (EVP_PKEY_id(subject_key) == EVP_PKEY_RSA) {
      bits.push_back(kKeyEncipherment);
    }
  }
  for (int bit : bits) {
    if (!ASN1_BIT_STRING_set_bit(usage.get(), bit, 1)) {
      return Internal("ASN1_BIT_STRING_set_bit");
    }
  }
  status = AddExtension(cert.get(), NID_key_usage, usage.get(), true, "keyUsage");
  if (!status.ok()) {
    return status;
  }

  if (spec.client_auth || spec.server_auth) {
    bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
    if (eku == nullptr) {
      return Internal("sk_ASN1_OBJECT_new_null");
    }
    if (spec.server_auth && !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth))) {
      return Internal("sk_ASN1_OBJECT_push");
    }
    if (spec.client_auth && !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_client_auth))) {
      return Internal("sk_ASN1_OBJECT_push");
    }
    status = AddExtension(cert.get(), NID_ext_key_usage, eku.get(), false, "extendedKeyUsage");
    if (!status.ok()) {
      return status;
    }
  }

  std::string key_id = KeyIdOf(cert.get());
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
  if (ski == nullptr || key_id.empty() ||
      !ASN1_OCTET_STRING_set(ski.get(), reinterpret_cast<const uint8_t*>(key_id.data()),
                             static_cast<int>(key_id.size()))) {
    return Internal("computing the subject key identifier");
  }
  status = AddExtension(cert.get(), NID_subject_key_identifier, ski.get(), false,
                        "subjectKeyIdentifier");
  if (!status.ok()) {
    return status;
  }

  std::string authority_id = issuer != nullptr ? IssuerKeyId(issuer) : key_id;
  bssl::UniquePtr<AUTHORITY_KEYID> aki(AUTHORITY_KEYID_new());
  if (aki == nullptr || (aki->keyid = ASN1_OCTET_STRING_new()) == nullptr ||
      !ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const uint8_t*>(authority_id.data()),
                             static_cast<int>(authority_id.size()))) {
    return Internal("building the authority key identifier");
  }
  status = AddExtension(cert.get(), NID_authority_key_identifier, aki.get(), false,
                        "authorityKeyIdentifier");
  if (!status.ok()) {
    return status;
  }

  bssl::UniquePtr<GENERAL_NAMES> sans(sk_GENERAL_NAME_new_null());
  if (sans == nullptr) {
    return Internal("sk_GENERAL_NAME_new_null");
  }
  for (const std::string& dns : spec.dns_names) {
    status = AddGeneralName(sans.get(), GEN_DNS, dns, "DNS");
    if (!status.ok()) {
      return status;
    }
  }
  for (const std::string& uri : spec.uris) {
    status = AddGeneralName(sans.get(), GEN_URI, uri, "URI");
    if (!status.ok()) {
      return status;
    }
  }
  for (const std::string& email : spec.emails) {
    status = AddGeneralName(sans.get(), GEN_EMAIL, email, "email");
    if (!status.ok()) {
      return status;
    }
  }
  for (const std::string& ip : spec.ips) {
    status = AddGeneralName(sans.get(), GEN_IPADD, ip, "IP");
    if (!status.ok()) {
      return status;
    }
  }
  if (sk_GENERAL_NAME_num(sans.get()) > 0) {
    status = AddExtension(cert.get(), NID_subject_alt_name, sans.get(), false, "subjectAltName");
    if (!status.ok()) {
      return status;
    }
  }

  if (!X509_sign(cert.get(), signing_key, DigestFor(signing_key))) {
    return Internal("signing the certificate");
  }
  return cert;
}

absl::StatusOr<bssl::UniquePtr<X509_REQ>> ParseCsr(absl::string_view pem_or_der) {
  bssl::UniquePtr<X509_REQ> req;
  if (absl::StrContains(pem_or_der, "-----BEGIN")) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem_or_der.data(), pem_or_der.size()));
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(pem_or_der.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(pem_or_der.size())));
    if (req != nullptr &&
        p != reinterpret_cast<const uint8_t*>(pem_or_der.data()) + pem_or_der.size()) {
      return absl::InvalidArgumentError("CSR: trailing bytes after the DER");
    }
  }
  if (req == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "CSR: not a PEM \"CERTIFICATE REQUEST\" or DER certificate request");
  }
  return req;
}

}  // namespace

absl::StatusOr<KeyType> ParseKeyType(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "ec-p256") {
    return KeyType::kEcP256;
  }
  if (lower == "ec-p384") {
    return KeyType::kEcP384;
  }
  if (lower == "rsa-2048") {
    return KeyType::kRsa2048;
  }
  if (lower == "rsa-3072") {
    return KeyType::kRsa3072;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key type \"", name, "\" (use ec-p256, ec-p384, rsa-2048 or rsa-3072)"));
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (key == nullptr) {
    return Internal("EVP_PKEY_new");
  }
  switch (type) {
    case KeyType::kEcP256:
    case KeyType::kEcP384: {
      bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(
          type == KeyType::kEcP256 ? NID_X9_62_prime256v1 : NID_secp384r1));
      if (ec == nullptr || !EC_KEY_generate_key(ec.get()) ||
          !EVP_PKEY_assign_EC_KEY(key.get(), ec.get())) {
        return Internal("generating an EC key");
      }
      ec.release();  // owned by key now
      return key;
    }
    case KeyType::kRsa2048:
    case KeyType::kRsa3072: {
      bssl::UniquePtr<RSA> rsa(RSA_new());
      bssl::UniquePtr<BIGNUM> e(BN_new());
      if (rsa == nullptr || e == nullptr || !BN_set_word(e.get(), RSA_F4) ||
          !RSA_generate_key_ex(rsa.get(), type == KeyType::kRsa2048 ? 2048 : 3072, e.get(),
                               nullptr) ||
          !EVP_PKEY_assign_RSA(key.get(), rsa.get())) {
        return Internal("generating an RSA key");
      }
      rsa.release();  // owned by key now
      return key;
    }
  }
  return absl::InvalidArgumentError("unknown key type");
}

absl::StatusOr<bssl::UniquePtr<X509>> IssueCertificate(const CertificateSpec& spec,
                                                       EVP_PKEY* subject_key, const X509* issuer,
                                                       EVP_PKEY* issuer_key) {
  bssl::UniquePtr<X509_NAME> subject(X509_NAME_new());
  if (subject == nullptr) {
    return Internal("X509_NAME_new");
  }
  absl::Status status =
      SetNameEntry(subject.get(), NID_commonName, spec.common_name, "common name");
  if (!status.ok()) {
    return status;
  }
  status = SetNameEntry(subject.get(), NID_organizationName, spec.organization, "organization");
  if (!status.ok()) {
    return status;
  }
  return Issue(spec, subject.get(), subject_key, issuer, issuer_key);
}

absl::StatusOr<bssl::UniquePtr<X509>> SignCsr(absl::string_view csr_pem_or_der,
                                              const CertificateSpec& spec, const X509* issuer,
                                              EVP_PKEY* issuer_key) {
  if (issuer == nullptr) {
    return absl::InvalidArgumentError("signing a CSR needs an issuer certificate");
  }
  auto req = ParseCsr(csr_pem_or_der);
  if (!req.ok()) {
    return req.status();
  }
  bssl::UniquePtr<EVP_PKEY> public_key(X509_REQ_get_pubkey(req->get()));
  if (public_key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CSR: unsupported or malformed public key");
  }
  if (X509_REQ_verify(req->get(), public_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CSR: its signature does not verify");
  }
  bssl::UniquePtr<X509_NAME> subject(X509_NAME_dup(X509_REQ_get_subject_name(req->get())));
  if (subject == nullptr) {
    return Internal("X509_NAME_dup");
  }
  absl::Status status =
      SetNameEntry(subject.get(), NID_commonName, spec.common_name, "common name");
  if (!status.ok()) {
    return status;
  }
  return Issue(spec, subject.get(), public_key.get(), issuer, issuer_key);
}

absl::StatusOr<bssl::UniquePtr<X509_CRL>> IssueCrl(const X509* issuer, EVP_PKEY* issuer_key,
                                                   const std::vector<std::string>& serials_hex,
                                                   int days) {
  if (issuer == nullptr) {
    return absl::InvalidArgumentError("a CRL needs an issuer certificate");
  }
  absl::Status status = CheckIssuer(issuer, issuer_key);
  if (!status.ok()) {
    return status;
  }
  if (days <= 0 || days > kMaxDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("days must be from 1 to ", kMaxDays, "; got ", days));
  }
  std::set<std::string> serials;
  for (const std::string& text : serials_hex) {
    auto normalized = NormalizeSerialHex(text);
    if (!normalized.ok()) {
      return normalized.status();
    }
    serials.insert(*normalized);
  }
  int64_t now = absl::ToUnixSeconds(absl::Now());
  bssl::UniquePtr<X509_CRL> crl(X509_CRL_new());
  bssl::UniquePtr<ASN1_TIME> this_update;
  bssl::UniquePtr<ASN1_TIME> next_update;
  bssl::UniquePtr<ASN1_TIME> revoked_at;
  if (crl == nullptr || !SetTime(now - kClockSkewSeconds, &this_update) ||
      !SetTime(now + static_cast<int64_t>(days) * kSecondsPerDay, &next_update) ||
      !SetTime(now, &revoked_at) || !X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) ||
      !X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)) ||
      !X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) ||
      !X509_CRL_set1_nextUpdate(crl.get(), next_update.get())) {
    return Internal("building the CRL");
  }
  for (const std::string& hex : serials) {
    BIGNUM* raw = nullptr;
    if (!BN_hex2bn(&raw, hex.c_str())) {
      return Internal("BN_hex2bn");
    }
    bssl::UniquePtr<BIGNUM> bn(raw);
    bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    bssl::UniquePtr<X509_REVOKED> revoked(X509_REVOKED_new());
    if (serial == nullptr || revoked == nullptr ||
        !X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) ||
        !X509_REVOKED_set_revocationDate(revoked.get(), revoked_at.get()) ||
        !X509_CRL_add0_revoked(crl.get(), revoked.get())) {
      return Internal("adding a revoked serial");
    }
    revoked.release();  // owned by the CRL now
  }

  std::string authority_id = IssuerKeyId(issuer);
  bssl::UniquePtr<AUTHORITY_KEYID> aki(AUTHORITY_KEYID_new());
  if (aki == nullptr || (aki->keyid = ASN1_OCTET_STRING_new()) == nullptr ||
      !ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const uint8_t*>(authority_id.data()),
                             static_cast<int>(authority_id.size())) ||
      !X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, aki.get(), 0,
                             X509V3_ADD_REPLACE)) {
    return Internal("adding the CRL's authority key identifier");
  }
  // cRLNumber (RFC 5280 5.2.3): the issue time, so later CRLs have larger numbers.
  bssl::UniquePtr<ASN1_INTEGER> number(ASN1_INTEGER_new());
  if (number == nullptr || !ASN1_INTEGER_set_uint64(number.get(), static_cast<uint64_t>(now)) ||
      !X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_REPLACE)) {
    return Internal("adding the CRL number");
  }
  if (!X509_CRL_sort(crl.get()) || !X509_CRL_sign(crl.get(), issuer_key, DigestFor(issuer_key))) {
    return Internal("signing the CRL");
  }
  return crl;
}

}  // namespace certgate
