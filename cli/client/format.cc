#include "cli/client/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace certgate::cli {

std::string FormatUtc(int64_t unix_seconds) {
  if (unix_seconds == 0) {
    return "-";
  }
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string ModeName(certgate::v1::Mode mode) {
  switch (mode) {
    case certgate::v1::MODE_ENFORCE:
      return "enforce";
    case certgate::v1::MODE_REPORT:
      return "report";
    case certgate::v1::MODE_OFF:
      return "off";
    default:
      return "unspecified";
  }
}

absl::StatusOr<certgate::v1::Mode> ParseMode(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "enforce") {
    return certgate::v1::MODE_ENFORCE;
  }
  if (lower == "report") {
    return certgate::v1::MODE_REPORT;
  }
  if (lower == "off") {
    return certgate::v1::MODE_OFF;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mode \"", OneLine(name), "\" (want enforce, report or off)"));
}

std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool after_break = false;
  for (char c : text) {
    if (c == '\r' || c == '\n') {
      after_break = true;
      continue;
    }
    if (after_break) {
      // Indentation after a line break is part of the break.
      if (c == ' ' || c == '\t') {
        continue;
      }
      if (!out.empty() && out.back() != ' ') {
        out.push_back(' ');
      }
      after_break = false;
    }
    out.push_back(c);
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) {
    width = std::max(width, name.size() + 1);
  }
  std::string out;
  for (const auto& [name, value] : fields) {
    std::string label = absl::StrCat(name, ":");
    label.append(width - label.size() + 2, ' ');
    absl::StrAppend(&out, label, value, "\n");
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}\n";
  }
  if (out.empty() || out.back() != '\n') {
    out.push_back('\n');
  }
  return out;
}

}  // namespace certgate::cli
