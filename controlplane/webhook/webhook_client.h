#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/origin_policy.h"
#include "controlplane/webhook/webhook_url.h"
#include "openssl/ssl.h"

namespace certgate::controlplane {

struct WebhookClientOptions {
  // Which addresses a webhook may reach (the zones' origin policy).
  OriginPolicy policy;
  // CA bundle (PEM) that verifies https webhooks; empty: the system store.
  std::string ca_file;
  // Connect and send, each; and the whole wait for the status line.
  absl::Duration timeout = absl::Seconds(10);
};

// WebhookClient POSTs one JSON body per connection with HTTP/1.1: a plain
// socket for http://, BoringSSL (peer verified, name checked) for https://.
// libcurl is not used: its OpenSSL build would share a binary with the
// BoringSSL the control plane links statically, and the two define the same
// symbols. Every address the host resolves to is judged by the origin policy
// at each send, so a name that later points inside the network is refused.
// Blocking; one caller thread.
class WebhookClient {
 public:
  // Create: INVALID_ARGUMENT when `ca_file` cannot be read.
  static absl::StatusOr<std::unique_ptr<WebhookClient>> Create(WebhookClientOptions options);

  // Post returns the response's status code (any code; the caller decides),
  // or UNAVAILABLE / PERMISSION_DENIED naming only the URL's origin.
  absl::StatusOr<int> Post(const WebhookUrl& url, const std::string& json_body);

 private:
  explicit WebhookClient(WebhookClientOptions options) : options_(std::move(options)) {}
  absl::StatusOr<int> Connect(const WebhookUrl& url);

  WebhookClientOptions options_;
  bssl::UniquePtr<SSL_CTX> tls_;
};

}  // namespace certgate::controlplane
