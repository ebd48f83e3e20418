#include "controlplane/pki/edge_ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::controlplane {
namespace {

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::stringstream content;
  content << in.rdbuf();
  *out = content.str();
  return true;
}

absl::Status WriteNewFile(const std::string& path, const std::string& content, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  bool ok = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = fsync(fd) == 0 && ok;
  close(fd);
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EdgeCa>> EdgeCa::LoadOrCreate(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot create edge CA directory ", dir, ": ", std::strerror(errno)));
  }
  std::string cert_path = dir + "/edge-ca.pem";
  std::string key_path = dir + "/edge-ca.key";
  std::string cert_pem;
  std::string key_pem;
  if (ReadWholeFile(cert_path, &cert_pem) && ReadWholeFile(key_path, &key_pem)) {
    ASSIGN_OR_RETURN(std::vector<bssl::UniquePtr<X509>> certs, ParseCertificates(cert_pem));
    ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, ParsePrivateKey(key_pem));
    if (X509_check_private_key(certs[0].get(), key.get()) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("edge CA key ", key_path, " does not match ", cert_path));
    }
    std::string pem = CertificateToPem(certs[0].get());
    return std::unique_ptr<EdgeCa>(new EdgeCa(std::move(certs[0]), std::move(key), pem));
  }
  ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, GenerateKey(KeyType::kEcP256));
  CertificateSpec spec;
  spec.common_name = "certgate edge CA";
  spec.organization = "certgate";
  spec.is_ca = true;
  spec.path_len = 0;
  spec.days = 3650;
  ASSIGN_OR_RETURN(bssl::UniquePtr<X509> cert,
                   IssueCertificate(spec, key.get(), nullptr, key.get()));
  // Key first: a certificate without its key would be unusable.
  RETURN_IF_ERROR(WriteNewFile(key_path, PrivateKeyToPem(key.get()), 0600));
  std::string pem = CertificateToPem(cert.get());
  RETURN_IF_ERROR(WriteNewFile(cert_path, pem, 0644));
  return std::unique_ptr<EdgeCa>(new EdgeCa(std::move(cert), std::move(key), pem));
}

absl::StatusOr<IssuedCertificate> EdgeCa::Issue(absl::string_view hostname) const {
  CertificateSpec spec;
  spec.server_auth = true;
  spec.days = 397;
  return IssueLeaf(hostname, std::move(spec));
}

absl::StatusOr<IssuedCertificate> EdgeCa::IssueOriginClient(absl::string_view hostname,
                                                            int days) const {
  CertificateSpec spec;
  spec.client_auth = true;
  spec.days = days;
  return IssueLeaf(hostname, std::move(spec));
}

absl::StatusOr<IssuedCertificate> EdgeCa::IssueLeaf(absl::string_view hostname,
                                                    CertificateSpec spec) const {
  ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> key, GenerateKey(KeyType::kEcP256));
  spec.common_name = std::string(hostname);
  spec.dns_names = {std::string(hostname)};
  ASSIGN_OR_RETURN(bssl::UniquePtr<X509> leaf,
                   IssueCertificate(spec, key.get(), cert_.get(), key_.get()));
  IssuedCertificate issued;
  issued.chain_pem = CertificateToPem(leaf.get()) + certificate_pem_;
  issued.key_pem = PrivateKeyToPem(key.get());
  return issued;
}

}  // namespace certgate::controlplane
