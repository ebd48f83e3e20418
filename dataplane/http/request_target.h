#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

// RequestTarget is a request line's target, split so the edge can check the
// authority an absolute-form target carries (RFC 9112 3.2.2) and forward only
// the origin form.
struct RequestTarget {
  std::string host;         // lowercase host of an absolute-form target; "" otherwise
  std::string origin_form;  // "/path?query" as the origin gets it ("*" stays "*")
};

// ParseRequestTarget accepts origin form ("/a?b"), absolute form
// ("http://h:1/a?b") and "*"; INVALID_ARGUMENT for anything else.
absl::StatusOr<RequestTarget> ParseRequestTarget(absl::string_view target);

// CheckRequestHeadBytes refuses control bytes http_parser lets through: in the
// target (Debian's non-strict build accepts HTAB and FF there) and at the start
// of a header value (it checks every value byte but the first). An origin
// parses what the edge forwards; it must never see what the edge did not.
absl::Status CheckRequestHeadBytes(absl::string_view target, const HttpHeaders& headers);

}  // namespace certgate::edge
