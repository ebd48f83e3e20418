#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cert_factory.h"
#include "openssl/base.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::controlplane {

// IssuedCertificate: a server certificate chain (leaf first) and its key.
struct IssuedCertificate {
  std::string chain_pem;
  std::string key_pem;
};

// EdgeCa signs server certificates for zones whose tenant uploaded none, so a
// new zone works at once, and the client certificates edges present to https
// origins. Its key (ECDSA P-256) lives in `dir`, mode 0600.
class EdgeCa {
 public:
  // LoadOrCreate reads edge-ca.pem and edge-ca.key from `dir`, creating
  // both (and the directory) on first start.
  static absl::StatusOr<std::unique_ptr<EdgeCa>> LoadOrCreate(const std::string& dir);

  // Issue makes a fresh key and a certificate for `hostname` (a wildcard
  // hostname gets a wildcard name).
  absl::StatusOr<IssuedCertificate> Issue(absl::string_view hostname) const;

  // IssueOriginClient makes a fresh key and a client certificate (clientAuth
  // EKU) that edges present to the zone's https origin: its only DNS SAN
  // (and CN) is the zone's `hostname` (`*.x` for a wildcard zone), so an
  // origin that trusts this CA can also tell which zone a request is for.
  // Valid for `days` from now.
  absl::StatusOr<IssuedCertificate> IssueOriginClient(absl::string_view hostname, int days) const;

  const std::string& certificate_pem() const { return certificate_pem_; }

 private:
  // IssueLeaf: a fresh P-256 key and a certificate for `hostname` (CN and
  // the only DNS name) with the usage and validity of `spec`, signed by this CA.
  absl::StatusOr<IssuedCertificate> IssueLeaf(absl::string_view hostname,
                                              CertificateSpec spec) const;

  EdgeCa(bssl::UniquePtr<X509> cert, bssl::UniquePtr<EVP_PKEY> key, std::string pem)
      : cert_(std::move(cert)), key_(std::move(key)), certificate_pem_(std::move(pem)) {}
  bssl::UniquePtr<X509> cert_;
  bssl::UniquePtr<EVP_PKEY> key_;
  std::string certificate_pem_;
};

}  // namespace certgate::controlplane
