#include "dataplane/tls/certificate_pool.h"

#include "openssl/pool.h"

namespace certgate::edge {

CRYPTO_BUFFER_POOL* SharedCertificatePool() {
  // Leaked on purpose: buffers from it may outlive static destruction.
  static CRYPTO_BUFFER_POOL* const pool = CRYPTO_BUFFER_POOL_new();
  return pool;
}

}  // namespace certgate::edge
