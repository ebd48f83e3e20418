#include "dataplane/handshake/cert_verifier.h"

#include <algorithm>
#include <utility>

#include "common/x509_info.h"
#include "dataplane/tls/zone_trust.h"
#include "openssl/bytestring.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/pool.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate::edge {

namespace {

// A verdict is re-checked at least this often, so a clock or policy change
// is never hidden for long.
constexpr int64_t kMaxVerdictLifetimeSeconds = 3600;
// Longest chain (leaf to root) accepted.
constexpr int kMaxChainDepth = 8;

VerifyOutcome Invalid(VerifyOutcome outcome, const char* reason, bool cheap) {
  outcome.status = CertStatus::kInvalid;
  outcome.reason = reason;
  outcome.cheap_rejection = cheap;
  return outcome;
}

bool NameMatches(const X509* issuer_candidate, const X509* cert) {
  return X509_NAME_cmp(X509_get_subject_name(issuer_candidate), X509_get_issuer_name(cert)) == 0;
}

bool IsSelfIssued(const X509* cert) { return NameMatches(cert, cert); }

// IgnoreLeafDates: a verify callback for zones that accept expired client
// certificates; the dates of every CA in the chain still count.
int IgnoreLeafDates(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error_depth(ctx) == 0) {
    int error = X509_STORE_CTX_get_error(ctx);
    if (error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID) {
      return 1;
    }
  }
  return ok;
}

bool AnyRevoked(const ZoneTrust& trust, const X509* leaf, const STACK_OF(X509) * chain) {
  if (trust.IsRevoked(leaf)) {
    return true;
  }
  for (size_t i = 0; i < sk_X509_num(chain); ++i) {
    if (trust.IsRevoked(sk_X509_value(chain, i))) {
      return true;
    }
  }
  return false;
}

// IssuerKnown: the leaf's issuer is in the zone, or a certificate the client
// sent is the leaf's issuer (by name) and itself leads by name to the zone.
// No signature is checked here.
bool IssuerKnown(const ZoneTrust& trust, const X509* leaf, const STACK_OF(X509) * chain) {
  const X509* current = leaf;
  size_t steps = sk_X509_num(chain) + 1;
  for (size_t step = 0; step < steps; ++step) {
    if (trust.KnowsIssuerOf(current)) {
      return true;
    }
    if (IsSelfIssued(current)) {
      return false;
    }
    const X509* next = nullptr;
    for (size_t i = 0; i < sk_X509_num(chain); ++i) {
      const X509* candidate = sk_X509_value(chain, i);
      if (candidate != current && NameMatches(candidate, current)) {
        next = candidate;
        break;
      }
    }
    if (next == nullptr) {
      return false;
    }
    current = next;
  }
  return false;
}

}  // namespace

const char* CertVerifier::ReasonForX509Error(int error) {
  switch (error) {
    case X509_V_OK:
      return "";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "not_yet_valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
      return "unknown_ca";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return "bad_signature";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "chain_too_long";
    case X509_V_ERR_INVALID_PURPOSE:
      return "not_client_auth";
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return "invalid_ca";
    case X509_V_ERR_CERT_REVOKED:
      return "revoked";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return "malformed";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
      return "name_constraints";
    default:
      return "verification_failed";
  }
}

std::string CertVerifier::ChainHash(const STACK_OF(CRYPTO_BUFFER) * certs) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    const CRYPTO_BUFFER* buffer = sk_CRYPTO_BUFFER_value(certs, i);
    size_t len = CRYPTO_BUFFER_len(buffer);
    uint8_t prefix[4] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                         static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    SHA256_Update(&sha, prefix, sizeof(prefix));
    SHA256_Update(&sha, CRYPTO_BUFFER_data(buffer), len);
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

bool CertVerifier::ParseChain(const STACK_OF(CRYPTO_BUFFER) * certs, VerifyOutcome* outcome) {
  outcome->chain.reset(sk_X509_new_null());
  if (!outcome->chain) {
    return false;
  }
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    bssl::UniquePtr<X509> cert(
        X509_parse_from_buffer(const_cast<CRYPTO_BUFFER*>(sk_CRYPTO_BUFFER_value(certs, i))));
    if (!cert) {
      ERR_clear_error();
      return false;
    }
    if (i == 0) {
      outcome->leaf = std::move(cert);
    } else if (!bssl::PushToStack(outcome->chain.get(), std::move(cert))) {
      return false;
    }
  }
  return true;
}

