#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/common.pb.h"
#include "google/protobuf/message.h"

namespace certgate::cli {

// FormatUtc renders seconds since the Unix epoch as "2026-11-27 12:00:00 UTC";
// 0 (never set) renders as "-".
std::string FormatUtc(int64_t unix_seconds);

// ModeName: "enforce", "report", "off" ("unspecified" for the zero value).
std::string ModeName(certgate::v1::Mode mode);

// ParseMode accepts "enforce", "report" or "off" (any case); INVALID_ARGUMENT
// naming the value otherwise.
absl::StatusOr<certgate::v1::Mode> ParseMode(absl::string_view name);

// OneLine collapses CR/LF runs to single spaces and trims, so that any message
// prints as exactly one line.
std::string OneLine(absl::string_view text);

// FormatFields renders "Name:  value" lines with the values aligned.
std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields);

// ToJson renders a message as canonical proto3 JSON (lowerCamelCase names,
// 64-bit numbers as strings) with every field present, zero values too, so
// that scripts see a stable shape.
std::string ToJson(const google::protobuf::Message& message);

// YesNo: "yes" / "no".
inline std::string YesNo(bool value) { return value ? "yes" : "no"; }

}  // namespace certgate::cli
