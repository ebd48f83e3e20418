#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

struct ConnectionAuth;
struct ZoneConfig;

// CertificateHeaders is what one connection adds to each request it
// forwards, and which inbound names it removes. Computed once per
// connection: the certificate cannot change within it.
struct CertificateHeaders {
  std::vector<std::string> strip_lowercase;  // status, SKI, error and mapped names
  HttpHeaders set;                           // values free of CR, LF and NUL
};

// ComputeCertificateHeaders: the zone's status header (none|valid|invalid),
// SKI header (when a certificate was sent), error header (reason, when
// invalid) and, for a valid certificate only, each mapped field. In mode off
// nothing is set, but the names are still stripped so that a client cannot
// spoof them.
CertificateHeaders ComputeCertificateHeaders(const ZoneConfig& zone, const ConnectionAuth& auth);

// IsHopByHop: headers that describe one connection, not the message
// (RFC 9110 7.6.1), plus the framing headers the edge sets itself.
bool IsHopByHop(absl::string_view name);

// RewriteRequestHeaders returns the headers to send to the origin: hop-by-hop
// and framing headers (and any named in Connection) removed, every name in
// `cert.strip_lowercase` removed, `cert.set` added, X-Forwarded-For with
// `client_ip` appended, X-Forwarded-Proto: https.
HttpHeaders RewriteRequestHeaders(const HttpHeaders& in, const CertificateHeaders& cert,
                                  absl::string_view client_ip);

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

// LocalResponse is a whole response the edge answers itself (403, 421, 502...).
std::string LocalResponse(int status, absl::string_view content_type, absl::string_view body,
                          bool keep_alive);

// FindHeader returns the first value of `name` (case-insensitive), or null.
const std::string* FindHeader(const HttpHeaders& headers, absl::string_view name);
// CountHeader: how many times `name` appears.
int CountHeader(const HttpHeaders& headers, absl::string_view name);

// HostWithoutPort lowercases a Host header value and removes its port.
std::string HostWithoutPort(absl::string_view host);

// ChunkHeader: the hex size line that starts a chunk of `size` bytes.
std::string ChunkHeader(size_t size);

}  // namespace certgate::edge
