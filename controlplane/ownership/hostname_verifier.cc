#include "controlplane/ownership/hostname_verifier.h"

#include <cstdio>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "controlplane/validation/server_certificate.h"

namespace certgate::controlplane {
namespace {

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

// Quoted: a DNS value as it may be shown (escaped, cut at 80 bytes).
std::string Quoted(const std::string& value) {
  std::string shown = absl::CHexEscape(value.substr(0, 80));
  return absl::StrCat("\"", shown, value.size() > 80 ? "...\"" : "\"");
}

// LookupSlot holds one of the concurrent-lookup slots, or none.
class LookupSlot {
 public:
  LookupSlot(std::atomic<int>* in_flight, int limit) : in_flight_(in_flight) {
    held_ = in_flight_->fetch_add(1) < limit;
    if (!held_) {
      in_flight_->fetch_sub(1);
    }
  }
  ~LookupSlot() {
    if (held_) {
      in_flight_->fetch_sub(1);
    }
  }
  bool held() const { return held_; }

 private:
  std::atomic<int>* in_flight_;
  bool held_ = false;
};

}  // namespace

absl::Status HostnameVerifier::CheckClaimAllowed(StoreTransaction& txn,
                                                 const std::string& tenant_id,
                                                 const std::string& hostname) {
  auto check = [&](const std::string& other, const std::string& other_tenant,
                   bool proved) -> absl::Status {
    if (other_tenant == tenant_id) {
      return absl::OkStatus();
    }
    return ClaimConflictError(hostname, CheckClaim(hostname, other, proved));
  };
  for (const std::string& name : PossibleBlockers(hostname)) {
    ASSIGN_OR_RETURN(std::optional<ZoneRow> other, txn.FindZoneByHostname(name));
    if (other.has_value()) {
      bool proved = IsProved(other->verified_by);
      RETURN_IF_ERROR(check(other->hostname, other->tenant_id, proved));
    }
  }
  if (IsWildcardHostname(hostname)) {
    ASSIGN_OR_RETURN(auto covered, txn.ZonesOneLevelUnder(hostname.substr(2)));
    for (const auto& [covered_hostname, other_tenant] : covered) {
      RETURN_IF_ERROR(check(covered_hostname, other_tenant, false));
    }
  }
  return absl::OkStatus();
}

void HostnameVerifier::FillOwnership(const ZoneRow& row, certgate::v1::Zone* out) const {
  if (row.state == ZoneState::kPending) {
    out->set_state(certgate::v1::ZONE_STATE_PENDING);
    if (options_.mode == HostnameVerification::kDns) {
      certgate::v1::HostnameChallenge* challenge = out->mutable_challenge();
      challenge->set_record_name(ChallengeRecordName(row.hostname));
      challenge->set_record_type("TXT");
      challenge->set_value(row.challenge_token);
    }
  } else {
    out->set_state(certgate::v1::ZONE_STATE_ACTIVE);
    out->set_verified_unix(row.verified_unix);
    out->set_verified_by(row.verified_by);
  }
}

absl::Status HostnameVerifier::CheckChallenge(const ZoneRow& row) const {
  std::string record = ChallengeRecordName(row.hostname);
  TxtLookup lookup = resolver_->Lookup(record);
  switch (lookup.outcome) {
    case TxtLookup::Outcome::kFound: {
      std::vector<std::string> shown;
      for (const std::string& value : lookup.values) {
        if (value == row.challenge_token) {
          return absl::OkStatus();
        }
        if (shown.size() < 3) {
          shown.push_back(Quoted(value));
        }
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "hostname ", row.hostname, " not verified: TXT ", record, " holds ",
          absl::StrJoin(shown, ", "), lookup.values.size() > shown.size() ? ", ..." : "",
          ", not this zone's value \"", row.challenge_token, "\""));
    }
    case TxtLookup::Outcome::kNoRecord:
      return absl::FailedPreconditionError(
          absl::StrCat("hostname ", row.hostname, " not verified: no TXT record at ", record, " (",
                       lookup.detail, "); add one holding \"", row.challenge_token, "\""));
    case TxtLookup::Outcome::kError:
      break;
  }
  return absl::UnavailableError(absl::StrCat("hostname ", row.hostname,
                                             " not verified: DNS lookup of TXT ", record,
                                             " failed: ", lookup.detail));
}

