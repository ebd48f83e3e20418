#include "dataplane/http/grpc_refusal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/names.h"
#include "dataplane/http/header_rewriter.h"

namespace certgate::edge {

bool IsGrpcContentType(absl::string_view content_type) {
  absl::string_view type = absl::StripAsciiWhitespace(content_type);
  type = absl::StripAsciiWhitespace(type.substr(0, type.find(';')));
  constexpr absl::string_view kGrpc = "application/grpc";
  if (!absl::StartsWithIgnoreCase(type, kGrpc)) {
    return false;
  }
  absl::string_view rest = type.substr(kGrpc.size());
  return rest.empty() || rest[0] == '+' || absl::StartsWithIgnoreCase(rest, "-web");
}

bool IsGrpcRequest(const HttpHeaders& headers) {
  const std::string* type = FindHeader(headers, "content-type");
  return type != nullptr && IsGrpcContentType(*type);
}

std::string GrpcPercentEncode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e || c == '%') {
      absl::StrAppendFormat(&out, "%%%02X", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

GrpcRefusal MakeGrpcRefusal(CertStatus status, absl::string_view reason,
                            absl::string_view request_content_type) {
  GrpcRefusal out;
  std::string message;
  if (status == CertStatus::kInvalid) {
    out.grpc_status = GrpcStatus::kPermissionDenied;
    message = reason.empty() ? "the client certificate is not valid"
                             : absl::StrCat("the client certificate is not valid: ", reason);
  } else {
    out.grpc_status = GrpcStatus::kUnauthenticated;
    message = "a valid client certificate is required";
  }
  out.grpc_message = GrpcPercentEncode(message);
  // The client's own gRPC content type (it knows how to read it), when it
  // sent a usable one.
  std::string type = IsGrpcContentType(request_content_type) &&
                             IsPrintableAscii(absl::StripAsciiWhitespace(request_content_type))
                         ? std::string(absl::StripAsciiWhitespace(request_content_type))
                         : "application/grpc";
  out.fields = {{"content-type", std::move(type)},
                {"grpc-status", absl::StrCat(static_cast<int>(out.grpc_status))},
                {"grpc-message", out.grpc_message}};
  return out;
}

std::string SerializeGrpcRefusal(const GrpcRefusal& refusal, bool keep_alive) {
  return SerializeResponseHead(refusal.http_status, "", refusal.fields, BodyFraming::kContentLength,
                               0, keep_alive);
}

}  // namespace certgate::edge
