#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "openssl/base.h"

namespace certgate::cli {

// CaDirectory is a CA made by `certgate pki`: DIR/ca.pem (the CA
// certificate), DIR/ca.key (its key, mode 0600) and, for an intermediate,
// DIR/chain.pem (this CA and the intermediates above it, never the root), so
// that what it issues can be sent with the chain a verifier needs.
class CaDirectory {
 public:
  static constexpr const char* kCertificateFile = "ca.pem";
  static constexpr const char* kKeyFile = "ca.key";
  static constexpr const char* kChainFile = "chain.pem";

  // Load reads a CA directory and checks that the certificate is a CA and the
  // key is its key; INVALID_ARGUMENT naming the file and the problem.
  static absl::StatusOr<std::unique_ptr<CaDirectory>> Load(const std::string& dir);

  // Write creates `dir` if needed and writes a CA into it; `chain` is empty
  // for a root. Refuses (ALREADY_EXISTS) to replace an existing CA key.
  static absl::Status Write(const std::string& dir, const X509* certificate, const EVP_PKEY* key,
                            const std::vector<const X509*>& chain);

  X509* certificate() const { return certificate_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  // chain: the intermediates from this CA up to (excluding) the root; empty
  // when this CA is a root.
  std::vector<const X509*> chain() const;
  const std::string& dir() const { return dir_; }

 private:
  CaDirectory(std::string dir, bssl::UniquePtr<X509> certificate, bssl::UniquePtr<EVP_PKEY> key,
              std::vector<bssl::UniquePtr<X509>> chain);

  std::string dir_;
  bssl::UniquePtr<X509> certificate_;
  bssl::UniquePtr<EVP_PKEY> key_;
  std::vector<bssl::UniquePtr<X509>> chain_;
};

}  // namespace certgate::cli
