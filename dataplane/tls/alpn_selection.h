#pragma once

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "openssl/base.h"

namespace certgate::edge {

// SelectAlpn picks the protocol for a client's ALPN list (RFC 7301 wire
// form: length-prefixed names): "h2" when `offer_h2` and the client offers
// it, else "http/1.1" when offered; nullopt when neither (the handshake then
// goes on without ALPN, as for a client that sent none, and the connection
// speaks HTTP/1.1) or when the list is malformed.
std::optional<absl::string_view> SelectAlpn(absl::string_view client_protocols, bool offer_h2);

// InstallAlpnSelection sets `ctx`'s ALPN callback to SelectAlpn. Nothing
// calls it yet: until the connection drives HTTP/2 (dataplane/http2), a
// zone's SSL_CTX must not offer h2, so that clients keep negotiating
// HTTP/1.1.
void InstallAlpnSelection(SSL_CTX* ctx, bool offer_h2);

}  // namespace certgate::edge
