#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

}  // namespace certgate::edge
