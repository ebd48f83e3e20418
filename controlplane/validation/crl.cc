#include "controlplane/validation/crl.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "openssl/bn.h"
#include "openssl/err.h"
#include "openssl/mem.h"
#include "openssl/sha.h"
#include "openssl/x509.h"

namespace certgate::controlplane {
namespace {

int64_t TimeToUnix(const ASN1_TIME* time) {
  if (time == nullptr) {
    return 0;
  }
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (epoch == nullptr || ASN1_TIME_diff(&days, &seconds, epoch.get(), time) != 1) {
    return 0;
  }
  return static_cast<int64_t>(days) * 86400 + seconds;
}

std::string IntegerToHex(const ASN1_INTEGER* serial) {
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr || BN_is_zero(bn.get())) {
    return "0";
  }
  char* hex = BN_bn2hex(bn.get());
  std::string result = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  size_t first = result.find_first_not_of('0');
  return first == std::string::npos ? "0" : result.substr(first);
}

}  // namespace

std::string RevocationId(absl::string_view source, absl::string_view issuer_der,
                         absl::string_view serial_hex) {
  std::string input = absl::StrCat(source, "\n", issuer_der, "\n", serial_hex);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest);
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

absl::StatusOr<ParsedCrl> ParseZoneCrl(absl::string_view data, const certgate::v1::Zone& zone,
                                       int64_t now_unix) {
  if (data.empty()) {
    return absl::InvalidArgumentError("no CRL given");
  }
  ASSIGN_OR_RETURN(bssl::UniquePtr<X509_CRL> crl, ParseCrl(data));
  const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
  std::string issuer_der = NameToDer(issuer);
  std::string issuer_text = NameToRfc4514(issuer);

  bool signed_by_zone = false;
  bool issuer_known = false;
  auto try_cas = [&](const auto& cas) {
    for (const certgate::v1::CaCertificate& ca : cas) {
      if (signed_by_zone) {
        return;
      }
      absl::StatusOr<bssl::UniquePtr<X509>> cert = CertificateFromDer(ca.der());
      if (!cert.ok() || NameToDer(X509_get_subject_name(cert->get())) != issuer_der) {
        continue;
      }
      issuer_known = true;
      bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert->get()));
      if (key != nullptr && X509_CRL_verify(crl.get(), key.get()) == 1) {
        signed_by_zone = true;
      }
      ERR_clear_error();
    }
  };
  try_cas(zone.roots());
  try_cas(zone.intermediates());
  if (!signed_by_zone) {
    if (issuer_known) {
      return absl::InvalidArgumentError(absl::StrCat("CRL signature does not verify with ",
                                                     issuer_text, " of zone ", zone.hostname()));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "CRL issuer ", issuer_text, " is not a root or intermediate of zone ", zone.hostname()));
  }

  int der_len = i2d_X509_CRL(crl.get(), nullptr);
  std::string der(der_len > 0 ? der_len : 0, '\0');
  uint8_t* out = reinterpret_cast<uint8_t*>(der.data());
  i2d_X509_CRL(crl.get(), &out);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);

  ParsedCrl parsed;
  parsed.info.set_id(
      HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)))
          .substr(0, 16));
  parsed.info.set_der(der);
  parsed.info.set_issuer(issuer_text);
  parsed.info.set_this_update_unix(TimeToUnix(X509_CRL_get0_lastUpdate(crl.get())));
  parsed.info.set_next_update_unix(TimeToUnix(X509_CRL_get0_nextUpdate(crl.get())));
  std::string source = absl::StrCat("crl:", parsed.info.id());
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (size_t i = 0; revoked != nullptr && i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
    certgate::v1::Revocation revocation;
    revocation.set_serial_hex(IntegerToHex(X509_REVOKED_get0_serialNumber(entry)));
    revocation.set_issuer_name_der(issuer_der);
    revocation.set_issuer(issuer_text);
    revocation.set_source(source);
    revocation.set_created_unix(now_unix);
    revocation.set_id(RevocationId(source, issuer_der, revocation.serial_hex()));
    parsed.revocations.push_back(std::move(revocation));
  }
  parsed.info.set_revoked_count(static_cast<int32_t>(parsed.revocations.size()));
  return parsed;
}

}  // namespace certgate::controlplane
