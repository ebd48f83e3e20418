#include "controlplane/webhook/webhook_url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"

namespace certgate::controlplane {

namespace {

constexpr size_t kMaxUrlLength = 2048;

}  // namespace

absl::StatusOr<WebhookUrl> WebhookUrl::Parse(absl::string_view text, const OriginPolicy& policy) {
  if (text.size() > kMaxUrlLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook URL is ", text.size(), " bytes; at most ", kMaxUrlLength));
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("webhook URL has a space or control character");
    }
  }
  WebhookUrl url;
  size_t scheme_end = text.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("webhook URL must start with http:// or https://");
  }
  std::string scheme = absl::AsciiStrToLower(text.substr(0, scheme_end));
  if (scheme == "https") {
    url.https = true;
  } else if (scheme != "http") {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook URL scheme \"", scheme, "\" is not http or https"));
  }
  absl::string_view rest = text.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, authority_end);
  absl::string_view target =
      authority_end == absl::string_view::npos ? "" : rest.substr(authority_end);
  if (absl::StrContains(authority, '@')) {
    return absl::InvalidArgumentError(
        "webhook URL must not carry credentials (user:password@); put a secret in the path");
  }
  if (absl::StrContains(target, '#')) {
    return absl::InvalidArgumentError("webhook URL must not have a #fragment");
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("webhook URL has an unclosed [ in its host");
    }
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return absl::InvalidArgumentError("webhook URL has text after its ]");
      }
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    return absl::InvalidArgumentError("webhook URL has no host");
  }
  url.host = absl::AsciiStrToLower(host);
  url.port = url.https ? 443 : 80;
  if (!port.empty() || (authority.size() > 0 && authority.back() == ':')) {
    int value = 0;
    if (!absl::SimpleAtoi(port, &value) || value < 1 || value > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook URL port \"", port, "\" is not 1 to 65535"));
    }
    url.port = static_cast<uint16_t>(value);
  }
  url.target = target.empty() ? "/" : std::string(target);
  if (url.target[0] == '?') {
    url.target.insert(0, "/");
  }
  absl::Status allowed = policy.CheckOriginHost(
      absl::StrContains(url.host, ':') ? absl::StrCat("[", url.host, "]") : url.host);
  if (!allowed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("webhook URL refused: ", allowed.message()));
  }
  // What the checks above let through (a host that is no DNS name, a port
  // spelled "+80") is refused as it is for a zone's origin.
  if (absl::StatusOr<std::string> origin = NormalizeOrigin(absl::StrCat(scheme, "://", authority));
      !origin.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("webhook URL: ", origin.status().message()));
  }
  return url;
}

std::string WebhookUrl::Origin() const {
  return absl::StrCat(https ? "https://" : "http://", HostHeader());
}

std::string WebhookUrl::HostHeader() const {
  std::string host_part = absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
  if (port == (https ? 443 : 80)) {
    return host_part;
  }
  return absl::StrCat(host_part, ":", port);
}

}  // namespace certgate::controlplane
