#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate::controlplane {

// API tokens look like `cgt_<token id>_<secret>`; only their SHA-256 is kept.

// NewToken makes a token with a fresh random id (16 hex) and secret (64 hex).
struct NewTokenResult {
  std::string id;
  std::string token;
};
NewTokenResult NewToken();

// TokenId extracts the id of a well-formed token; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> TokenId(absl::string_view token);

// HashToken: raw SHA-256 of the whole token.
std::string HashToken(absl::string_view token);

// ConstantTimeEquals compares two hashes without an early exit.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// RandomHex: `bytes` random bytes as lowercase hex.
std::string RandomHex(size_t bytes);

// LoadOrCreateTokenFile reads a token from `path`, or, when the file does not
// exist, writes a new one there (mode 0600) and returns it.
absl::StatusOr<std::string> LoadOrCreateTokenFile(const std::string& path);

}  // namespace certgate::controlplane
