#include "controlplane/validation/ca_certificates.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "openssl/x509.h"

namespace certgate::controlplane {

certgate::v1::CaCertificate DescribeCaCertificate(const X509* cert) {
  certgate::v1::CaCertificate info;
  info.set_fingerprint_sha256(Sha256FingerprintHex(cert));
  info.set_id(info.fingerprint_sha256().substr(0, 16));
  info.set_der(CertificateToDer(cert));
  info.set_subject(NameToRfc4514(X509_get_subject_name(cert)));
  info.set_issuer(NameToRfc4514(X509_get_issuer_name(cert)));
  info.set_ski(SubjectKeyIdHex(cert));
  info.set_not_before_unix(NotBeforeUnix(cert));
  info.set_not_after_unix(NotAfterUnix(cert));
  return info;
}

absl::StatusOr<std::vector<ParsedCaCertificate>> ParseCaCertificates(absl::string_view data,
                                                                     int64_t now_unix) {
  if (data.empty()) {
    return absl::InvalidArgumentError("no certificate given");
  }
  ASSIGN_OR_RETURN(std::vector<bssl::UniquePtr<X509>> certs, ParseCertificates(data));
  std::vector<ParsedCaCertificate> parsed;
  absl::flat_hash_set<std::string> seen;
  for (bssl::UniquePtr<X509>& cert : certs) {
    RETURN_IF_ERROR(ValidateCaCertificate(cert.get(), now_unix));
    ParsedCaCertificate entry;
    entry.info = DescribeCaCertificate(cert.get());
    if (!seen.insert(entry.info.fingerprint_sha256()).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("certificate ", entry.info.subject(), " appears twice in the upload"));
    }
    entry.cert = std::move(cert);
    parsed.push_back(std::move(entry));
  }
  return parsed;
}

}  // namespace certgate::controlplane
