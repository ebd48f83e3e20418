#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certgate::edge {

// AccessLogEntry is one request as the access log records it.
// The fields borrow the caller's strings: an entry is built and formatted
// for every request, and copying them would cost more than the formatting.
struct AccessLogEntry {
  absl::Time time;
  absl::string_view zone;
  absl::string_view host;
  absl::string_view method;
  absl::string_view path;
  int status = 0;
  absl::string_view cert_status;  // none | valid | invalid
  absl::string_view reason;       // why invalid ("" otherwise)
  absl::string_view ski;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double duration_ms = 0;
  absl::string_view client;  // client IP
};

// AppendAccessLogLine appends one JSON object and a newline to `out`.
void AppendAccessLogLine(std::string* out, const AccessLogEntry& entry);
// FormatAccessLogLine returns AppendAccessLogLine's line.
std::string FormatAccessLogLine(const AccessLogEntry& entry);

// FormatConnectionLogLine returns one JSON line for a handshake that failed
// at the TLS layer: when, who, which SNI and why.
std::string FormatConnectionLogLine(absl::Time time, absl::string_view client,
                                    absl::string_view sni, absl::string_view reason);

// FormatOriginFailureLogLine returns one JSON line for a request the edge did
// not forward to its zone's origin: `event` says which step failed
// ("origin_refused": origin policy or the edge's own address;
// "origin_tls_failed": TLS to an https origin not verified or refused).
std::string FormatOriginFailureLogLine(absl::Time time, absl::string_view event,
                                       absl::string_view client, absl::string_view zone,
                                       absl::string_view reason);

// JsonQuote returns `value` as a JSON string literal (bytes that are not
// valid UTF-8 text are escaped as \u00XX).
std::string JsonQuote(absl::string_view value);

// WriteLogLine writes `line` to `fd` with one write(2), so lines from several
// threads do not interleave.
void WriteLogLine(int fd, absl::string_view line);

}  // namespace certgate::edge
