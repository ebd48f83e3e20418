#pragma once

#include <cstdint>
#include <string>

#include "dataplane/config/edge_config.h"
#include "dataplane/tls/tls_server.h"
#include "dataplane/tls/verification_cache.h"
#include "openssl/base.h"

namespace certgate::edge {

// VerifyOutcome is what CertVerifier found for one presented chain.
struct VerifyOutcome {
  CertStatus status = CertStatus::kNone;
  std::string reason;            // stable token when invalid
  bool from_cache = false;       // the chain result came from the cache
  bool cheap_rejection = false;  // refused before any signature work
  bool chain_verified = false;   // a full chain walk ran
  bssl::UniquePtr<X509> leaf;
  bssl::UniquePtr<STACK_OF(X509)> chain;  // what followed the leaf
  std::string ski_hex;
};

// CertVerifier checks a client chain against one zone's trust: cheap checks
// with no signature work first (parse, issuer known to the zone, leaf dates,
// revoked serials), then the verification cache, then the chain walk, whose
// verdict (valid or invalid) goes into the cache.
class CertVerifier {
 public:
  // Verify: `certs` is the chain as the client sent it, leaf first (may be
  // empty or null: status none). `cache` may be null.
  static VerifyOutcome Verify(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs,
                              VerificationCache* cache, int64_t now_unix);

  // ReasonForX509Error maps an X509_V_ERR_* code to a stable reason token.
  static const char* ReasonForX509Error(int error);

  // ChainHash: SHA-256 over the length-prefixed DER of every certificate.
  static std::string ChainHash(const STACK_OF(CRYPTO_BUFFER) * certs);
};

}  // namespace certgate::edge
