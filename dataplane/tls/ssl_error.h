#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "openssl/err.h"

namespace certgate::edge {

// PopSslErrorReason returns the reason string of the oldest error on this
// thread's BoringSSL error queue, or `if_none` when there is none, and
// clears the queue (a stale error must not be blamed on the next call).
inline std::string PopSslErrorReason(absl::string_view if_none = "unknown error") {
  uint32_t error = ERR_get_error();
  ERR_clear_error();
  const char* reason = error != 0 ? ERR_reason_error_string(error) : nullptr;
  return reason != nullptr ? std::string(reason) : std::string(if_none);
}

}  // namespace certgate::edge
