#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/config/access_policy.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
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
  // Null when the verdict came from the cache and nothing needed them (no
  // revocations in the zone, no mapped fields for a valid certificate).
  bssl::UniquePtr<X509> leaf;
  bssl::UniquePtr<STACK_OF(X509)> chain;  // what followed the leaf
  std::string ski_hex;
  // Subjects (DER) of the CAs the walk verified (CachedVerdict); null unless
  // the chain is valid.
  std::shared_ptr<const std::vector<std::string>> issuer_names_der;
  // The leaf chains to no root of the zone but a rule pins it (its
  // fingerprint or SPKI hash): valid only under a rule that lists it.
  bool pinned = false;
  // Set when the certificate is valid and the zone's rules read identities.
  std::shared_ptr<const CertIdentity> identity;
};

// CertVerifier checks a client chain against one zone's trust. A chain the
// cache knows (same bytes, zone and trust version) is answered from it, and
// parsed only to check the zone's revocations or to map fields. Otherwise
// cheap checks with no signature work come first (parse, issuer known to the
// zone, leaf dates, revoked serials), then the chain walk, whose verdict
// (valid or invalid) goes into the cache. Looking the cache up first changes
// no verdict: a trust change (roots, revocations, CRLs) moves the trust
// version, revocations are checked on hits too, a cached verdict never
// outlives a certificate of the chain, and chains the cheap checks refuse
// are never cached.
class CertVerifier {
 public:
  // Verify: `certs` is the chain as the client sent it, leaf first (may be
  // empty or null: status none). `cache` may be null.
  // Then the zone's access policy: a leaf that chains to no root but is
  // pinned by a rule is valid (and `pinned`), and the identity its rules
  // read is extracted here, once per handshake.
  static VerifyOutcome Verify(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs,
                              VerificationCache* cache, int64_t now_unix);

  // ReasonForX509Error maps an X509_V_ERR_* code to a stable reason token.
  static const char* ReasonForX509Error(int error);

  // ChainHash: SHA-256 over the length-prefixed DER of every certificate.
  static std::string ChainHash(const STACK_OF(CRYPTO_BUFFER) * certs);

 private:
  // ParseChain fills outcome->leaf and outcome->chain; false when a
  // certificate does not parse.
  static bool ParseChain(const STACK_OF(CRYPTO_BUFFER) * certs, VerifyOutcome* outcome);
  // VerifyChain: the verdict from the zone's trust alone.
  static VerifyOutcome VerifyChain(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs,
                                   VerificationCache* cache, int64_t now_unix);
};

}  // namespace certgate::edge
