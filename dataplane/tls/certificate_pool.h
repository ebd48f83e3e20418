#pragma once

#include "openssl/base.h"

namespace certgate::edge {

// SharedCertificatePool: the process's CRYPTO_BUFFER_POOL for server
// certificates. A buffer made in it with the same bytes as a live one is
// that one (reference counted), so the CA certificate most zones' chains end
// with is held once, and a zone's SSL_CTX shares its chain with the zone's
// config instead of copying it. Never freed; thread-safe (BoringSSL locks).
CRYPTO_BUFFER_POOL* SharedCertificatePool();

}  // namespace certgate::edge
