#include "cli/pki/ca_directory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/client/local_files.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "openssl/evp.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate::cli {

CaDirectory::CaDirectory(std::string dir, bssl::UniquePtr<X509> certificate,
                         bssl::UniquePtr<EVP_PKEY> key, std::vector<bssl::UniquePtr<X509>> chain)
    : dir_(std::move(dir)),
      certificate_(std::move(certificate)),
      key_(std::move(key)),
      chain_(std::move(chain)) {}

absl::StatusOr<std::unique_ptr<CaDirectory>> CaDirectory::Load(const std::string& dir) {
  std::string cert_path = JoinPath(dir, kCertificateFile);
  std::string key_path = JoinPath(dir, kKeyFile);
  std::string chain_path = JoinPath(dir, kChainFile);

  absl::StatusOr<std::string> cert_pem = ReadLocalFile(cert_path);
  if (!cert_pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " is not a CA directory: ", cert_pem.status().message()));
  }
  auto certs = ParseCertificates(*cert_pem);
  if (!certs.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_path, ": ", certs.status().message()));
  }
  if (certs->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_path, ": holds ", certs->size(), " certificates, want one"));
  }
  bssl::UniquePtr<X509> certificate = std::move((*certs)[0]);
  if (!IsCaCertificate(certificate.get())) {
    return absl::InvalidArgumentError(absl::StrCat(cert_path, " is not a CA certificate"));
  }

  absl::StatusOr<std::string> key_pem = ReadLocalFile(key_path);
  if (!key_pem.ok()) {
    return key_pem.status();
  }
  auto key = ParsePrivateKey(*key_pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key_path, ": ", key.status().message()));
  }
  if (!X509_check_private_key(certificate.get(), key->get())) {
    return absl::InvalidArgumentError(absl::StrCat(key_path, " is not the key of ", cert_path));
  }

  std::vector<bssl::UniquePtr<X509>> chain;
  if (FileExists(chain_path)) {
    absl::StatusOr<std::string> chain_pem = ReadLocalFile(chain_path);
    if (!chain_pem.ok()) {
      return chain_pem.status();
    }
    auto parsed = ParseCertificates(*chain_pem);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(chain_path, ": ", parsed.status().message()));
    }
    chain = *std::move(parsed);
  }
  return std::unique_ptr<CaDirectory>(
      new CaDirectory(dir, std::move(certificate), *std::move(key), std::move(chain)));
}

absl::Status CaDirectory::Write(const std::string& dir, const X509* certificate,
                                const EVP_PKEY* key, const std::vector<const X509*>& chain) {
  std::string key_path = JoinPath(dir, kKeyFile);
  if (FileExists(key_path)) {
    return absl::AlreadyExistsError(
        absl::StrCat(key_path, " already exists: refusing to replace a CA key"));
  }
  absl::Status made = MakeDirectories(dir, 0755);
  if (!made.ok()) {
    return made;
  }
  // The key first: a directory with a certificate but no key is useless,
  // while the reverse is obvious to repair.
  absl::Status status = WriteFileAtomically(key_path, PrivateKeyToPem(key), 0600);
  if (!status.ok()) {
    return status;
  }
  status =
      WriteFileAtomically(JoinPath(dir, kCertificateFile), CertificateToPem(certificate), 0644);
  if (!status.ok()) {
    return status;
  }
  if (!chain.empty()) {
    std::string pem;
    for (const X509* cert : chain) {
      absl::StrAppend(&pem, CertificateToPem(cert));
    }
    status = WriteFileAtomically(JoinPath(dir, kChainFile), pem, 0644);
  }
  return status;
}

std::vector<const X509*> CaDirectory::chain() const {
  std::vector<const X509*> out;
  for (const auto& cert : chain_) {
    out.push_back(cert.get());
  }
  // An intermediate made by another tool comes without chain.pem; it still
  // belongs in the chain of what it issues.
  if (out.empty() && X509_check_issued(certificate_.get(), certificate_.get()) != X509_V_OK) {
    out.push_back(certificate_.get());
  }
  return out;
}

}  // namespace certgate::cli
