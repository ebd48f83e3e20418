#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace certgate {

// PrometheusLabelValue escapes `value` as the Prometheus text format requires
// inside a label's quotes (backslash, double quote, newline), so a tenant's
// hostname or subject can never end a label or a line.
inline std::string PrometheusLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace certgate
