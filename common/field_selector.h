#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "openssl/base.h"

namespace certgate {

// Field selectors name a client-certificate field forwarded as a header:
//   subject, issuer                         RFC 4514
//   subject.{CN,O,OU,C,ST,L,serialNumber}   and the same under issuer.
//   serial                                  hex
//   not_before, not_after                   RFC 3339
//   fingerprint.sha256, fingerprint.sha1    hex
//   ski, aki                                hex
//   san.dns, san.uri, san.email, san.ip     comma-joined
//   spiffe_id                               the spiffe:// URI SAN, if one
//   cert                                    RFC 9440 `:base64(DER):`
//   chain                                   RFC 9440 list of the intermediates
//   cert.pem                                URL-encoded PEM (nginx, Envoy)
//   ext.<dotted OID>                        base64 of the extension value

// ValidateFieldSelector: OK for every selector above; INVALID_ARGUMENT naming
// the selector otherwise ("unknown field selector \"subject.XX\"").
absl::Status ValidateFieldSelector(absl::string_view selector);

// AllFieldSelectors lists the fixed selectors (not ext.<oid>), for help texts.
const std::vector<std::string>& AllFieldSelectors();

// ExtractField returns the selector's value for `leaf`; `chain` holds the
// other certificates the client sent (may be null). An absent field is "".
// The result is already safe for a header value (EscapeHeaderValue).
absl::StatusOr<std::string> ExtractField(const X509* leaf, const STACK_OF(X509) * chain,
                                         absl::string_view selector);

// EscapeHeaderValue makes any string safe as an HTTP header value: CR, LF,
// NUL, other control bytes and `%` are percent-encoded (`%0D`, `%0A`, `%00`,
// `%25`); leading/trailing spaces are trimmed. Never returns CR, LF or NUL.
std::string EscapeHeaderValue(absl::string_view value);

}  // namespace certgate
