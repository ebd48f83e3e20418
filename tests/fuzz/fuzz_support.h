#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "openssl/base.h"

// FUZZ_CHECK stops the run with a message when a property of the code under
// test does not hold: libFuzzer records the input as a crash, and the replay
// executable fails its CTest.
#define FUZZ_CHECK(condition, ...)                                                            \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, __VA_ARGS__);                                                      \
      std::fprintf(stderr, "\n");                                                             \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace certgate::fuzz {

// kPartSeparator splits one fuzz input into several arguments (a CRL and the
// roots it is checked against, a chain and its key...). Text, so that seed
// files stay readable; rare enough in DER not to split certificates by chance.
inline constexpr absl::string_view kPartSeparator = "\n%%%%\n";

// SplitParts cuts `input` at kPartSeparator into at most `max_parts` pieces
// (the last one keeps any further separators).
std::vector<absl::string_view> SplitParts(absl::string_view input, size_t max_parts);

// JoinParts is SplitParts' inverse, for the corpus generator.
std::string JoinParts(const std::vector<std::string>& parts);

// AsView: the libFuzzer arguments as a string_view.
inline absl::string_view AsView(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// IsHeaderSafe: no byte that could end or split a header line (CR, LF, NUL)
// nor any other control byte.
bool IsHeaderSafe(absl::string_view value);

// IsValidUtf8: shortest-form UTF-8 without surrogates, at most U+10FFFF.
bool IsValidUtf8(absl::string_view text);

// The fixed clock of every target, so that a replayed input behaves as it
// did when it was found: 2026-01-01T00:00:00Z. Generated certificates are
// valid from 2025 to 2035.
inline constexpr int64_t kFuzzNowUnix = 1767225600;
inline constexpr int64_t kCertNotBeforeUnix = 1735689600;  // 2025-01-01
inline constexpr int64_t kCertNotAfterUnix = 2051222400;   // 2035-01-01

// TestPki is a small PKI made once per process: a root CA, a client
// certificate it issued (with hostile bytes in its subject and SANs) and a
// server certificate with its key. Aborts if the certificate factory fails.
struct TestPki {
  bssl::UniquePtr<EVP_PKEY> ca_key;
  bssl::UniquePtr<X509> ca;
  bssl::UniquePtr<EVP_PKEY> client_key;
  bssl::UniquePtr<X509> client;
  bssl::UniquePtr<EVP_PKEY> server_key;
  bssl::UniquePtr<X509> server;  // covers auth.pizza and *.auth.pizza
};
const TestPki& GetTestPki();

}  // namespace certgate::fuzz
