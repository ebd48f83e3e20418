#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// ValidateServerCertificate: the chain (PEM, leaf first) and key parse, the
// key matches the leaf, and the leaf covers `hostname`. Returns the
// description of the leaf, with the chain normalised to PEM.
absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateServerCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, absl::string_view hostname);

// DescribeServerCertificate describes a chain already known to be good.
absl::StatusOr<certgate::v1::ServerCertificateInfo> DescribeServerCertificate(
    absl::string_view chain_pem, bool issued_by_edge_ca);

}  // namespace certgate::controlplane
