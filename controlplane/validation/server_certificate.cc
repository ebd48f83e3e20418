#include "controlplane/validation/server_certificate.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "openssl/err.h"
#include "openssl/x509.h"

namespace certgate::controlplane {
namespace {

void FillInfo(const X509* leaf, certgate::v1::ServerCertificateInfo* info) {
  info->set_subject(NameToRfc4514(X509_get_subject_name(leaf)));
  for (const std::string& name : DnsNames(leaf)) {
    info->add_dns_names(name);
  }
  info->set_not_after_unix(NotAfterUnix(leaf));
}

}  // namespace

absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateServerCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, absl::string_view hostname) {
  if (chain_pem.empty()) {
    return absl::InvalidArgumentError("server certificate chain is empty");
  }
  if (key_pem.empty()) {
    return absl::InvalidArgumentError("server certificate key is empty");
  }
  absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> chain = ParseCertificates(chain_pem);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server certificate chain: ", chain.status().message()));
  }
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key = ParsePrivateKey(key_pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server certificate key: ", key.status().message()));
  }
  const X509* leaf = (*chain)[0].get();
  if (X509_check_private_key(const_cast<X509*>(leaf), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("server certificate key does not match the leaf certificate");
  }
  if (!CertificateCoversHostname(leaf, hostname)) {
    return absl::InvalidArgumentError(absl::StrCat("server certificate ",
                                                   NameToRfc4514(X509_get_subject_name(leaf)),
                                                   " does not cover ", hostname));
  }
  for (const std::string& name : DnsNames(leaf)) {
    if (!IsPrintableAscii(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("server certificate ", NameToRfc4514(X509_get_subject_name(leaf)),
                       " has a DNS name that is not printable ASCII"));
    }
  }
  certgate::v1::ServerCertificateInfo info;
  std::string normalized;
  for (const bssl::UniquePtr<X509>& cert : *chain) {
    normalized += CertificateToPem(cert.get());
  }
  info.set_chain_pem(normalized);
  info.set_issued_by_edge_ca(false);
  FillInfo(leaf, &info);
  return info;
}

absl::StatusOr<certgate::v1::ServerCertificateInfo> DescribeServerCertificate(
    absl::string_view chain_pem, bool issued_by_edge_ca) {
  ASSIGN_OR_RETURN(std::vector<bssl::UniquePtr<X509>> chain, ParseCertificates(chain_pem));
  certgate::v1::ServerCertificateInfo info;
  info.set_chain_pem(std::string(chain_pem));
  info.set_issued_by_edge_ca(issued_by_edge_ca);
  FillInfo(chain[0].get(), &info);
  return info;
}

}  // namespace certgate::controlplane
