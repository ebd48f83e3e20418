#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"
#include "openssl/base.h"

namespace certgate::controlplane {

// ChainAndKey is a parsed certificate chain (leaf first) and its key.
struct ChainAndKey {
  std::vector<bssl::UniquePtr<X509>> chain;
  bssl::UniquePtr<EVP_PKEY> key;
};

// ParseChainAndMatchingKey: both PEM texts are present and parse, and the key
// belongs to the leaf. Errors are INVALID_ARGUMENT and begin with `what`
// ("server certificate", "origin client certificate").
absl::StatusOr<ChainAndKey> ParseChainAndMatchingKey(absl::string_view chain_pem,
                                                     absl::string_view key_pem,
                                                     absl::string_view what);

// DescribeUploadedChain: the description of an uploaded chain, normalised
// to PEM.
certgate::v1::ServerCertificateInfo DescribeUploadedChain(
    const std::vector<bssl::UniquePtr<X509>>& chain);

// ValidateServerCertificate: the chain (PEM, leaf first) and key parse, the
// key matches the leaf, and the leaf covers `hostname`. Returns the
// description of the leaf, with the chain normalised to PEM.
absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateServerCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, absl::string_view hostname);

// DescribeServerCertificate describes a chain already known to be good.
absl::StatusOr<certgate::v1::ServerCertificateInfo> DescribeServerCertificate(
    absl::string_view chain_pem, bool issued_by_edge_ca);

}  // namespace certgate::controlplane
