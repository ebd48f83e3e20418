#include "dataplane/http/request_target.h"

#include <http_parser.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"

namespace certgate::edge {

absl::StatusOr<RequestTarget> ParseRequestTarget(absl::string_view target) {
  RequestTarget out;
  if (target == "*" || (!target.empty() && target.front() == '/')) {
    out.origin_form = std::string(target);
    return out;
  }
  http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(target.data(), target.size(), /*is_connect=*/0, &url) != 0 ||
      (url.field_set & (1 << UF_HOST)) == 0) {
    return absl::InvalidArgumentError("malformed request target");
  }
  auto field = [&](int f) { return target.substr(url.field_data[f].off, url.field_data[f].len); };
  out.host = absl::AsciiStrToLower(field(UF_HOST));
  // A trailing dot names the same host, as in a Host header.
  if (!out.host.empty() && out.host.back() == '.') {
    out.host.pop_back();
  }
  out.origin_form = (url.field_set & (1 << UF_PATH)) ? std::string(field(UF_PATH)) : "/";
  if (url.field_set & (1 << UF_QUERY)) {
    absl::StrAppend(&out.origin_form, "?", field(UF_QUERY));
  }
  return out;
}

absl::Status CheckRequestHeadBytes(absl::string_view target, const HttpHeaders& headers) {
  for (char c : target) {
    unsigned char b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f) {
      return absl::InvalidArgumentError("control byte or space in the request target");
    }
  }
  for (const HttpHeader& header : headers) {
    // http_parser keeps whitespace before the colon in the name; RFC 9112
    // 5.1 says to refuse it, and a name that is not a token would slip past
    // the stripping of certgate's own headers.
    if (!IsHttpToken(header.name)) {
      return absl::InvalidArgumentError("header name is not an HTTP token");
    }
    for (char c : header.value) {
      unsigned char b = static_cast<unsigned char>(c);
      if ((b < 0x20 && b != '\t') || b == 0x7f) {
        return absl::InvalidArgumentError(
            absl::StrCat("control byte in the value of header ", header.name));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace certgate::edge
