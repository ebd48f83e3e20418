#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/names.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

struct ConnectionAuth;
struct ZoneConfig;

// CertificateHeaders is what one connection adds to each request it
// forwards, and which inbound names it removes. Computed when the connection
// is made and again when its zone changes.
struct CertificateHeaders {
  // Folded names (FoldHeaderName) this zone removes beyond the fleet-wide
  // reserved ones: its status, SKI, error and mapped names.
  std::vector<std::string> reserved_folded;
  HttpHeaders set;  // values free of CR, LF and NUL
  // The zone's error header name, for a rule's refusal in report mode.
  std::string error_name;
  // The zone's status header name, when it is sent (else "").
  std::string status_name;
};

// The reserved and forwarding names (FoldHeaderName, IsReservedHeaderName,
// IsForwardingHeaderName) are common/names.h's: the control plane refuses a
// mapping the edge would have to remove.

// ComputeCertificateHeaders: the zone's status header (none|valid|invalid)
// and error header (reason, when invalid); the SKI and each mapped field
// only for a verified certificate (an unverified one says whatever its
// sender chose). In mode off nothing is set. The zone's names are reserved
// in every mode.
CertificateHeaders ComputeCertificateHeaders(const ZoneConfig& zone, const ConnectionAuth& auth);

// IsHopByHop: headers that describe one connection, not the message
// (RFC 9110 7.6.1), plus the framing headers the edge sets itself; compared
// after FoldHeaderName.
bool IsHopByHop(absl::string_view name);

// ConnectionListsToken: a Connection header of `headers` lists `token`
// (case-insensitive), e.g. "upgrade". The same reading of Connection as the
// one that removes the headers it names.
bool ConnectionListsToken(const HttpHeaders& headers, absl::string_view token);

// RequestContext is what the edge knows about a request beyond its headers.
struct RequestContext {
  absl::string_view client_ip;  // the TCP peer, as inet_ntop prints it
  absl::string_view host;       // the request's host, already checked against the zone
  // Keep inbound names containing `_` (nginx's underscores_in_headers);
  // reserved and forwarding names are removed whatever their spelling.
  bool allow_underscore_headers = false;
  // Why the request's access rule would refuse it (report action): sent in
  // the zone's error header instead of the connection's reason.
  absl::string_view refusal;
  // The certificate is valid only where a rule pins it, not for this
  // request: `cert.set` is replaced by status invalid and the refusal.
  bool withhold_certificate = false;
};

// RewriteRequestHeaders returns the headers to send to the origin. Removed,
// compared after FoldHeaderName: hop-by-hop and framing headers and any named
// in Connection, reserved and forwarding names (IsReservedHeaderName,
// IsForwardingHeaderName, `cert.reserved_folded`), and unless allowed every
// name containing `_`. Then added: `cert.set`, and the forwarding headers,
// which replace whatever the client sent: X-Forwarded-For: <client>,
// X-Forwarded-Proto: https, X-Forwarded-Host: <host>, X-Real-IP: <client>
// and Forwarded: for=<client>;proto=https;host=<host> (RFC 7239).
HttpHeaders RewriteRequestHeaders(const HttpHeaders& in, const CertificateHeaders& cert,
                                  const RequestContext& request);

// RewriteRequestTrailers returns the client's request trailers to send to
// the origin: the names RewriteRequestHeaders always removes (hop-by-hop and
// framing, reserved, forwarding, the zone's, and unless allowed any with
// `_`) are removed here too, since some servers merge trailers into the
// headers, and Host; nothing is added.
HttpHeaders RewriteRequestTrailers(const HttpHeaders& in, const CertificateHeaders& cert,
                                   bool allow_underscore_headers);

// ForwardedValue: `for=...;proto=https;host=...` with an IPv6 address
// quoted and bracketed and a host quoted when it is not a token (RFC 7239).
std::string ForwardedValue(absl::string_view client_ip, absl::string_view host);

// RewriteResponseHeaders drops hop-by-hop and framing headers from the
// origin's response.
HttpHeaders RewriteResponseHeaders(const HttpHeaders& in);

enum class BodyFraming { kNone, kContentLength, kChunked, kUntilClose };

// SerializeRequestHead: "METHOD url HTTP/1.1", headers, framing header.
std::string SerializeRequestHead(absl::string_view method, absl::string_view url,
                                 const HttpHeaders& headers, BodyFraming framing,
                                 uint64_t content_length);

// SerializeResponseHead: status line, headers, framing header and
// Connection: keep-alive|close.
std::string SerializeResponseHead(int status, absl::string_view reason, const HttpHeaders& headers,
                                  BodyFraming framing, uint64_t content_length, bool keep_alive);

// SerializeUpgradeResponseHead: a 101 head passing the origin's switch to
// `protocol` on to the client: status line, headers (already rewritten),
// Connection: upgrade and Upgrade: `protocol`. No framing: what follows is
// the new protocol.
std::string SerializeUpgradeResponseHead(absl::string_view reason, const HttpHeaders& headers,
                                         absl::string_view protocol);

// AppendOriginRequestHead appends what SerializeRequestHead would make of
// the request line and RewriteRequestHeaders(in, cert, request), plus
// `Connection: upgrade` and `Upgrade: <upgrade>` when `upgrade` is not
// empty, without building the header list (it runs for every request).
void AppendOriginRequestHead(std::string* out, absl::string_view method, absl::string_view url,
                             const HttpHeaders& in, const CertificateHeaders& cert,
                             const RequestContext& request, absl::string_view upgrade,
                             BodyFraming framing, uint64_t content_length);

// AppendProxiedResponseHead appends SerializeResponseHead(status, reason,
// RewriteResponseHeaders(in), ...) without building the header list.
void AppendProxiedResponseHead(std::string* out, int status, absl::string_view reason,
                               const HttpHeaders& in, BodyFraming framing, uint64_t content_length,
                               bool keep_alive);

// LocalResponse is a whole response the edge answers itself (403, 421, 502...).
std::string LocalResponse(int status, absl::string_view content_type, absl::string_view body,
                          bool keep_alive);

// FindHeader returns the first value of `name` (case-insensitive), or null.
const std::string* FindHeader(const HttpHeaders& headers, absl::string_view name);
// CountHeader: how many times `name` appears.
int CountHeader(const HttpHeaders& headers, absl::string_view name);

// IsIdempotentMethod: GET, HEAD, OPTIONS, TRACE, PUT and DELETE (RFC 9110
// 9.2.2): without a body, such a request may be resent on a fresh origin
// connection when a reused one closed before answering.
bool IsIdempotentMethod(absl::string_view method);

// HostWithoutPort lowercases a Host header value and removes its port.
std::string HostWithoutPort(absl::string_view host);
// IsWellFormedHost: a Host (or HTTP/2 :authority) value is one host (a DNS
// name, an IPv4 literal or a bracketed IPv6 one), optionally ":" and a
// decimal port, and nothing else: no userinfo ("zone:1@other" would pass
// HostWithoutPort as the zone's host while an origin reads "other"), no
// path, no empty host. Surrounding whitespace is allowed, as HostWithoutPort
// strips it.
bool IsWellFormedHost(absl::string_view host);

// ChunkHeader: the hex size line that starts a chunk of `size` bytes.
std::string ChunkHeader(size_t size);

}  // namespace certgate::edge
