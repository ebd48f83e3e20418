#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "certgate/v1/tenant.pb.h"
#include "common/origin_policy.h"
#include "controlplane/api/auth.h"
#include "controlplane/api/tenant_limits.h"
#include "controlplane/ownership/hostname_verifier.h"
#include "controlplane/pki/edge_ca.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

struct ZoneManagerOptions {
  // Every tenant's quota unless an admin set its own.
  TenantLimits default_limits;
  int max_header_mappings_per_zone = 64;
  // Which origin addresses a zone may name. Only literal addresses are
  // judged here; the edge judges what a host name resolves to.
  OriginPolicy origin_policy;
  // Validity of the client certificates the edge CA issues for https
  // origins, and how long before expiry RenewOriginClientCertificates
  // replaces them.
  int origin_cert_days = 90;
  int origin_cert_renew_days = 30;
};

// Which list of CA certificates a call is about.
enum class CaKind { kRoot, kIntermediate };

// ZoneManager is everything a tenant can do with its zones: it validates each
// request, refuses with a message naming the problem, and otherwise commits
// the change as one config version. Another tenant's zone is "not found".
// A new zone is pending (not served, no edge-CA certificate) until the
// HostnameVerifier activates it, unless verification is off.
class ZoneManager {
 public:
  ZoneManager(SqliteStore* store, const EdgeCa* edge_ca, FleetStatus* fleet,
              HostnameVerifier* verifier, ZoneManagerOptions options)
      : store_(store), edge_ca_(edge_ca), fleet_(fleet), verifier_(verifier), options_(options) {}

  using ZoneResponse = certgate::v1::ZoneResponse;

  absl::StatusOr<ZoneResponse> CreateZone(const Caller& caller,
                                          const certgate::v1::CreateZoneRequest& request);
  absl::StatusOr<certgate::v1::ListZonesResponse> ListZones(const Caller& caller);
  absl::StatusOr<ZoneResponse> GetZone(const Caller& caller, const std::string& hostname);
  absl::StatusOr<certgate::v1::ChangeResponse> DeleteZone(const Caller& caller,
                                                          const std::string& hostname);
  absl::StatusOr<ZoneResponse> UpdateZone(const Caller& caller,
                                          const certgate::v1::UpdateZoneRequest& request);

  absl::StatusOr<certgate::v1::AddCaCertificatesResponse> AddCaCertificates(
      const Caller& caller, const certgate::v1::AddCaCertificatesRequest& request, CaKind kind);
  absl::StatusOr<certgate::v1::ListCaCertificatesResponse> ListCaCertificates(
      const Caller& caller, const std::string& hostname, CaKind kind);
  absl::StatusOr<certgate::v1::ChangeResponse> RemoveCaCertificate(
      const Caller& caller, const certgate::v1::RemoveCaCertificateRequest& request, CaKind kind);

  absl::StatusOr<ZoneResponse> SetServerCertificate(
      const Caller& caller, const certgate::v1::SetServerCertificateRequest& request);
  absl::StatusOr<ZoneResponse> ResetServerCertificate(const Caller& caller,
                                                      const std::string& hostname);
  certgate::v1::GetEdgeCaResponse GetEdgeCa() const;

  // The client certificate edges present to the zone's https origin.
  absl::StatusOr<ZoneResponse> SetOriginClientCertificate(
      const Caller& caller, const certgate::v1::SetOriginClientCertificateRequest& request);
  absl::StatusOr<ZoneResponse> ResetOriginClientCertificate(const Caller& caller,
                                                            const std::string& hostname);
  // RenewOriginClientCertificates re-issues every edge-CA origin client
  // certificate within origin_cert_renew_days of expiry (and issues one for a
  // zone that has none), all in one config version. Returns how many; 0
  // (and no new version) when none is due. Uploaded certificates are left.
  absl::StatusOr<int> RenewOriginClientCertificates(int64_t now_unix);

  absl::StatusOr<ZoneResponse> SetErrorResponse(
      const Caller& caller, const certgate::v1::SetErrorResponseRequest& request);
  absl::StatusOr<ZoneResponse> SetHeaderMapping(
      const Caller& caller, const certgate::v1::SetHeaderMappingRequest& request);
  absl::StatusOr<ZoneResponse> RemoveHeaderMapping(
      const Caller& caller, const certgate::v1::RemoveHeaderMappingRequest& request);
  absl::StatusOr<ZoneResponse> SetStatusHeaderNames(
      const Caller& caller, const certgate::v1::SetStatusHeaderNamesRequest& request);

