// Fuzz target: client-certificate field extraction and header-value escaping
// (common/field_selector.h). The input is DER: a leaf, then optional further
// certificates (the chain the client sent). Every selector must yield a value
// that is safe in a header line (no CR, LF, NUL or other control byte,
// valid UTF-8, no surrounding spaces) and that escaping again leaves as is.
// The raw input also goes through EscapeHeaderValue with the same checks.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/x509.h"
// (keep after openssl/x509.h: field_selector.h uses STACK_OF(X509))
#include "common/field_selector.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using certgate::EscapeHeaderValue;
using certgate::fuzz::IsHeaderSafe;
using certgate::fuzz::IsValidUtf8;

constexpr size_t kMaxChain = 4;

// Extension selectors: SAN, SKI, AKI, basicConstraints, one private OID.
const char* const kExtSelectors[] = {"ext.2.5.29.17", "ext.2.5.29.14", "ext.2.5.29.35",
                                     "ext.2.5.29.19", "ext.1.3.6.1.4.1.99999.1"};

void CheckEscaped(absl::string_view what, const std::string& value) {
  FUZZ_CHECK(IsHeaderSafe(value), "%s: control byte in \"%s\"", std::string(what).c_str(),
             value.c_str());
  FUZZ_CHECK(IsValidUtf8(value), "%s: invalid UTF-8", std::string(what).c_str());
  FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.back() != ' '),
             "%s: surrounding space in \"%s\"", std::string(what).c_str(), value.c_str());
  std::string again = EscapeHeaderValue(value);
  FUZZ_CHECK(again == value, "%s: not idempotent: \"%s\" -> \"%s\"", std::string(what).c_str(),
             value.c_str(), again.c_str());
}

void CheckSelector(const X509* leaf, const STACK_OF(X509) * chain, absl::string_view selector) {
  absl::StatusOr<std::string> value = certgate::ExtractField(leaf, chain, selector);
  FUZZ_CHECK(value.ok(), "selector %s refused: %s", std::string(selector).c_str(),
             std::string(value.status().message()).c_str());
  CheckEscaped(selector, *value);
  if (selector == "cert") {
    FUZZ_CHECK(value->size() >= 2 && value->front() == ':' && value->back() == ':',
               "cert is not an RFC 9440 byte sequence: %s", value->c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input = certgate::fuzz::AsView(data, size);
  CheckEscaped("EscapeHeaderValue(input)", EscapeHeaderValue(input));
  // Selector text from the input: refused or extracted, never a crash.
  if (size <= 64) {
    (void)certgate::ValidateFieldSelector(input);
  }

  const uint8_t* p = data;
  bssl::UniquePtr<X509> leaf(d2i_X509(nullptr, &p, static_cast<long>(size)));
  if (leaf == nullptr) {
    return 0;
  }
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  while (p < data + size && sk_X509_num(chain.get()) < kMaxChain) {
    bssl::UniquePtr<X509> next(d2i_X509(nullptr, &p, static_cast<long>(data + size - p)));
    if (next == nullptr || !bssl::PushToStack(chain.get(), std::move(next))) {
      break;
    }
  }
  for (const std::string& selector : certgate::AllFieldSelectors()) {
    CheckSelector(leaf.get(), chain.get(), selector);
    CheckSelector(leaf.get(), nullptr, selector);
  }
  for (const char* selector : kExtSelectors) {
    CheckSelector(leaf.get(), chain.get(), selector);
  }
  return 0;
}
