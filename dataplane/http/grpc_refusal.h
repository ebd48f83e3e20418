#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/handshake/tls_server.h"

namespace certgate::edge {

// gRPC status codes the edge answers with (grpc/doc/statuscodes.md).
enum class GrpcStatus { kPermissionDenied = 7, kUnauthenticated = 16 };

// GrpcRefusal is the edge's refusal of a gRPC call, in the form gRPC clients
// read: HTTP 200 with the status in the head (trailers-only), never a 403
// with an HTML or JSON body the client would report as a protocol error.
struct GrpcRefusal {
  int http_status = 200;
  GrpcStatus grpc_status = GrpcStatus::kUnauthenticated;
  std::string grpc_message;  // percent-encoded, as sent
  // content-type (the request's gRPC type), grpc-status, grpc-message. On
  // HTTP/2 they make the one HEADERS frame with END_STREAM; on HTTP/1.1 the
  // response head, with an empty body.
  HttpHeaders fields;
};

// IsGrpcContentType: application/grpc, application/grpc+proto,
// application/grpc-web..., case-insensitive, parameters allowed.
bool IsGrpcContentType(absl::string_view content_type);
// IsGrpcRequest: the request's (first) Content-Type is a gRPC one.
bool IsGrpcRequest(const HttpHeaders& headers);

// GrpcPercentEncode: grpc-message's encoding: every byte outside printable
// ASCII (0x20-0x7e) and `%` become %XX (unlike EscapeHeaderValue, which
// keeps UTF-8: gRPC decodes percent-encoded UTF-8 itself).
std::string GrpcPercentEncode(absl::string_view text);

// MakeGrpcRefusal: the answer to a gRPC request that enforce mode refuses
// (DecideRequest's 403): UNAUTHENTICATED (16) without a certificate,
// PERMISSION_DENIED (7) with one that is not valid, `reason` being the
// verification's reason token ("expired"...), named in grpc-message.
GrpcRefusal MakeGrpcRefusal(CertStatus status, absl::string_view reason,
                            absl::string_view request_content_type);

// SerializeGrpcRefusal: the refusal as an HTTP/1.1 response: 200, the
// fields, Content-Length: 0.
std::string SerializeGrpcRefusal(const GrpcRefusal& refusal, bool keep_alive);

}  // namespace certgate::edge