  // Access rules: each rule is checked alone first (one line naming what is
  // wrong), then with the zone as an edge builds it. Settings changes move
  // the trust version: cached verdicts were made under the old ones.
  absl::StatusOr<ZoneResponse> AddAccessRule(const Caller& caller,
                                             const certgate::v1::AddAccessRuleRequest& request);
  absl::StatusOr<ZoneResponse> RemoveAccessRule(
      const Caller& caller, const certgate::v1::RemoveAccessRuleRequest& request);
  absl::StatusOr<ZoneResponse> MoveAccessRule(const Caller& caller,
                                              const certgate::v1::MoveAccessRuleRequest& request);
  absl::StatusOr<ZoneResponse> SetValidationSettings(
      const Caller& caller, const certgate::v1::SetValidationSettingsRequest& request);

  absl::StatusOr<certgate::v1::RevokeResponse> Revoke(const Caller& caller,
                                                      const certgate::v1::RevokeRequest& request);
  absl::StatusOr<certgate::v1::ListRevocationsResponse> ListRevocations(
      const Caller& caller, const std::string& hostname);
  absl::StatusOr<certgate::v1::ChangeResponse> RemoveRevocation(
      const Caller& caller, const certgate::v1::RemoveRevocationRequest& request);
  absl::StatusOr<certgate::v1::AddCrlResponse> AddCrl(const Caller& caller,
                                                      const certgate::v1::AddCrlRequest& request);
  absl::StatusOr<certgate::v1::ChangeResponse> RemoveCrl(
      const Caller& caller, const certgate::v1::RemoveCrlRequest& request);

  absl::StatusOr<certgate::v1::StatusResponse> GetStatus(const Caller& caller,
                                                         const std::string& hostname);

  // VerifyZone checks a pending zone's DNS challenge now (HostnameVerifier).
  absl::StatusOr<ZoneResponse> VerifyZone(const Caller& caller, const std::string& hostname);

 private:
  using ZoneChange = std::function<absl::Status(ZoneRow& zone, StoreTransaction& txn)>;

  // ChangeZone loads the caller's zone, applies `change`, writes the zone back
  // and commits it all as one config version, which it returns; `result` (if
  // not null) gets the zone as written. When `change` fails nothing is written.
  absl::StatusOr<uint64_t> ChangeZone(const Caller& caller, const std::string& hostname,
                                      const std::string& action, const ZoneChange& change,
                                      ZoneRow* result);
  // ChangeSettings: ChangeZone for a call that answers with the changed zone.
  absl::StatusOr<ZoneResponse> ChangeSettings(const Caller& caller, const std::string& hostname,
                                              const std::string& action, const ZoneChange& change);
  // ChangeTrust: ChangeZone for a change to what the zone trusts (CAs,
  // revocations, CRLs). It also moves the zone's trust_version, which is what
  // tells edges to rebuild that zone's trust store.
  absl::StatusOr<uint64_t> ChangeTrust(const Caller& caller, const std::string& hostname,
                                       const std::string& action, const ZoneChange& change);
  // ReadZone: the caller's zone, or NOT_FOUND. `config_version` (if not null)
  // gets the config version the zone was read at.
  absl::StatusOr<ZoneRow> ReadZone(const Caller& caller, const std::string& hostname,
                                   uint64_t* config_version = nullptr);
  // CheckOrigin: INVALID_ARGUMENT naming the address and why when a
  // normalized origin's literal address is outside the origin policy.
  absl::Status CheckOrigin(const std::string& origin) const;
  // LimitsOf: the quota `tenant_id` works under.
  absl::StatusOr<TenantLimits> LimitsOf(StoreTransaction& txn, const std::string& tenant_id) const;
  // CheckConfigBytes: RESOURCE_EXHAUSTED when `zone`, grown from
  // `size_before` bytes, takes its tenant past max-config-bytes. A change
  // that does not grow the zone always passes (so shrinking is possible).
  absl::Status CheckConfigBytes(StoreTransaction& txn, const ZoneRow& zone,
                                int64_t size_before) const;
  // CheckRevocations: RESOURCE_EXHAUSTED when `adding` more revocations
  // take `zone` past max-revocations-per-zone.
  absl::Status CheckRevocations(StoreTransaction& txn, const ZoneRow& zone, size_t adding) const;
  // RenewOriginClientCertificateBatch: the zones of `ids` still `due`, in
  // one config version (none when no zone is due any more).
  absl::StatusOr<int> RenewOriginClientCertificateBatch(
      const std::vector<int64_t>& ids, const std::function<bool(const ZoneRow&)>& due);
  // IssueOriginClientCertificate puts a fresh edge-CA origin client
  // certificate and key into `zone`.
  absl::Status IssueOriginClientCertificate(ZoneRow& zone) const;

  // MakeZoneResponse: what every zone-changing call answers (the tenant's
  // view: ownership state and challenge included).
  ZoneResponse MakeZoneResponse(ZoneRow row, uint64_t version) const;

  SqliteStore* store_;
  const EdgeCa* edge_ca_;
  FleetStatus* fleet_;
  HostnameVerifier* verifier_;
  ZoneManagerOptions options_;
};

}  // namespace certgate::controlplane
