#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate {

// NormalizeHostname lowercases and checks a zone hostname: RFC 1123 labels
// (1-63 of [a-z0-9-], no leading/trailing hyphen), at most 253 characters, at
// least two labels, no trailing dot; `*` only as the whole leftmost label,
// followed by at least two labels (`*.auth.pizza`). A name whose last label is
// all digits (an IPv4 literal) is refused: SNI never carries IP addresses.
// INVALID_ARGUMENT names the problem: "hostname \"a..b\": empty label".
absl::StatusOr<std::string> NormalizeHostname(absl::string_view hostname);

// IsWildcardHostname: starts with "*.".
bool IsWildcardHostname(absl::string_view hostname);

// HostnameMatchesZone: `host` (lowercase, no port) is `zone_hostname`, or
// zone_hostname is `*.x` and host is exactly one label under x.
bool HostnameMatchesZone(absl::string_view host, absl::string_view zone_hostname);

// IsPrintableAscii: non-empty, and every byte visible ASCII (0x21-0x7e).
bool IsPrintableAscii(absl::string_view text);

// IsHttpTokenChar / IsHttpToken: RFC 9110 tchar, and a non-empty run of them
// (header names, media type parts).
bool IsHttpTokenChar(char c);
bool IsHttpToken(absl::string_view text);

// FoldHeaderName lowercases `name` and reads `_` as `-`: the name as CGI,
// WSGI, PHP and many frameworks see it (`X_Device_Id` and `x-device-id` are
// both HTTP_X_DEVICE_ID there).
std::string FoldHeaderName(absl::string_view name);

// IsReservedHeaderName: a folded name that only the edge may send to any
// origin, in every zone and mode: the `x-client-cert-` prefix (the default
// status, SKI and error names, and any mapped name a tenant puts under it),
// `client-cert`, `client-cert-chain` (RFC 9440) and `x-forwarded-client-cert`.
// A zone's other names are reserved in that zone only: reserving every
// tenant's names fleet-wide would let one tenant strip any header (say
// `x-api-key`) from every other tenant's requests.
bool IsReservedHeaderName(absl::string_view folded);

// IsForwardingHeaderName: a folded name that says where a request came from
// (`forwarded`, `x-real-ip`, every `x-forwarded-*`, and the client-IP
// headers frameworks trust); only the edge sets those.
bool IsForwardingHeaderName(absl::string_view folded);

// ValidateHeaderName: an RFC 9110 token, at most 128 characters, and not a
// header certgate may not set (hop-by-hop, framing, Host, and the forwarding
// headers the edge sets itself), compared after FoldHeaderName.
// INVALID_ARGUMENT names the header and the reason.
absl::Status ValidateHeaderName(absl::string_view name);

// NormalizeOrigin: `http://host:port`, `https://host:port` or `h2c://host:port`
// (cleartext HTTP/2 with prior knowledge; port optional,
// no path beyond "/", no query, fragment or user info; host a DNS name, IPv4
// or bracketed IPv6). Returns the normalized URL: scheme and host lowercase,
// no trailing "/", the port as given (without leading zeros).
absl::StatusOr<std::string> NormalizeOrigin(absl::string_view origin);

}  // namespace certgate
