#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/origin_policy.h"

namespace certgate::controlplane {

// WebhookUrl is a tenant's webhook endpoint, checked: `http://` or
// `https://`, a host, an optional port, a path (and query). It never holds
// credentials: a URL with `user:pass@` is refused rather than stored.
struct WebhookUrl {
  bool https = false;
  std::string host;  // IPv6 literals without brackets
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"

  // Parse: INVALID_ARGUMENT with a one-line reason that never repeats the
  // URL's path or query (they may carry a secret). A literal address the
  // policy refuses is refused here; a name is judged at every send, on what
  // it resolves to.
  static absl::StatusOr<WebhookUrl> Parse(absl::string_view text, const OriginPolicy& policy);

  // Origin: scheme, host and port, what logs and audit rows may show.
  std::string Origin() const;
  // HostHeader: the Host header value (port only when not the default).
  std::string HostHeader() const;
};

}  // namespace certgate::controlplane
