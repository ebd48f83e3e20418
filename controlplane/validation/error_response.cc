#include "controlplane/validation/error_response.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "controlplane/validation/json_validator.h"

namespace certgate::controlplane {
absl::Status ValidateErrorResponse(const certgate::v1::ErrorResponse& response) {
  const std::string& content_type = response.content_type();
  if (content_type.empty()) {
    return absl::InvalidArgumentError("error response content type is empty");
  }
  if (content_type.size() > 256) {
    return absl::InvalidArgumentError("error response content type is longer than 256 characters");
  }
  for (char c : content_type) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f) {
      return absl::InvalidArgumentError("error response content type has a control character");
    }
  }
  std::string media_type(absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')))));
  size_t slash = media_type.find('/');
  bool valid_media = slash != std::string::npos && slash > 0 && slash + 1 < media_type.size();
  for (size_t i = 0; valid_media && i < media_type.size(); ++i) {
    valid_media = i == slash || IsHttpTokenChar(media_type[i]);
  }
  if (!valid_media) {
    return absl::InvalidArgumentError(
        absl::StrCat("error response content type \"", content_type, "\" is not type/subtype"));
  }
  if (response.body().size() > kMaxErrorBodyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "error response body is ", response.body().size(), " bytes; at most 65536 are allowed"));
  }
  if (media_type == "application/json" || absl::EndsWith(media_type, "+json")) {
    absl::Status json = ValidateJson(response.body());
    if (!json.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("error response body is not valid JSON: ", json.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
