#include "dataplane/http/header_rewriter.h"

#include <http_parser.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
// field_selector.h uses STACK_OF(X509) without including its definition.
#include "openssl/x509.h"
// (keep after openssl/x509.h)
#include "common/field_selector.h"
#include "common/zone_defaults.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"

namespace certgate::edge {
namespace {

const char* StatusToken(CertStatus status) {
  switch (status) {
    case CertStatus::kValid:
      return "valid";
    case CertStatus::kInvalid:
      return "invalid";
    default:
      return "none";
  }
}

std::string OrDefault(const std::string& name, absl::string_view fallback) {
  return name.empty() ? std::string(fallback) : name;
}

void AppendHeaders(std::string* out, const HttpHeaders& headers) {
  for (const HttpHeader& h : headers) {
    absl::StrAppend(out, h.name, ": ", h.value, "\r\n");
  }
}

void AppendFraming(std::string* out, BodyFraming framing, uint64_t content_length) {
  if (framing == BodyFraming::kContentLength) {
    absl::StrAppend(out, "Content-Length: ", content_length, "\r\n");
  } else if (framing == BodyFraming::kChunked) {
    out->append("Transfer-Encoding: chunked\r\n");
  }
}

// ForEachConnectionToken calls `fn(token)` for each non-empty token of
// every Connection header, whitespace stripped.
template <typename Fn>
void ForEachConnectionToken(const HttpHeaders& in, Fn fn) {
  for (const HttpHeader& h : in) {
    if (absl::EqualsIgnoreCase(h.name, "connection")) {
      for (absl::string_view token : absl::StrSplit(h.value, ',')) {
        token = absl::StripAsciiWhitespace(token);
        if (!token.empty()) {
          fn(token);
        }
      }
    }
  }
}

// Names listed in Connection are hop-by-hop too (folded).
absl::flat_hash_set<std::string> ConnectionTokens(const HttpHeaders& in) {
  absl::flat_hash_set<std::string> tokens;
  ForEachConnectionToken(
      in, [&tokens](absl::string_view token) { tokens.insert(FoldHeaderName(token)); });
  return tokens;
}

// IsHopByHopFolded: IsHopByHop for a name already folded (FoldHeaderName).
bool IsHopByHopFolded(absl::string_view folded) {
  // A fixed, short list: a scan costs no more than a hash, and the table
  // needs no destructor.
  static constexpr absl::string_view kNames[] = {"connection",
                                                 "keep-alive",
                                                 "proxy-connection",
                                                 "te",
                                                 "trailer",
                                                 "upgrade",
                                                 "transfer-encoding",
                                                 "content-length",
                                                 "expect",
                                                 "proxy-authenticate",
                                                 "proxy-authorization"};
  for (absl::string_view name : kNames) {
    if (folded == name) {
      return true;
    }
  }
  return false;
}

// QuotedString: RFC 9110 5.6.4, with `"` and `\` escaped.
std::string QuotedString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string ForwardedValue(absl::string_view client_ip, absl::string_view host) {
  // An IPv6 node is "[addr]" and must be quoted (RFC 7239 6).
  std::string node = absl::StrContains(client_ip, ':')
                         ? QuotedString(absl::StrCat("[", client_ip, "]"))
                         : std::string(client_ip);
  std::string out = absl::StrCat("for=", node, ";proto=https");
  if (!host.empty()) {
    absl::StrAppend(&out, ";host=", IsHttpToken(host) ? std::string(host) : QuotedString(host));
  }
  return out;
}

CertificateHeaders ComputeCertificateHeaders(const ZoneConfig& zone, const ConnectionAuth& auth) {
  CertificateHeaders out;
  std::string status_name = OrDefault(zone.status_header, ZoneDefaults::kStatusHeader);
  std::string ski_name = OrDefault(zone.ski_header, ZoneDefaults::kSkiHeader);
  std::string error_name = OrDefault(zone.error_header, ZoneDefaults::kErrorHeader);
  for (const std::string* name : {&status_name, &ski_name, &error_name}) {
    out.reserved_folded.push_back(FoldHeaderName(*name));
  }
  for (const HeaderMappingRule& rule : zone.header_mappings) {
    out.reserved_folded.push_back(FoldHeaderName(rule.header));
  }
  out.error_name = error_name;
  if (!zone.RequestsCertificate()) {
    return out;
  }
  out.status_name = status_name;
  out.set.push_back({status_name, StatusToken(auth.status)});
  // A valid certificate with a reason was accepted despite it (an expired
  // one where the zone accepts those): the origin is told.
  if (auth.status == CertStatus::kInvalid || !auth.reason.empty()) {
    out.set.push_back(
        {error_name, EscapeHeaderValue(auth.reason.empty() ? "unknown" : auth.reason)});
  }
  // Identity (SKI, mapped fields) only for a certificate that verified: an
  // unverified certificate carries whatever its sender chose, a victim's SKI
  // included.
  if (auth.status != CertStatus::kValid) {
    return out;
  }
  if (!auth.ski_hex.empty()) {
    out.set.push_back({ski_name, EscapeHeaderValue(auth.ski_hex)});
  }
  if (auth.leaf != nullptr) {
    for (const HeaderMappingRule& rule : zone.header_mappings) {
      absl::StatusOr<std::string> value =
          ExtractField(auth.leaf.get(), auth.chain.get(), rule.selector);
      if (!value.ok() || value->empty()) {
        continue;
      }
      // ExtractField escapes already; escaping again would turn %0D into
      // %250D. Check anyway: a raw CR or LF here would split the header.
      if (value->find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
        *value = EscapeHeaderValue(*value);
      }
      out.set.push_back({rule.header, std::move(*value)});
    }
  }
  return out;
}

bool IsHopByHop(absl::string_view name) { return IsHopByHopFolded(FoldHeaderName(name)); }

bool ConnectionListsToken(const HttpHeaders& headers, absl::string_view token) {
  bool found = false;
  ForEachConnectionToken(headers, [&found, token](absl::string_view listed) {
    found = found || absl::EqualsIgnoreCase(listed, token);
  });
  return found;
}

namespace {

// FoldedName: FoldHeaderName without an allocation for the usual short name.
class FoldedName {
 public:
  explicit FoldedName(absl::string_view name) {
    if (name.size() <= sizeof(inline_)) {
      for (size_t i = 0; i < name.size(); ++i) {
        char c = absl::ascii_tolower(static_cast<unsigned char>(name[i]));
        inline_[i] = c == '_' ? '-' : c;
      }
      view_ = absl::string_view(inline_, name.size());
    } else {
      long_ = FoldHeaderName(name);
      view_ = long_;
    }
  }
  absl::string_view view() const { return view_; }