VerifyOutcome CertVerifier::Verify(const ZoneConfig& zone, const STACK_OF(CRYPTO_BUFFER) * certs,
                                   VerificationCache* cache, int64_t now_unix) {
  VerifyOutcome outcome = VerifyChain(zone, certs, cache, now_unix);
  const AccessPolicy* policy = zone.access.get();
  if (policy == nullptr || outcome.status == CertStatus::kNone) {
    return outcome;
  }
  bool unchained = outcome.status == CertStatus::kInvalid && outcome.reason == "unknown_ca";
  bool want_identity = outcome.status == CertStatus::kValid && policy->needs_identity();
  if (!(unchained && policy->has_pins()) && !want_identity) {
    return outcome;
  }
  if (outcome.leaf == nullptr && !ParseChain(certs, &outcome)) {
    return Invalid(std::move(outcome), "malformed", true);
  }
  // A pinned leaf chained to nothing: it has no verified issuer.
  auto identity = std::make_shared<CertIdentity>(
      CertIdentity::Of(outcome.leaf.get(), unchained || outcome.issuer_names_der == nullptr
                                               ? std::vector<std::string>()
                                               : *outcome.issuer_names_der));
  if (unchained) {
    // Pinned: trusted for itself, by its exact bytes or key, whatever (if
    // anything) issued it. Its dates and the zone's revocations still count.
    if (!policy->IsPinned(*identity)) {
      return outcome;
    }
    const X509* leaf = outcome.leaf.get();
    bool dated = now_unix >= NotBeforeUnix(leaf) && now_unix <= NotAfterUnix(leaf);
    if (!dated && !policy->validation().accept_expired()) {
      return Invalid(std::move(outcome),
                     now_unix < NotBeforeUnix(leaf) ? "not_yet_valid" : "expired", true);
    }
    if (zone.trust != nullptr && zone.trust->IsRevoked(leaf)) {
      return Invalid(std::move(outcome), "revoked", true);
    }
    X509* mutable_leaf = outcome.leaf.get();
    uint32_t flags = X509_get_extension_flags(mutable_leaf);
    bool client_auth = (flags & EXFLAG_XKUSAGE) != 0
                           ? (X509_get_extended_key_usage(mutable_leaf) & XKU_SSL_CLIENT) != 0
                           : policy->validation().allow_missing_client_auth_eku();
    if (!client_auth) {
      return Invalid(std::move(outcome), "not_client_auth", true);
    }
    outcome.status = CertStatus::kValid;
    outcome.reason = dated ? "" : (now_unix < NotBeforeUnix(leaf) ? "not_yet_valid" : "expired");
    outcome.pinned = true;
  }
  outcome.identity = std::move(identity);
  return outcome;
}

