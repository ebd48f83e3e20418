#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "openssl/base.h"
#include "openssl/x509.h"  // STACK_OF(X509)

namespace certgate {

// Field selectors name a client-certificate field forwarded as a header:
//   subject, issuer                         RFC 4514
//   subject.{CN,O,OU,C,ST,L,serialNumber}   and the same under issuer.; several
//                                           values of one attribute: ", "-joined
//   serial                                  hex
//   not_before, not_after                   RFC 3339
//   fingerprint.sha256, fingerprint.sha1    hex
//   ski, aki                                hex
//   san.dns, san.uri, san.email, san.ip     ", "-joined (san.ip textual v4/v6)
//   spiffe_id                               the first spiffe:// URI SAN, if one
//   cert                                    RFC 9440 `:base64(DER):`
//   chain                                   RFC 9440 list (", "-joined) of the
//                                           certificates in `chain` but the leaf
//   cert.pem                                URL-encoded PEM (nginx, Envoy)
//   ext.<dotted OID>                        base64 of the extension value
//   x5t#S256                                base64url SHA-256 of the DER, no
//                                           padding (RFC 8705 certificate-bound
//                                           tokens)
//   xfcc                                    Envoy's X-Forwarded-Client-Cert:
//                                           Hash=<hex sha256>;Subject="<RFC 4514>"
//                                           ;URI=<each URI SAN>;DNS=<each DNS SAN>
// Selectors are case-sensitive.

// ValidateFieldSelector: OK for every selector above; INVALID_ARGUMENT naming
// the selector otherwise ("unknown field selector \"subject.XX\"", or for a
// bad OID "field selector \"ext.1\": an OID needs at least two arcs ...").
absl::Status ValidateFieldSelector(absl::string_view selector);

// AllFieldSelectors lists the fixed selectors (not ext.<oid>), for help texts.
const std::vector<std::string>& AllFieldSelectors();

// ExtractField returns the selector's value for `leaf`; `chain` holds the
// other certificates the client sent (may be null). An absent field (or a null
// leaf) is "". The result is already safe for a header value: it went through
// EscapeHeaderValue, except `cert.pem`, whose URL encoding already leaves only
// unreserved characters and %XX (escaping it again would double-encode).
absl::StatusOr<std::string> ExtractField(const X509* leaf, const STACK_OF(X509) * chain,
                                         absl::string_view selector);

// EscapeHeaderValue makes any string safe as an HTTP header value: CR, LF,
// NUL, other control bytes (0x00-0x1F, 0x7F), `%` and bytes that are not part
// of valid UTF-8 are percent-encoded (`%0D`, `%0A`, `%00`, `%25`); valid UTF-8
// is kept; leading/trailing spaces are trimmed. Never returns CR, LF or NUL.
std::string EscapeHeaderValue(absl::string_view value);

// NameAttributeList: every value of attribute `nid` in `name`, as UTF-8 (raw
// bytes when undecodable).
std::vector<std::string> NameAttributeList(const X509_NAME* name, int nid);

// SubjectAltNames: the leaf's subjectAltNames of one GEN_* type, as text
// (IP addresses as inet_ntop prints them).
std::vector<std::string> SubjectAltNames(const X509* cert, int type);

}  // namespace certgate
