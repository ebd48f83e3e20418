#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// What a tenant may set about TLS to its zone's https origin. Each returns
// INVALID_ARGUMENT with a one-line message naming what is wrong.

// ValidateOriginCa: one or more PEM certificates (at most 64), returned
// re-encoded as PEM. The edges verify the origin's certificate against them.
absl::StatusOr<std::string> ValidateOriginCa(absl::string_view pem);

// ValidateOriginServerName: a hostname (lowercased; no wildcard, no IP
// literal: SNI carries names only).
absl::StatusOr<std::string> ValidateOriginServerName(absl::string_view name);

// ValidateOriginClientCertificate: an uploaded client certificate for
// authenticated origin pulls. The chain (PEM, leaf first) and key parse, the
// key matches the leaf, BoringSSL accepts the pair for a TLS client, the leaf
// is valid at `now_unix` and, when it has an extendedKeyUsage, allows
// clientAuth. Returns its description (issued_by_edge_ca false).
// `normalized_key_pem` (if not null) gets the key re-encoded, so that what is
// stored and sent to every edge is the key alone, never text around it.
absl::StatusOr<certgate::v1::ServerCertificateInfo> ValidateOriginClientCertificate(
    absl::string_view chain_pem, absl::string_view key_pem, int64_t now_unix,
    std::string* normalized_key_pem = nullptr);

}  // namespace certgate::controlplane