 private:
  char inline_[64];
  std::string long_;
  absl::string_view view_;
};

// DropsInboundField: a client's field (its name folded) that the origin never
// gets, in the head or as a trailer: hop-by-hop and framing, the reserved,
// forwarding and zone's names, and unless allowed any name with `_`.
bool DropsInboundField(absl::string_view folded, bool underscore, const CertificateHeaders& cert,
                       bool allow_underscore_headers) {
  if (IsHopByHopFolded(folded) || IsReservedHeaderName(folded) || IsForwardingHeaderName(folded) ||
      (!allow_underscore_headers && underscore)) {
    return true;
  }
  // The zone's handful of names last, and only for a field still kept: a
  // scan costs less than a set.
  return std::find(cert.reserved_folded.begin(), cert.reserved_folded.end(), folded) !=
         cert.reserved_folded.end();
}

// ForEachForwardedHeader calls `emit(name, value)` for each header
// RewriteRequestHeaders returns, in order, without building the list.
template <typename Emit>
void ForEachForwardedHeader(const HttpHeaders& in, const CertificateHeaders& cert,
                            const RequestContext& request, Emit emit) {
  // Only a request that names hop-by-hop headers in Connection needs the
  // set (most send none).
  bool has_connection = false;
  for (const HttpHeader& h : in) {
    if (absl::EqualsIgnoreCase(h.name, "connection")) {
      has_connection = true;
      break;
    }
  }
  absl::flat_hash_set<std::string> drop;
  if (has_connection) {
    drop = ConnectionTokens(in);
  }
  for (const HttpHeader& h : in) {
    FoldedName folded_name(h.name);
    absl::string_view folded = folded_name.view();
    bool underscore = h.name.find('_') != std::string::npos;
    if (folded == "host" && !underscore) {
      emit(h.name, h.value);  // a name the edge must keep whatever Connection says
      continue;
    }
    // Every test on the folded name: a client's `X_Client_Cert_Status` is
    // the origin's HTTP_X_CLIENT_CERT_STATUS as much as the dashed spelling.
    if ((has_connection && drop.contains(folded)) ||
        DropsInboundField(folded, underscore, cert, request.allow_underscore_headers)) {
      continue;
    }
    emit(h.name, h.value);
  }
  if (request.withhold_certificate) {
    if (!cert.status_name.empty()) {
      emit(cert.status_name, StatusToken(CertStatus::kInvalid));
    }
  } else {
    for (const HttpHeader& h : cert.set) {
      // A rule's refusal (report action) replaces the connection's reason.
      if (!request.refusal.empty() && h.name == cert.error_name) {
        continue;
      }
      emit(h.name, h.value);
    }
  }
  if (!request.refusal.empty() && !cert.error_name.empty()) {
    emit(cert.error_name, EscapeHeaderValue(request.refusal));
  }
  // Replaced, never appended to: the edge is the first proxy a client meets
  // (it terminates TLS), so any inbound value is the client's own claim.
  emit("X-Forwarded-For", request.client_ip);
  emit("X-Forwarded-Proto", "https");
  if (!request.host.empty()) {
    emit("X-Forwarded-Host", request.host);
  }
  emit("X-Real-IP", request.client_ip);
  emit("Forwarded", ForwardedValue(request.client_ip, request.host));
}

}  // namespace

HttpHeaders RewriteRequestHeaders(const HttpHeaders& in, const CertificateHeaders& cert,
                                  const RequestContext& request) {
  HttpHeaders out;
  ForEachForwardedHeader(in, cert, request,
                         [&out](absl::string_view name, absl::string_view value) {
                           out.push_back({std::string(name), std::string(value)});
                         });
  return out;
}

HttpHeaders RewriteRequestTrailers(const HttpHeaders& in, const CertificateHeaders& cert,
                                   bool allow_underscore_headers) {
  HttpHeaders out;
  for (const HttpHeader& h : in) {
    FoldedName folded_name(h.name);
    absl::string_view folded = folded_name.view();
    bool underscore = h.name.find('_') != std::string::npos;
    if (folded == "host" || DropsInboundField(folded, underscore, cert, allow_underscore_headers)) {
      continue;
    }
    out.push_back(h);
  }
  return out;
}

void AppendOriginRequestHead(std::string* out, absl::string_view method, absl::string_view url,
                             const HttpHeaders& in, const CertificateHeaders& cert,
                             const RequestContext& request, absl::string_view upgrade,
                             BodyFraming framing, uint64_t content_length) {
  size_t size = method.size() + url.size() + 200;
  for (const HttpHeader& h : in) {
    size += h.name.size() + h.value.size() + 4;
  }
  out->reserve(out->size() + size);
  absl::StrAppend(out, method, " ", url, " HTTP/1.1\r\n");
  ForEachForwardedHeader(in, cert, request, [out](absl::string_view name, absl::string_view value) {
    absl::StrAppend(out, name, ": ", value, "\r\n");
  });
  if (!upgrade.empty()) {
    // Hop-by-hop, but this hop is where the switch is asked for.
    absl::StrAppend(out, "Connection: upgrade\r\nUpgrade: ", upgrade, "\r\n");
  }
  AppendFraming(out, framing, content_length);
  out->append("\r\n");
}

namespace {

// ForEachResponseHeader: RewriteResponseHeaders's headers, one by one.
template <typename Emit>
void ForEachResponseHeader(const HttpHeaders& in, Emit emit) {
  bool has_connection = false;
  for (const HttpHeader& h : in) {
    if (absl::EqualsIgnoreCase(h.name, "connection")) {
      has_connection = true;
      break;
    }
  }
  absl::flat_hash_set<std::string> drop;
  if (has_connection) {
    drop = ConnectionTokens(in);
  }
  for (const HttpHeader& h : in) {
    FoldedName folded_name(h.name);
    absl::string_view folded = folded_name.view();
    if (IsHopByHopFolded(folded) || (has_connection && drop.contains(folded))) {
      continue;
    }
    emit(h);
  }
}

}  // namespace

HttpHeaders RewriteResponseHeaders(const HttpHeaders& in) {
  HttpHeaders out;
  ForEachResponseHeader(in, [&out](const HttpHeader& h) { out.push_back(h); });
  return out;
}

void AppendProxiedResponseHead(std::string* out, int status, absl::string_view reason,
                               const HttpHeaders& in, BodyFraming framing, uint64_t content_length,
                               bool keep_alive) {
  if (reason.empty()) {
    reason = http_status_str(static_cast<http_status>(status));
  }
  size_t size = reason.size() + 80;
  for (const HttpHeader& h : in) {
    size += h.name.size() + h.value.size() + 4;
  }
  out->reserve(out->size() + size);
  absl::StrAppend(out, "HTTP/1.1 ", status, " ", reason, "\r\n");
  ForEachResponseHeader(
      in, [out](const HttpHeader& h) { absl::StrAppend(out, h.name, ": ", h.value, "\r\n"); });
  AppendFraming(out, framing, content_length);
  out->append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
}

std::string SerializeRequestHead(absl::string_view method, absl::string_view url,
                                 const HttpHeaders& headers, BodyFraming framing,
                                 uint64_t content_length) {
  std::string out = absl::StrCat(method, " ", url, " HTTP/1.1\r\n");
  AppendHeaders(&out, headers);
  AppendFraming(&out, framing, content_length);
  out.append("\r\n");
  return out;
}

std::string SerializeResponseHead(int status, absl::string_view reason, const HttpHeaders& headers,
                                  BodyFraming framing, uint64_t content_length, bool keep_alive) {
  if (reason.empty()) {
    reason = http_status_str(static_cast<http_status>(status));
  }
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\n");
  AppendHeaders(&out, headers);
  AppendFraming(&out, framing, content_length);
  out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return out;
}

std::string SerializeUpgradeResponseHead(absl::string_view reason, const HttpHeaders& headers,
                                         absl::string_view protocol) {
  if (reason.empty()) {
    reason = "Switching Protocols";
  }
  std::string out = absl::StrCat("HTTP/1.1 101 ", reason, "\r\n");
  AppendHeaders(&out, headers);
  absl::StrAppend(&out, "Connection: upgrade\r\nUpgrade: ", protocol, "\r\n\r\n");
  return out;
}

std::string LocalResponse(int status, absl::string_view content_type, absl::string_view body,
                          bool keep_alive) {
  HttpHeaders headers = {{"Content-Type", std::string(content_type)},
                         {"Cache-Control", "no-store"}};
  std::string out = SerializeResponseHead(status, "", headers, BodyFraming::kContentLength,
                                          body.size(), keep_alive);
  out.append(body.data(), body.size());
  return out;
}

const std::string* FindHeader(const HttpHeaders& headers, absl::string_view name) {
  for (const HttpHeader& h : headers) {
    if (absl::EqualsIgnoreCase(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

int CountHeader(const HttpHeaders& headers, absl::string_view name) {
  int count = 0;
  for (const HttpHeader& h : headers) {
    if (absl::EqualsIgnoreCase(h.name, name)) {
      ++count;
    }
  }
  return count;
}

bool IsIdempotentMethod(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

std::string HostWithoutPort(absl::string_view host) {
  host = absl::StripAsciiWhitespace(host);
  if (!host.empty() && host.front() == '[') {
    size_t end = host.find(']');
    return absl::AsciiStrToLower(
        host.substr(0, end == absl::string_view::npos ? host.size() : end + 1));
  }
  size_t colon = host.rfind(':');
  if (colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  // A trailing dot names the same host (absolute form).
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  return absl::AsciiStrToLower(host);
}

bool IsWellFormedHost(absl::string_view host) {
  host = absl::StripAsciiWhitespace(host);
  absl::string_view name = host;
  absl::string_view port;
  bool v6 = !host.empty() && host.front() == '[';
  size_t colon = v6 ? host.find(']') : host.rfind(':');
  if (v6) {
    if (colon == absl::string_view::npos) {
      return false;
    }
    name = host.substr(1, colon - 1);
    port = host.substr(colon + 1);
    if (!port.empty() && port.front() != ':') {
      return false;
    }
  } else if (colon != absl::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon);
  }
  if (!port.empty()) {
    port.remove_prefix(1);  // the ':'
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
      return false;
    }
  }
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    bool ok = v6 ? absl::ascii_isxdigit(c) || c == ':' || c == '.'
                 : absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string ChunkHeader(size_t size) { return absl::StrFormat("%x\r\n", size); }

}  // namespace certgate::edge
