#include "dataplane/tls/alpn_selection.h"

#include "openssl/ssl.h"

namespace certgate::edge {

namespace {

constexpr absl::string_view kH2 = "h2";
constexpr absl::string_view kHttp11 = "http/1.1";

int SelectCallback(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                   void* arg) {
  bool offer_h2 = arg != nullptr;
  std::optional<absl::string_view> chosen =
      SelectAlpn(absl::string_view(reinterpret_cast<const char*>(in), in_len), offer_h2);
  if (!chosen.has_value()) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  // Points into the client's list, which outlives the callback's use.
  *out = reinterpret_cast<const uint8_t*>(chosen->data());
  *out_len = static_cast<uint8_t>(chosen->size());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::optional<absl::string_view> SelectAlpn(absl::string_view client_protocols, bool offer_h2) {
  std::optional<absl::string_view> http11;
  std::optional<absl::string_view> h2_view;
  size_t pos = 0;
  while (pos < client_protocols.size()) {
    size_t len = static_cast<uint8_t>(client_protocols[pos]);
    if (len == 0 || pos + 1 + len > client_protocols.size()) {
      return std::nullopt;  // malformed: BoringSSL checks too, never trust one layer
    }
    absl::string_view name = client_protocols.substr(pos + 1, len);
    if (name == kH2) {
      h2_view = name;
    } else if (name == kHttp11) {
      http11 = name;
    }
    pos += 1 + len;
  }
  if (offer_h2 && h2_view.has_value()) {
    return h2_view;
  }
  return http11;
}

void InstallAlpnSelection(SSL_CTX* ctx, bool offer_h2) {
  // The flag rides in the callback argument: no state to own.
  SSL_CTX_set_alpn_select_cb(ctx, &SelectCallback,
                             offer_h2 ? reinterpret_cast<void*>(uintptr_t{1}) : nullptr);
}

}  // namespace certgate::edge
