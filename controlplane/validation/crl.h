#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// ParsedCrl: a CRL checked against a zone and the revocations it brings
// (source `crl:<id>`).
struct ParsedCrl {
  certgate::v1::Crl info;
  std::vector<certgate::v1::Revocation> revocations;
};

// ParseZoneCrl reads a CRL (PEM or DER) and checks it is signed by one of
// `zone`'s roots or intermediates: a CA whose subject equals the CRL's issuer
// and whose public key verifies its signature.
absl::StatusOr<ParsedCrl> ParseZoneCrl(absl::string_view data, const certgate::v1::Zone& zone,
                                       int64_t now_unix);

// RevocationId: a stable id for (source, issuer, serial).
std::string RevocationId(absl::string_view source, absl::string_view issuer_der,
                         absl::string_view serial_hex);

}  // namespace certgate::controlplane
