#include "dataplane/metrics/access_log.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace certgate::edge {
namespace {

std::string Rfc3339Millis(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

}  // namespace

std::string JsonQuote(absl::string_view value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        // Control bytes and anything outside ASCII: the log is read by
        // machines, and a client chooses the path and host bytes.
        if (c < 0x20 || c >= 0x7f) {
          out.append(absl::StrFormat("\\u%04x", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string FormatAccessLogLine(const AccessLogEntry& e) {
  return absl::StrCat("{\"time\":", JsonQuote(Rfc3339Millis(e.time)),
                      ",\"zone\":", JsonQuote(e.zone), ",\"host\":", JsonQuote(e.host),
                      ",\"method\":", JsonQuote(e.method), ",\"path\":", JsonQuote(e.path),
                      ",\"status\":", e.status, ",\"cert_status\":", JsonQuote(e.cert_status),
                      ",\"reason\":", JsonQuote(e.reason), ",\"ski\":", JsonQuote(e.ski),
                      ",\"bytes_in\":", e.bytes_in, ",\"bytes_out\":", e.bytes_out,
                      ",\"duration_ms\":", absl::StrFormat("%.3f", e.duration_ms),
                      ",\"client\":", JsonQuote(e.client), "}\n");
}

std::string FormatConnectionLogLine(absl::Time time, absl::string_view client,
                                    absl::string_view sni, absl::string_view reason) {
  return absl::StrCat("{\"time\":", JsonQuote(Rfc3339Millis(time)),
                      ",\"event\":\"handshake_failed\",\"client\":", JsonQuote(client),
                      ",\"sni\":", JsonQuote(sni), ",\"reason\":", JsonQuote(reason), "}\n");
}

std::string FormatOriginFailureLogLine(absl::Time time, absl::string_view event,
                                       absl::string_view client, absl::string_view zone,
                                       absl::string_view reason) {
  return absl::StrCat("{\"time\":", JsonQuote(Rfc3339Millis(time)), ",\"event\":", JsonQuote(event),
                      ",\"client\":", JsonQuote(client), ",\"zone\":", JsonQuote(zone),
                      ",\"reason\":", JsonQuote(reason), "}\n");
}

void WriteLogLine(int fd, absl::string_view line) {
  while (!line.empty()) {
    ssize_t n = write(fd, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;  // A log that cannot be written must not stop serving.
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace certgate::edge
