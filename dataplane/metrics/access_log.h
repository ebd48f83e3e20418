#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace certgate::edge {

// AccessLogEntry is one request as the access log records it.
struct AccessLogEntry {
  absl::Time time;
  std::string zone;
  std::string host;
  std::string method;
  std::string path;
  int status = 0;
  std::string cert_status;  // none | valid | invalid
  std::string reason;       // why invalid ("" otherwise)
  std::string ski;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  double duration_ms = 0;
  std::string client;  // client IP
};

// FormatAccessLogLine returns one JSON object and a newline.
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
