#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate::controlplane {

// Hostname ownership rules: pure functions, table-tested.
//
// Proof of control of `x` or `*.x` is a TXT record at `_certgate-challenge.x`,
// so both prove control of the DNS name x; the "proved domain" of such a zone
// is x and every name below it. Another tenant's ACTIVE zone blocks a claim
// when (ClaimConflict):
//   - it has the same hostname;
//   - the claim is exact, `a.x`, and the other zone is `*.x` (a wildcard and
//     the names it covers belong to one tenant);
//   - the claim is `*.x` and the other zone is exact, one label under x;
//   - the other zone was proved (DNS or admin) and the claim is within its
//     proved domain (`www.acme.com`, `*.acme.com` or `a.b.acme.com` under a
//     proved `acme.com` or `*.acme.com`; `*.api.acme.com` under `api.acme.com`).
// Siblings and parents are not "within": a proved `api.acme.com` does not
// block `www.acme.com` or `acme.com`; those stay pending until proved. Pending
// zones block nothing; when a zone becomes active, other tenants' pending
// claims it would block are dropped.

// HostnameVerification: how a zone becomes active (`--verify-hostnames`).
enum class HostnameVerification { kDns, kAdmin, kOff };

// ParseHostnameVerification: "dns", "admin" or "off"; INVALID_ARGUMENT else.
absl::StatusOr<HostnameVerification> ParseHostnameVerification(absl::string_view text);

// ChallengeDomain: the name whose DNS proves control of `hostname`: the
// hostname itself, or x for `*.x`.
std::string ChallengeDomain(absl::string_view hostname);

// ChallengeRecordName: `_certgate-challenge.` + ChallengeDomain(hostname).
std::string ChallengeRecordName(absl::string_view hostname);

enum class ClaimConflict {
  kNone,
  kSameName,
  kCoveredByWildcard,  // the claim `a.x` is covered by the other's `*.x`
  kCoversOtherZone,    // the claim `*.x` covers the other's `a.x`
  kWithinProvedZone,   // the claim is within the other's proved domain
};

// IsProved: a zone made active by `verified_by` proved control of its name
// (a DNS TXT record or an admin's approval; not `off` or `upgrade`).
bool IsProved(absl::string_view verified_by);

// CheckClaim: whether another tenant's active zone `other` (proved: by DNS
// or an admin) blocks a claim of `candidate`. Both are normalized hostnames.
ClaimConflict CheckClaim(absl::string_view candidate, absl::string_view other, bool other_proved);

// PossibleBlockers: the hostnames an active zone must have to block
// `candidate` by kSameName, kCoveredByWildcard or kWithinProvedZone (exact
// lookups); kCoversOtherZone needs the names one label under the wildcard's
// parent, which callers list separately.
std::vector<std::string> PossibleBlockers(absl::string_view candidate);

// ClaimConflictError: ALREADY_EXISTS, one line, naming nothing of the other
// tenant's beyond what the caller typed.
absl::Status ClaimConflictError(absl::string_view candidate, ClaimConflict conflict);

}  // namespace certgate::controlplane
