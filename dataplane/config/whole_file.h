#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate::edge {

// ErrnoError: "WHAT PATH: strerror(errno)", NotFound for ENOENT, else Internal.
absl::Status ErrnoError(absl::string_view what, const std::string& path);

// ReadWholeFile: the file at `path`, read to its end.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace certgate::edge
