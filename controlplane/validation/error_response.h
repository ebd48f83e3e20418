#pragma once

#include "absl/status/status.h"
#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// kMaxErrorBodyBytes caps the enforce-mode 403 body.
inline constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

// ValidateErrorResponse: a content type that is a plain `type/subtype`
// (parameters allowed), a body of at most 64 KiB, and, for JSON content types
// (`application/json`, `*+json`), a body that parses as JSON.
absl::Status ValidateErrorResponse(const certgate::v1::ErrorResponse& response);

}  // namespace certgate::controlplane
