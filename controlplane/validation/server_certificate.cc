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

absl::StatusOr<ChainAndKey> ParseChainAndMatchingKey(absl::string_view chain_pem,
                                                     absl::string_view key_pem,
                                                     absl::string_view what) {
  if (chain_pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " chain is empty"));
  }
  if (key_pem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " key is empty"));
  }
  ChainAndKey parsed;
  absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> chain = ParseCertificates(chain_pem);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " chain: ", chain.status().message()));
  }
  parsed.chain = std::move(*chain);
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key = ParsePrivateKey(key_pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " key: ", key.status().message()));
  }
  parsed.key = std::move(*key);
  if (X509_check_private_key(parsed.chain[0].get(), parsed.key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " key does not match the leaf certificate"));
  }
  return parsed;
}

certgate::v1::ServerCertificateInfo DescribeUploadedChain(
    const std::vector<bssl::UniquePtr<X509>>& chain) {
  certgate::v1::ServerCertificateInfo info;
  std::string normalized;
  for (const bssl::UniquePtr<X509>& cert : chain) {
    normalized += CertificateToPem(cert.get());
  }
  info.set_chain_pem(normalized);
  info.set_issued_by_edge_ca(false);
  FillInfo(chain[0].get(), &info);
  return info;
}

absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateServerCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, absl::string_view hostname) {
  ASSIGN_OR_RETURN(ChainAndKey parsed,
                   ParseChainAndMatchingKey(chain_pem, key_pem, "server certificate"));
  const X509* leaf = parsed.chain[0].get();
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
  return DescribeUploadedChain(parsed.chain);
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
