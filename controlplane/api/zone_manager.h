#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "certgate/v1/tenant.pb.h"
#include "controlplane/api/auth.h"
#include "controlplane/ownership/hostname_verifier.h"
#include "controlplane/pki/edge_ca.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

struct ZoneManagerOptions {
  int max_roots_per_zone = 1000;
  int max_intermediates_per_zone = 1000;
  int max_header_mappings_per_zone = 64;
  int max_revocations_per_zone = 100000;
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

  absl::StatusOr<ZoneResponse> SetErrorResponse(
      const Caller& caller, const certgate::v1::SetErrorResponseRequest& request);
  absl::StatusOr<ZoneResponse> SetHeaderMapping(
      const Caller& caller, const certgate::v1::SetHeaderMappingRequest& request);
  absl::StatusOr<ZoneResponse> RemoveHeaderMapping(
      const Caller& caller, const certgate::v1::RemoveHeaderMappingRequest& request);
  absl::StatusOr<ZoneResponse> SetStatusHeaderNames(
      const Caller& caller, const certgate::v1::SetStatusHeaderNamesRequest& request);

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
