#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"
#include "openssl/base.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::controlplane {

// ParsedCaCertificate: an uploaded root or intermediate and its description.
struct ParsedCaCertificate {
  bssl::UniquePtr<X509> cert;
  certgate::v1::CaCertificate info;
};

// ParseCaCertificates reads PEM (one or many) or one DER certificate and
// checks each is a CA within its validity at `now_unix` (see
// ValidateCaCertificate). Duplicates inside one upload are refused too.
absl::StatusOr<std::vector<ParsedCaCertificate>> ParseCaCertificates(absl::string_view data,
                                                                     int64_t now_unix);

// DescribeCaCertificate fills id, DER, subject, issuer, SKI, fingerprint and
// validity.
certgate::v1::CaCertificate DescribeCaCertificate(const X509* cert);

}  // namespace certgate::controlplane