VerifyOutcome CertVerifier::VerifyChain(const ZoneConfig& zone,
                                        const STACK_OF(CRYPTO_BUFFER) * certs,
                                        VerificationCache* cache, int64_t now_unix) {
  VerifyOutcome outcome;
  if (certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) {
    return outcome;
  }
  std::string chain_hash = ChainHash(certs);
  if (cache != nullptr) {
    std::optional<CachedVerdict> cached =
        cache->Lookup(chain_hash, zone.id, zone.trust_version, now_unix);
    if (cached.has_value()) {
      outcome.from_cache = true;
      outcome.status = cached->valid ? CertStatus::kValid : CertStatus::kInvalid;
      outcome.reason = std::move(cached->reason);
      outcome.ski_hex = std::move(cached->ski_hex);
      outcome.issuer_names_der = std::move(cached->issuer_names_der);
      // Revocations are checked on every handshake even though they move
      // the trust version: a verdict must never outlive a revocation.
      bool check_revoked = zone.trust != nullptr && zone.trust->has_revocations();
      bool map_fields = outcome.status == CertStatus::kValid && !zone.header_mappings.empty();
      if (!check_revoked && !map_fields) {
        return outcome;
      }
      if (!ParseChain(certs, &outcome)) {
        return Invalid(std::move(outcome), "malformed", true);
      }
      if (check_revoked && AnyRevoked(*zone.trust, outcome.leaf.get(), outcome.chain.get())) {
        outcome.from_cache = false;
        return Invalid(std::move(outcome), "revoked", true);
      }
      return outcome;
    }
  }

  if (!ParseChain(certs, &outcome)) {
    return Invalid(std::move(outcome), "malformed", true);
  }
  X509* leaf = outcome.leaf.get();
  outcome.ski_hex = SubjectKeyIdHex(leaf);

  // Cheap checks: no signature is verified before these pass.
  if (zone.trust == nullptr || !IssuerKnown(*zone.trust, leaf, outcome.chain.get())) {
    return Invalid(std::move(outcome), "unknown_ca", true);
  }
  const v1::ValidationSettings& settings = zone.access != nullptr
                                               ? zone.access->validation()
                                               : v1::ValidationSettings::default_instance();
  // Accepting an expired leaf: the walk overlooks the leaf's dates only
  // (IgnoreLeafDates), and the reason stays to say what was overlooked.
  std::string date_note;
  if (now_unix < NotBeforeUnix(leaf)) {
    if (!settings.accept_expired()) {
      return Invalid(std::move(outcome), "not_yet_valid", true);
    }
    date_note = "not_yet_valid";
  }
  if (now_unix > NotAfterUnix(leaf)) {
    if (!settings.accept_expired()) {
      return Invalid(std::move(outcome), "expired", true);
    }
    date_note = "expired";
  }
  if (AnyRevoked(*zone.trust, leaf, outcome.chain.get())) {
    return Invalid(std::move(outcome), "revoked", true);
  }
  // More intermediates sent than the zone allows: no walk can fit.
  if (settings.max_chain_depth() > 0 &&
      sk_X509_num(outcome.chain.get()) > static_cast<size_t>(settings.max_chain_depth())) {
    return Invalid(std::move(outcome), "chain_too_long", true);
  }

  // The chain walk: the zone's roots are the only anchors; the zone's and
  // the client's intermediates may be used to get there.
  outcome.chain_verified = true;
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  bssl::UniquePtr<X509_STORE_CTX> store_ctx(X509_STORE_CTX_new());
  if (!untrusted || !store_ctx) {
    return Invalid(std::move(outcome), "verification_failed", false);
  }
  auto add_untrusted = [&untrusted](const STACK_OF(X509) * from) {
    for (size_t i = 0; i < sk_X509_num(from); ++i) {
      X509* cert = sk_X509_value(from, i);
      X509_up_ref(cert);
      if (!sk_X509_push(untrusted.get(), cert)) {
        X509_free(cert);
        return false;
      }
    }
    return true;
  };
  if (!add_untrusted(outcome.chain.get()) || !add_untrusted(zone.trust->intermediates()) ||
      !X509_STORE_CTX_init(store_ctx.get(), zone.trust->store(), leaf, untrusted.get())) {
    ERR_clear_error();
    return Invalid(std::move(outcome), "verification_failed", false);
  }
  X509_STORE_CTX_set_purpose(store_ctx.get(), X509_PURPOSE_SSL_CLIENT);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store_ctx.get());
  // BoringSSL's depth counts the trust anchor's step too: N intermediates
  // need N + 1.
  X509_VERIFY_PARAM_set_depth(param, settings.max_chain_depth() > 0
                                         ? std::min(settings.max_chain_depth() + 1, kMaxChainDepth)
                                         : kMaxChainDepth);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now_unix));
  if (!date_note.empty()) {
    X509_STORE_CTX_set_verify_cb(store_ctx.get(), &IgnoreLeafDates);
  }

  CachedVerdict verdict;
  if (X509_verify_cert(store_ctx.get()) == 1) {
    verdict.valid = true;
    // Revocations of the intermediates the zone supplied count as well.
    STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(store_ctx.get());
    for (size_t i = 1; i < sk_X509_num(verified); ++i) {
      if (zone.trust->IsRevoked(sk_X509_value(verified, i))) {
        verdict.valid = false;
        verdict.reason = "revoked";
        break;
      }
    }
    // The purpose check lets a leaf without any EKU through; by default a
    // zone wants clientAuth stated.
    if (verdict.valid && !settings.allow_missing_client_auth_eku() &&
        (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) == 0) {
      verdict.valid = false;
      verdict.reason = "not_client_auth";
    }
    if (verdict.valid) {
      verdict.reason = date_note;
      auto names = std::make_shared<std::vector<std::string>>();
      for (size_t i = 1; i < sk_X509_num(verified); ++i) {
        names->push_back(NameToDer(X509_get_subject_name(sk_X509_value(verified, i))));
      }
      verdict.issuer_names_der = std::move(names);
    }
  } else {
    verdict.valid = false;
    verdict.reason = ReasonForX509Error(X509_STORE_CTX_get_error(store_ctx.get()));
  }
  ERR_clear_error();

  // Never outlive any certificate of the presented chain.
  int64_t expires = std::min(now_unix + kMaxVerdictLifetimeSeconds, NotAfterUnix(leaf));
  for (size_t i = 0; i < sk_X509_num(outcome.chain.get()); ++i) {
    expires = std::min(expires, NotAfterUnix(sk_X509_value(outcome.chain.get(), i)));
  }
  if (verdict.valid) {
    STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(store_ctx.get());
    for (size_t i = 0; i < sk_X509_num(verified); ++i) {
      expires = std::min(expires, NotAfterUnix(sk_X509_value(verified, i)));
    }
  }
  verdict.expires_unix = expires;
  verdict.ski_hex = outcome.ski_hex;
  outcome.issuer_names_der = verdict.issuer_names_der;

  outcome.status = verdict.valid ? CertStatus::kValid : CertStatus::kInvalid;
  outcome.reason = verdict.reason;
  if (cache != nullptr && expires > now_unix) {
    cache->Insert(chain_hash, zone.id, zone.trust_version, std::move(verdict));
  }
  return outcome;
}

}  // namespace certgate::edge