absl::StatusOr<Activation> HostnameVerifier::Verify(const std::string& tenant_id,
                                                    const std::string& raw_hostname,
                                                    const std::string& actor) {
  std::string hostname = absl::AsciiStrToLower(raw_hostname);
  std::optional<ZoneRow> row;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(row, txn.FindTenantZone(tenant_id, hostname));
    return absl::OkStatus();
  }));
  if (!row.has_value()) {
    return absl::NotFoundError(absl::StrCat("zone ", raw_hostname, " not found"));
  }
  if (row->state == ZoneState::kActive) {
    return Activation{std::move(*row), 0, {}};
  }
  switch (options_.mode) {
    case HostnameVerification::kAdmin:
      return absl::FailedPreconditionError(absl::StrCat(
          "hostname ", row->hostname,
          " waits for an admin's approval: this control plane does not accept DNS proof "
          "(an admin runs: certgate admin zone approve ",
          row->hostname, ")"));
    case HostnameVerification::kOff:
      return Activate(row->id, tenant_id, "", "off", actor);
    case HostnameVerification::kDns:
      break;
  }
  LookupSlot slot(&lookups_in_flight_, options_.max_concurrent_lookups);
  if (!slot.held()) {
    return absl::ResourceExhaustedError(
        "too many hostname checks are running; try again in a few seconds");
  }
  absl::Status checked = CheckChallenge(*row);
  if (!checked.ok()) {
    if (listener_) {
      listener_(*row, false, std::string(checked.message()));
    }
    return checked;
  }
  return Activate(row->id, tenant_id, row->challenge_token, "dns", actor);
}

absl::StatusOr<Activation> HostnameVerifier::Approve(const std::string& raw_hostname,
                                                     const std::string& tenant) {
  std::string hostname = absl::AsciiStrToLower(raw_hostname);
  std::vector<ZoneRow> claims;
  bool active_for_tenant = false;
  std::string tenant_id;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    if (!tenant.empty()) {
      ASSIGN_OR_RETURN(TenantRow row, txn.FindTenant(tenant));
      tenant_id = row.id;
    }
    ASSIGN_OR_RETURN(std::vector<ZoneRow> pending, txn.ListPendingZones());
    for (ZoneRow& zone : pending) {
      if (zone.hostname == hostname && (tenant_id.empty() || zone.tenant_id == tenant_id)) {
        claims.push_back(std::move(zone));
      }
    }
    ASSIGN_OR_RETURN(std::optional<ZoneRow> active, txn.FindZoneByHostname(hostname));
    active_for_tenant = active.has_value() && (tenant_id.empty() || active->tenant_id == tenant_id);
    return absl::OkStatus();
  }));
  if (claims.empty()) {
    if (active_for_tenant) {
      return absl::FailedPreconditionError(absl::StrCat("zone ", hostname, " is already active"));
    }
    return absl::NotFoundError(
        absl::StrCat("no pending zone ", hostname, tenant.empty() ? "" : " of tenant ", tenant));
  }
  if (claims.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(claims.size(), " tenants claim ", hostname,
                     "; say which with --tenant (certgate admin zone list shows them)"));
  }
  return Activate(claims[0].id, claims[0].tenant_id, "", "admin", "admin");
}

