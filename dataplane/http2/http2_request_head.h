#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

// Http2RequestHead is one HTTP/2 request's header block: its pseudo-headers
// and its regular fields (lowercase names, as HTTP/2 requires; cookie
// crumbs kept apart as sent).
struct Http2RequestHead {
  int32_t stream_id = 0;
  std::string method;
  std::string scheme;
  std::string authority;  // ":authority" as sent ("" when absent)
  std::string path;
  std::string protocol;  // ":protocol" of an extended CONNECT ("" otherwise)
  HttpHeaders fields;
  bool end_stream = false;  // no body follows
};

// AuthorityCheck is what CheckAuthority (or CheckRequestHead) found: 0, or the status of a local
// answer with its one-line reason.
struct AuthorityCheck {
  int status = 0;
  std::string message;
  std::string host;  // lowercase, no port
};

// CheckAuthority: the request names exactly one host and it belongs to the
// connection's zone, whatever the client coalesces onto the connection.
// The host is :authority, else the Host field (HTTP/2 allows either); both
// present must name the same host (RFC 9113 8.3.1). 400 when there is no
// host, it is not a well-formed host[:port] (IsWellFormedHost: userinfo
// could hide another host behind the zone's) or they disagree, 421 when the
// host is another zone's: the request never reaches an origin.
AuthorityCheck CheckAuthority(const Http2RequestHead& head, absl::string_view zone_hostname);

// CheckRequestHead: what the edge forwards, beyond what nghttp2 checks
// (its :path check only covers the http and https schemes): 501 for
// CONNECT (the edge opens no tunnels), 400 for a :scheme other than http or
// https or a :path that is not origin form ("*" only for OPTIONS), then
// CheckAuthority.
AuthorityCheck CheckRequestHead(const Http2RequestHead& head, absl::string_view zone_hostname);

// Http1Headers is the request's head as the HTTP/1.1 path reads it, so that
// DecideRequest and RewriteRequestHeaders apply per stream unchanged: one
// Host (the checked authority) first, the fields without Host, cookie
// crumbs joined into one Cookie (RFC 9113 8.2.3).
HttpHeaders Http1Headers(const Http2RequestHead& head);
// The same, moving the fields out of `head` (per stream: no copies).
HttpHeaders Http1Headers(Http2RequestHead&& head);

}  // namespace certgate::edge
