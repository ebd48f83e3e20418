#include "dataplane/metrics/access_log.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace certgate::edge {
namespace {

// AppendRfc3339Millis: "2024-05-01T12:00:00.123Z". The part up to the
// seconds is formatted once per second per thread: the access log writes
// one per request.
void AppendRfc3339Millis(std::string* out, absl::Time time) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string cached_prefix;  // "2024-05-01T12:00:00"
  int64_t millis = absl::ToUnixMillis(time);
  int64_t second = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  if (second != cached_second) {
    cached_prefix =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_second = second;
  }
  int ms = static_cast<int>(millis - second * 1000);
  char frac[6] = {'.',
                  static_cast<char>('0' + ms / 100),
                  static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10),
                  'Z',
                  '"'};
  out->push_back('"');
  out->append(cached_prefix);
  out->append(frac, sizeof(frac));
}

// AppendJsonQuoted: JsonQuote(value) appended to `out`; a value with nothing
// to escape (the usual case) is copied in one piece.
void AppendJsonQuoted(std::string* out, absl::string_view value) {
  bool plain = true;
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->push_back('"');
    out->append(value.data(), value.size());
    out->push_back('"');
  } else {
    out->append(JsonQuote(value));
  }
}

std::string Rfc3339Millis(absl::Time time) {
  std::string out;
  AppendRfc3339Millis(&out, time);
  return out.substr(1, out.size() - 2);
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
  std::string out;
  AppendAccessLogLine(&out, e);
  return out;
}

void AppendAccessLogLine(std::string* out_ptr, const AccessLogEntry& e) {
  // Appended piece by piece, straight into the log buffer: this runs for
  // every request.
  std::string& out = *out_ptr;
  out.reserve(out.size() + 192 + e.zone.size() + e.host.size() + e.path.size() + e.reason.size() +
              e.ski.size() + e.client.size());
  out.append("{\"time\":");
  AppendRfc3339Millis(out_ptr, e.time);
  out.append(",\"zone\":");
  AppendJsonQuoted(out_ptr, e.zone);
  out.append(",\"host\":");
  AppendJsonQuoted(out_ptr, e.host);
  out.append(",\"method\":");
  AppendJsonQuoted(out_ptr, e.method);
  out.append(",\"path\":");
  AppendJsonQuoted(out_ptr, e.path);
  absl::StrAppend(out_ptr, ",\"status\":", e.status, ",\"cert_status\":");
  AppendJsonQuoted(out_ptr, e.cert_status);
  out.append(",\"reason\":");
  AppendJsonQuoted(out_ptr, e.reason);
  out.append(",\"ski\":");
  AppendJsonQuoted(out_ptr, e.ski);
  absl::StrAppend(out_ptr, ",\"bytes_in\":", e.bytes_in, ",\"bytes_out\":", e.bytes_out,
                  ",\"duration_ms\":");
  // %.3f without a format string parse.
  double ms = e.duration_ms < 0 ? 0 : e.duration_ms;
  uint64_t thousandths = static_cast<uint64_t>(ms * 1000 + 0.5);
  char frac[4] = {'.', static_cast<char>('0' + thousandths / 100 % 10),
                  static_cast<char>('0' + thousandths / 10 % 10),
                  static_cast<char>('0' + thousandths % 10)};
  absl::StrAppend(out_ptr, thousandths / 1000);
  out.append(frac, sizeof(frac));
  out.append(",\"client\":");
  AppendJsonQuoted(out_ptr, e.client);
  out.append("}\n");
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
