// Fuzz target: client-certificate field extraction and header-value escaping
// (common/field_selector.h). The input is DER: a leaf, then optional further
// certificates (the chain the client sent). Every selector must yield a value
// that is safe in a header line (no CR, LF, NUL or other control byte,
// valid UTF-8, no surrounding spaces) in which every `%` starts a `%XX`
// escape. The raw input also goes through EscapeHeaderValue with the same
// checks, and percent-decoding its result must give the input back (less
// surrounding spaces): escaping loses nothing.
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

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// PercentDecode: the bytes a `%XX`-escaped value stands for; false when a
// `%` does not start an upper-case escape.
bool PercentDecode(absl::string_view value, std::string* out) {
  out->clear();
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out->push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size()) {
      return false;
    }
    int high = HexValue(value[i + 1]);
    int low = HexValue(value[i + 2]);
    if (high < 0 || low < 0) {
      return false;
    }
    out->push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

void CheckEscaped(absl::string_view what, const std::string& value) {
  FUZZ_CHECK(IsHeaderSafe(value), "%s: control byte in \"%s\"", std::string(what).c_str(),
             value.c_str());
  FUZZ_CHECK(IsValidUtf8(value), "%s: invalid UTF-8", std::string(what).c_str());
  FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.back() != ' '),
             "%s: surrounding space in \"%s\"", std::string(what).c_str(), value.c_str());
  std::string decoded;
  FUZZ_CHECK(PercentDecode(value, &decoded), "%s: a %% that is not an escape in \"%s\"",
             std::string(what).c_str(), value.c_str());
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
  std::string escaped = EscapeHeaderValue(input);
  CheckEscaped("EscapeHeaderValue(input)", escaped);
  std::string decoded;
  PercentDecode(escaped, &decoded);
  absl::string_view trimmed = input;
  while (!trimmed.empty() && trimmed.front() == ' ') {
    trimmed.remove_prefix(1);
  }
  while (!trimmed.empty() && trimmed.back() == ' ') {
    trimmed.remove_suffix(1);
  }
  FUZZ_CHECK(decoded == trimmed, "EscapeHeaderValue lost bytes: \"%s\"", escaped.c_str());
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
