#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"
#include "openssl/x509.h"

namespace certgate::edge {

// ZoneTrust is one zone's client-certificate trust: its roots (the only
// anchors of its X509_STORE), its intermediates (untrusted, for chain
// building), an index of every subject and key id it holds, and its revoked
// serials. Immutable once built and shared by every handshake on the zone.
class ZoneTrust {
 public:
  // Create parses the zone's roots, intermediates and revocations. An
  // unparsable certificate fails with INVALID_ARGUMENT saying which one.
  // Zones with the same material share one ZoneTrust (it is immutable).
  static absl::StatusOr<std::shared_ptr<const ZoneTrust>> Create(const v1::EdgeZone& zone);

  // store: the zone's roots only; owned by this object.
  X509_STORE* store() const { return store_.get(); }
  // intermediates: the zone's intermediates (may be empty); owned.
  const STACK_OF(X509) * intermediates() const { return intermediates_.get(); }
  const std::vector<bssl::UniquePtr<X509>>& roots() const { return roots_; }

  // KnowsIssuerOf: `cert`'s issuer name, or its authority key id, is the
  // subject (or subject key id) of a root or intermediate of this zone. O(1):
  // two hash-set probes whatever the number of roots.
  bool KnowsIssuerOf(const X509* cert) const;

  // IsRevoked: `cert`'s serial is revoked under its issuer, or under every
  // issuer of the zone.
  bool IsRevoked(const X509* cert) const;
  bool has_revocations() const { return !revoked_.empty() || !revoked_any_issuer_.empty(); }

  // ClientCaNames: DER names of the roots for the CertificateRequest, capped
  // at `max_total_bytes` in all.
  std::vector<std::string> ClientCaNames(size_t max_total_bytes) const;

 private:
  ZoneTrust() = default;
  static absl::StatusOr<std::shared_ptr<const ZoneTrust>> Build(const v1::EdgeZone& zone);

  bssl::UniquePtr<X509_STORE> store_;
  bssl::UniquePtr<STACK_OF(X509)> intermediates_;
  std::vector<bssl::UniquePtr<X509>> roots_;
  // X509_NAME_hash of every root and intermediate subject (canonical form,
  // so equal names encoded differently still match).
  absl::flat_hash_set<unsigned long> subject_hashes_;  // NOLINT(runtime/int)
  // Raw subject key ids of every root and intermediate.
  absl::flat_hash_set<std::string> key_ids_;
  // issuer name DER + '\0' + serial hex.
  absl::flat_hash_set<std::string> revoked_;
  // Serial hex revoked under every issuer.
  absl::flat_hash_set<std::string> revoked_any_issuer_;
};

}  // namespace certgate::edge
