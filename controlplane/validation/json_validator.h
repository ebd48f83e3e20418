#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace certgate::controlplane {

// ValidateJson checks that `text` is exactly one JSON value (RFC 8259),
// with optional surrounding whitespace. Stricter than protobuf's JSON parser,
// which accepts single-quoted strings: an edge sends this body to browsers
// and API clients as application/json. Nesting is capped at 256 levels.
// INVALID_ARGUMENT says what is wrong and at which byte offset.
absl::Status ValidateJson(absl::string_view text);

}  // namespace certgate::controlplane