absl::StatusOr<Activation> HostnameVerifier::Activate(int64_t zone_id, const std::string& tenant_id,
                                                      const std::string& expected_token,
                                                      const std::string& how,
                                                      const std::string& actor) {
  // Issue the edge-CA certificate before taking the store lock: only now
  // that control is proved may the CA sign anything for this name.
  std::optional<ZoneRow> before;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(before, txn.FindZoneById(zone_id));
    return absl::OkStatus();
  }));
  if (!before.has_value() || before->tenant_id != tenant_id) {
    return absl::NotFoundError("the zone was deleted meanwhile");
  }
  if (before->state == ZoneState::kActive) {
    return Activation{std::move(*before), 0, {}};
  }
  std::optional<IssuedCertificate> issued;
  if (before->zone.server_certificate().chain_pem().empty()) {
    ASSIGN_OR_RETURN(issued, edge_ca_->Issue(before->hostname));
  }
  std::optional<IssuedCertificate> origin_client;
  if (before->zone.origin_client_certificate().chain_pem().empty()) {
    ASSIGN_OR_RETURN(origin_client,
                     edge_ca_->IssueOriginClient(before->hostname, options_.origin_cert_days));
  }
  Activation activation;
  absl::StatusOr<uint64_t> version =
      store_->Mutate(actor, "ActivateZone", [&](StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<ZoneRow> row, txn.FindZoneById(zone_id));
        if (!row.has_value() || row->tenant_id != tenant_id || row->state != ZoneState::kPending) {
          return absl::AbortedError("the zone changed meanwhile; try again");
        }
        if (!expected_token.empty() && row->challenge_token != expected_token) {
          return absl::AbortedError("the zone's challenge changed meanwhile; try again");
        }
        RETURN_IF_ERROR(CheckClaimAllowed(txn, tenant_id, row->hostname));
        if (row->zone.server_certificate().chain_pem().empty()) {
          if (!issued.has_value()) {
            return absl::AbortedError("the zone's certificate changed meanwhile; try again");
          }
          ASSIGN_OR_RETURN(certgate::v1::ServerCertificateInfo info,
                           DescribeServerCertificate(issued->chain_pem, true));
          *row->zone.mutable_server_certificate() = std::move(info);
          row->server_key_pem = issued->key_pem;
        }
        if (row->zone.origin_client_certificate().chain_pem().empty()) {
          if (!origin_client.has_value()) {
            return absl::AbortedError("the zone's origin certificate changed meanwhile; try again");
          }
          ASSIGN_OR_RETURN(certgate::v1::ServerCertificateInfo info,
                           DescribeServerCertificate(origin_client->chain_pem, true));
          *row->zone.mutable_origin_client_certificate() = std::move(info);
          row->origin_client_key_pem = origin_client->key_pem;
        }
        row->state = ZoneState::kActive;
        row->verified_unix = NowUnix();
        row->verified_by = how;
        RETURN_IF_ERROR(txn.UpdateZone(*row));
        // The owner's proof wins: other tenants' claims it conflicts with go.
        bool proved = IsProved(how);
        ASSIGN_OR_RETURN(std::vector<ZoneRow> pending, txn.ListPendingZones());
        for (const ZoneRow& claim : pending) {
          if (claim.tenant_id != tenant_id &&
              CheckClaim(claim.hostname, row->hostname, proved) != ClaimConflict::kNone) {
            RETURN_IF_ERROR(txn.DeleteZone(claim.id));
            activation.dropped_claims.push_back(
                absl::StrCat(claim.hostname, " (tenant ", claim.tenant_id, ")"));
          }
        }
        std::string detail = absl::StrCat(row->hostname, " verified_by=", how);
        if (!activation.dropped_claims.empty()) {
          absl::StrAppend(
              &detail, " dropped pending claims: ", absl::StrJoin(activation.dropped_claims, ", "));
        }
        txn.SetDetail(detail);
        activation.zone = std::move(*row);
        return absl::OkStatus();
      });
  if (absl::IsAborted(version.status())) {
    // Activated meanwhile (a re-check and a `zone verify` at once): done.
    std::optional<ZoneRow> now;
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(now, txn.FindZoneById(zone_id));
      return absl::OkStatus();
    }));
    if (now.has_value() && now->tenant_id == tenant_id && now->state == ZoneState::kActive) {
      return Activation{std::move(*now), 0, {}};
    }
  }
  RETURN_IF_ERROR(version.status());
  activation.config_version = *version;
  if (listener_) {
    listener_(activation.zone, true, how);
  }
  std::fprintf(stderr, "certgate-control: zone %s of tenant %s is active (%s)%s\n",
               activation.zone.hostname.c_str(), tenant_id.c_str(), how.c_str(),
               activation.dropped_claims.empty()
                   ? ""
                   : absl::StrCat("; dropped ", activation.dropped_claims.size(),
                                  " conflicting pending claim(s)")
                         .c_str());
  return activation;
}

int HostnameVerifier::RecheckPending() {
  if (options_.mode != HostnameVerification::kDns) {
    return 0;
  }
  std::vector<ZoneRow> pending;
  absl::Status read = store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(pending, txn.ListPendingZones());
    return absl::OkStatus();
  });
  if (!read.ok()) {
    std::fprintf(stderr, "certgate-control: listing pending zones: %s\n",
                 std::string(read.message()).c_str());
    return 0;
  }
  int activated = 0;
  for (const ZoneRow& row : pending) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        break;
      }
    }
    if (absl::Status checked = CheckChallenge(row); !checked.ok()) {
      if (listener_) {
        listener_(row, false, std::string(checked.message()));
      }
      continue;
    }
    absl::StatusOr<Activation> result =
        Activate(row.id, row.tenant_id, row.challenge_token, "dns", "recheck");
    if (result.ok()) {
      ++activated;
    } else if (!absl::IsNotFound(result.status())) {
      std::fprintf(stderr, "certgate-control: activating zone %s: %s\n", row.hostname.c_str(),
                   std::string(result.status().message()).c_str());
    }
  }
  return activated;
}

void HostnameVerifier::Start() {
  if (options_.mode != HostnameVerification::kDns || loop_.joinable()) {
    return;
  }
  loop_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.recheck_interval);
        if (stopping_) {
          return;
        }
      }
      RecheckPending();
    }
  });
}

void HostnameVerifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) {
    loop_.join();
  }
}

}  // namespace certgate::controlplane
