#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certgate/v1/common.pb.h"
#include "controlplane/ownership/hostname_claims.h"
#include "controlplane/ownership/txt_resolver.h"
#include "controlplane/pki/edge_ca.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

struct HostnameVerifierOptions {
  HostnameVerification mode = HostnameVerification::kDns;
  // How often pending zones' DNS challenges are looked up again (dns mode).
  absl::Duration recheck_interval = absl::Minutes(5);
  // At most this many DNS lookups run at once for `zone verify` calls; more
  // are refused, so tenants cannot tie up every API thread.
  int max_concurrent_lookups = 8;
  // Validity of the origin client certificate activation issues.
  int origin_cert_days = 90;
};

// Activation is what making a zone active did.
struct Activation {
  ZoneRow zone;
  uint64_t config_version = 0;              // 0 when the zone was active already
  std::vector<std::string> dropped_claims;  // other tenants' pending claims removed
};

// HostnameVerifier turns pending zones active: by their DNS TXT challenge
// (Verify, and a background re-check of every pending zone), or by an
// admin's approval. Activation issues the zone's edge-CA certificate when the
// tenant uploaded none, and drops other tenants' pending claims the newly
// active zone conflicts with (hostname_claims.h has the rules). DNS lookups
// run without the store lock, bounded by the resolver's timeout.
class HostnameVerifier {
 public:
  HostnameVerifier(SqliteStore* store, const EdgeCa* edge_ca, const TxtResolver* resolver,
                   HostnameVerifierOptions options)
      : store_(store), edge_ca_(edge_ca), resolver_(resolver), options_(options) {}
  ~HostnameVerifier() { Stop(); }
  HostnameVerifier(const HostnameVerifier&) = delete;
  HostnameVerifier& operator=(const HostnameVerifier&) = delete;

  HostnameVerification mode() const { return options_.mode; }

  // EventListener hears each zone made active (`verified`, detail: how) and
  // each failed DNS check (detail: why), e.g. to notify the tenant. Set it
  // before Start; it is called without any lock held.
  using EventListener =
      std::function<void(const ZoneRow& zone, bool verified, const std::string& detail)>;
  void SetEventListener(EventListener listener) { listener_ = std::move(listener); }

  // CheckClaimAllowed: ALREADY_EXISTS (ClaimConflictError) when another
  // tenant's active zone blocks `tenant_id` from claiming `hostname`.
  static absl::Status CheckClaimAllowed(StoreTransaction& txn, const std::string& tenant_id,
                                        const std::string& hostname);

  // FillOwnership sets the zone's state, challenge (pending, dns mode) and
  // verification fields in `out`, the tenant's view of `row`.
  void FillOwnership(const ZoneRow& row, certgate::v1::Zone* out) const;

  // Verify checks the tenant's zone now. An active zone is returned as is.
  // FAILED_PRECONDITION says what DNS held instead (no record, another
  // value), UNAVAILABLE that the lookup failed; in admin mode it refuses.
  absl::StatusOr<Activation> Verify(const std::string& tenant_id, const std::string& hostname,
                                    const std::string& actor);

  // Approve: an admin makes `tenant`'s (id or name; may be empty when only
  // one tenant claims it) pending zone active.
  absl::StatusOr<Activation> Approve(const std::string& hostname, const std::string& tenant);

  // RecheckPending looks up every pending zone's challenge once and
  // activates those that hold their value; returns how many (dns mode only).
  int RecheckPending();

  // Start runs RecheckPending every recheck_interval on a thread of its own
  // (dns mode only); Stop ends it.
  void Start();
  void Stop();

 private:
  // Activate makes zone `zone_id` of `tenant_id` active. `expected_token`
  // (if not empty) must still be its challenge.
  absl::StatusOr<Activation> Activate(int64_t zone_id, const std::string& tenant_id,
                                      const std::string& expected_token, const std::string& how,
                                      const std::string& actor);
  // CheckChallenge: OK when DNS holds `row`'s value.
  absl::Status CheckChallenge(const ZoneRow& row) const;

  SqliteStore* store_;
  const EdgeCa* edge_ca_;
  const TxtResolver* resolver_;
  const HostnameVerifierOptions options_;
  std::atomic<int> lookups_in_flight_{0};
  EventListener listener_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace certgate::controlplane
