#include "dataplane/http2/http2_request_head.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "dataplane/http/header_rewriter.h"

namespace certgate::edge {

AuthorityCheck CheckAuthority(const Http2RequestHead& head, absl::string_view zone_hostname) {
  AuthorityCheck out;
  int host_fields = CountHeader(head.fields, "host");
  if (host_fields > 1) {
    out.status = 400;
    out.message = "more than one Host header";
    return out;
  }
  const std::string* host_field = FindHeader(head.fields, "host");
  if (head.authority.empty() && host_field == nullptr) {
    out.status = 400;
    out.message = "missing :authority and Host";
    return out;
  }
  for (const std::string* value : {&head.authority, host_field}) {
    if (value != nullptr && !value->empty() && !IsWellFormedHost(*value)) {
      out.status = 400;
      out.message = absl::StrCat(value == host_field ? "Host" : ":authority", " \"", *value,
                                 "\" is not a host and optional port");
      return out;
    }
  }
  out.host = HostWithoutPort(head.authority.empty() ? *host_field : head.authority);
  if (!head.authority.empty() && host_field != nullptr &&
      HostWithoutPort(*host_field) != out.host) {
    out.status = 400;
    out.message = absl::StrCat("Host \"", HostWithoutPort(*host_field),
                               "\" differs from :authority \"", out.host, "\"");
    return out;
  }
  if (!HostnameMatchesZone(out.host, zone_hostname)) {
    out.status = 421;
    out.message = absl::StrCat("host \"", out.host,
                               "\" is not served on this connection (TLS server name belongs to "
                               "another zone)");
  }
  return out;
}

AuthorityCheck CheckRequestHead(const Http2RequestHead& head, absl::string_view zone_hostname) {
  auto refuse = [](int status, std::string message) {
    AuthorityCheck out;
    out.status = status;
    out.message = std::move(message);
    return out;
  };
  if (head.method == "CONNECT") {
    return refuse(501, "CONNECT is not supported");
  }
  if (head.scheme != "https" && head.scheme != "http") {
    return refuse(400, ":scheme is not http or https");
  }
  if (!absl::StartsWith(head.path, "/") && !(head.method == "OPTIONS" && head.path == "*")) {
    return refuse(400, ":path is not origin form");
  }
  return CheckAuthority(head, zone_hostname);
}

namespace {

HttpHeaders Http1HeadersFrom(const std::string& authority, HttpHeaders fields) {
  HttpHeaders out;
  out.reserve(fields.size() + 1);
  const std::string* host_field = FindHeader(fields, "host");
  out.push_back({"host", authority.empty() && host_field != nullptr ? *host_field : authority});
  std::string cookie;
  for (HttpHeader& h : fields) {
    if (h.name == "host") {
      continue;
    }
    if (h.name == "cookie") {
      absl::StrAppend(&cookie, cookie.empty() ? "" : "; ", h.value);
      continue;
    }
    out.push_back(std::move(h));
  }
  if (!cookie.empty()) {
    out.push_back({"cookie", std::move(cookie)});
  }
  return out;
}

}  // namespace

HttpHeaders Http1Headers(const Http2RequestHead& head) {
  return Http1HeadersFrom(head.authority, head.fields);
}

HttpHeaders Http1Headers(Http2RequestHead&& head) {
  return Http1HeadersFrom(head.authority, std::move(head.fields));
}

}  // namespace certgate::edge
