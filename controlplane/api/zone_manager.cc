#include "controlplane/api/zone_manager.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/field_selector.h"
#include "common/names.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "common/zone_defaults.h"
#include "controlplane/api/token.h"
#include "controlplane/ownership/hostname_claims.h"
#include "controlplane/validation/ca_certificates.h"
#include "controlplane/validation/crl.h"
#include "controlplane/validation/edge_build_check.h"
#include "controlplane/validation/error_response.h"
#include "controlplane/validation/origin_tls.h"
#include "controlplane/validation/server_certificate.h"
#include "dataplane/config/access_policy.h"
#include "openssl/rand.h"
#include "openssl/x509.h"

namespace certgate::controlplane {
namespace {

// MakeChangeResponse: what a change that does not answer with the zone answers.
certgate::v1::ChangeResponse MakeChangeResponse(uint64_t version) {
  certgate::v1::ChangeResponse response;
  response.set_config_version(version);
  return response;
}

using certgate::v1::CaCertificate;
using certgate::v1::Mode;

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

std::string LookupKey(const std::string& hostname) { return absl::AsciiStrToLower(hostname); }

absl::Status ZoneNotFound(const std::string& hostname) {
  // The same answer for a zone that does not exist and another tenant's.
  return absl::NotFoundError(absl::StrCat("zone ", hostname, " not found"));
}

// FindTenantZone: the caller's zone (active or pending) as `txn` sees it,
// or NOT_FOUND.
absl::StatusOr<ZoneRow> FindTenantZone(StoreTransaction& txn, const Caller& caller,
                                       const std::string& hostname) {
  ASSIGN_OR_RETURN(std::optional<ZoneRow> row,
                   txn.FindTenantZone(caller.tenant_id, LookupKey(hostname)));
  if (!row.has_value()) {
    return ZoneNotFound(hostname);
  }
  return std::move(*row);
}

absl::Status ValidateMode(Mode mode) {
  if (!certgate::v1::Mode_IsValid(mode)) {
    return absl::InvalidArgumentError(absl::StrCat("mode ", static_cast<int>(mode), " is unknown"));
  }
  return absl::OkStatus();
}

const char* KindName(CaKind kind) { return kind == CaKind::kRoot ? "root" : "intermediate"; }

google::protobuf::RepeatedPtrField<CaCertificate>* CaList(certgate::v1::Zone* zone, CaKind kind) {
  return kind == CaKind::kRoot ? zone->mutable_roots() : zone->mutable_intermediates();
}

// FindByIdPrefix: index of the one certificate whose id (or fingerprint)
// starts with `id`; at least 8 hex digits.
absl::StatusOr<int> FindByIdPrefix(const google::protobuf::RepeatedPtrField<CaCertificate>& list,
                                   const std::string& raw_id, CaKind kind,
                                   const std::string& hostname) {
  std::string id = absl::AsciiStrToLower(raw_id);
  if (id.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(KindName(kind), " id \"", raw_id, "\" is shorter than 8 hex digits"));
  }
  int found = -1;
  for (int i = 0; i < list.size(); ++i) {
    if (absl::StartsWith(list[i].fingerprint_sha256(), id)) {
      if (found >= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(KindName(kind), " id \"", raw_id, "\" is ambiguous"));
      }
      found = i;
    }
  }
  if (found < 0) {
    return absl::NotFoundError(
        absl::StrCat(KindName(kind), " ", raw_id, " not found in zone ", hostname));
  }
  return found;
}

// StoredSize: what the zone counts against max-config-bytes; the same
// measure as StoreTransaction::TenantConfigBytes.
int64_t StoredSize(const ZoneRow& row) {
  return static_cast<int64_t>(row.zone.ByteSizeLong() + row.server_key_pem.size());
}

std::vector<std::string> StatusHeaderList(const certgate::v1::StatusHeaderNames& names) {
  return {names.status(), names.ski(), names.error()};
}

}  // namespace

ZoneManager::ZoneResponse ZoneManager::MakeZoneResponse(ZoneRow row, uint64_t version) const {
  ZoneResponse response;
  *response.mutable_zone() = std::move(row.zone);
  verifier_->FillOwnership(row, response.mutable_zone());
  response.set_config_version(version);
  return response;
}

absl::StatusOr<ZoneRow> ZoneManager::ReadZone(const Caller& caller, const std::string& hostname,
                                              uint64_t* config_version) {
  ZoneRow row;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    if (config_version != nullptr) {
      ASSIGN_OR_RETURN(*config_version, txn.ConfigVersion());
    }
    ASSIGN_OR_RETURN(row, FindTenantZone(txn, caller, hostname));
    return absl::OkStatus();
  }));
  return row;
}

absl::Status ZoneManager::CheckOrigin(const std::string& origin) const {
  absl::Status allowed = options_.origin_policy.CheckOriginUrl(origin);
  if (!allowed.ok()) {
    return absl::InvalidArgumentError(allowed.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<TenantLimits> ZoneManager::LimitsOf(StoreTransaction& txn,
                                                   const std::string& tenant_id) const {
  ASSIGN_OR_RETURN(TenantQuotaRow quota, txn.TenantQuota(tenant_id));
  return options_.default_limits.WithOverrides(quota);
}

absl::Status ZoneManager::CheckConfigBytes(StoreTransaction& txn, const ZoneRow& zone,
                                           int64_t size_before) const {
  int64_t size = StoredSize(zone);
  if (size <= size_before) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(TenantLimits limits, LimitsOf(txn, zone.tenant_id));
  ASSIGN_OR_RETURN(int64_t others, txn.TenantConfigBytes(zone.tenant_id, zone.id));
  if (others + size > limits.max_config_bytes) {
    return QuotaExceeded("the tenant's config bytes", others + size, "max-config-bytes",
                         limits.max_config_bytes);
  }
  return absl::OkStatus();
}

absl::Status ZoneManager::CheckRevocations(StoreTransaction& txn, const ZoneRow& zone,
                                           size_t adding) const {
  ASSIGN_OR_RETURN(TenantLimits limits, LimitsOf(txn, zone.tenant_id));
  int64_t count = zone.zone.revocations_size() + static_cast<int64_t>(adding);
  if (count > limits.max_revocations_per_zone) {
    return QuotaExceeded(absl::StrCat("zone ", zone.hostname, "'s revocations"), count,
                         "max-revocations-per-zone", limits.max_revocations_per_zone);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ZoneManager::ChangeZone(const Caller& caller, const std::string& hostname,
                                                 const std::string& action,
                                                 const ZoneChange& change, ZoneRow* result) {
  return store_->Mutate(caller.actor(), action, [&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(ZoneRow row, FindTenantZone(txn, caller, hostname));
    txn.SetDetail(row.hostname);
    int64_t size_before = StoredSize(row);
    RETURN_IF_ERROR(change(row, txn));
    RETURN_IF_ERROR(CheckEdgeCanBuild(row));
    RETURN_IF_ERROR(CheckConfigBytes(txn, row, size_before));
    RETURN_IF_ERROR(txn.UpdateZone(row));
    if (result != nullptr) {
      *result = std::move(row);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::ChangeSettings(const Caller& caller,
                                                                      const std::string& hostname,
                                                                      const std::string& action,
                                                                      const ZoneChange& change) {
  ZoneRow row;
  ASSIGN_OR_RETURN(uint64_t version, ChangeZone(caller, hostname, action, change, &row));
  return MakeZoneResponse(std::move(row), version);
}

absl::StatusOr<uint64_t> ZoneManager::ChangeTrust(const Caller& caller, const std::string& hostname,
                                                  const std::string& action,
                                                  const ZoneChange& change) {
  return ChangeZone(
      caller, hostname, action,
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        RETURN_IF_ERROR(change(zone, txn));
        zone.zone.set_trust_version(txn.new_version());
        return absl::OkStatus();
      },
      nullptr);
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::CreateZone(
    const Caller& caller, const certgate::v1::CreateZoneRequest& request) {
  ASSIGN_OR_RETURN(std::string hostname, NormalizeHostname(request.hostname()));
  if (request.origin().empty()) {
    return absl::InvalidArgumentError("origin is required");
  }
  ASSIGN_OR_RETURN(std::string origin, NormalizeOrigin(request.origin()));
  RETURN_IF_ERROR(CheckOrigin(origin));
  RETURN_IF_ERROR(ValidateMode(request.mode()));
  std::string origin_ca;
  if (!request.origin_ca_pem().empty()) {
    ASSIGN_OR_RETURN(origin_ca, ValidateOriginCa(request.origin_ca_pem()));
  }
  std::string origin_server_name;
  if (!request.origin_server_name().empty()) {
    ASSIGN_OR_RETURN(origin_server_name, ValidateOriginServerName(request.origin_server_name()));
  }
  // Until its tenant proves control of the name, a zone is pending: edges do
  // not serve it and the edge CA signs nothing for it (activation issues both
  // certificates).
  bool pending = verifier_->mode() != HostnameVerification::kOff;
  IssuedCertificate issued;
  certgate::v1::ServerCertificateInfo cert_info;
  IssuedCertificate origin_client;
  certgate::v1::ServerCertificateInfo origin_client_info;
  if (!pending) {
    ASSIGN_OR_RETURN(issued, edge_ca_->Issue(hostname));
    ASSIGN_OR_RETURN(cert_info, DescribeServerCertificate(issued.chain_pem, true));
    ASSIGN_OR_RETURN(origin_client,
                     edge_ca_->IssueOriginClient(hostname, options_.origin_cert_days));
    ASSIGN_OR_RETURN(origin_client_info, DescribeServerCertificate(origin_client.chain_pem, true));
  }

  ZoneRow row;
  ASSIGN_OR_RETURN(
      uint64_t version,
      store_->Mutate(caller.actor(), "CreateZone", [&](StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<ZoneRow> own,
                         txn.FindTenantZone(caller.tenant_id, hostname));
        if (own.has_value()) {
          return ClaimConflictError(hostname, ClaimConflict::kSameName);
        }
        // Another tenant's active zone may block the name; pending claims
        // never do (hostname_claims.h).
        RETURN_IF_ERROR(HostnameVerifier::CheckClaimAllowed(txn, caller.tenant_id, hostname));
        ASSIGN_OR_RETURN(TenantLimits limits, LimitsOf(txn, caller.tenant_id));
        ASSIGN_OR_RETURN(int64_t zones, txn.TenantZoneCount(caller.tenant_id));
        if (zones + 1 > limits.max_zones) {
          return QuotaExceeded("the tenant's zone count", zones + 1, "max-zones", limits.max_zones);
        }
        row.tenant_id = caller.tenant_id;
        row.hostname = hostname;
        certgate::v1::Zone& zone = row.zone;
        zone.set_hostname(hostname);
        zone.set_mode(ZoneDefaults::EffectiveMode(request.mode()));
        zone.set_origin(origin);
        zone.mutable_error_response()->set_content_type(ZoneDefaults::kErrorContentType);
        zone.mutable_error_response()->set_body(ZoneDefaults::kErrorBody);
        zone.mutable_status_header_names()->set_status(ZoneDefaults::kStatusHeader);
        zone.mutable_status_header_names()->set_ski(ZoneDefaults::kSkiHeader);
        zone.mutable_status_header_names()->set_error(ZoneDefaults::kErrorHeader);
        *zone.mutable_server_certificate() = cert_info;
        zone.set_trust_version(txn.new_version());
        zone.set_created_unix(NowUnix());
        row.server_key_pem = issued.key_pem;
        zone.set_origin_ca_pem(origin_ca);
        zone.set_origin_server_name(origin_server_name);
        *zone.mutable_origin_client_certificate() = origin_client_info;
        row.origin_client_key_pem = origin_client.key_pem;
        row.challenge_token = RandomHex(16);
        if (pending) {
          row.state = ZoneState::kPending;
        } else {
          row.state = ZoneState::kActive;
          row.verified_unix = NowUnix();
          row.verified_by = "off";
        }
        RETURN_IF_ERROR(CheckEdgeCanBuild(row));
        RETURN_IF_ERROR(CheckConfigBytes(txn, row, 0));
        ASSIGN_OR_RETURN(row.id, txn.InsertZone(row));
        txn.SetDetail(absl::StrCat(hostname, " origin=", origin, pending ? " pending" : ""));
        return absl::OkStatus();
      }));
  return MakeZoneResponse(std::move(row), version);
}

absl::StatusOr<certgate::v1::ListZonesResponse> ZoneManager::ListZones(const Caller& caller) {
  certgate::v1::ListZonesResponse response;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<ZoneRow> rows, txn.ListZones(caller.tenant_id));
    for (ZoneRow& row : rows) {
      certgate::v1::Zone* zone = response.add_zones();
      *zone = std::move(row.zone);
      verifier_->FillOwnership(row, zone);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::GetZone(const Caller& caller,
                                                               const std::string& hostname) {
  uint64_t version = 0;
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(caller, hostname, &version));
  std::vector<certgate::v1::ZoneBuildFailureStatus> failures =
      fleet_->ZoneFailures(static_cast<uint64_t>(row.id));
  std::string zone_hostname = row.hostname;
  ZoneResponse response = MakeZoneResponse(std::move(row), version);
  for (certgate::v1::ZoneBuildFailureStatus& failure : failures) {
    failure.set_hostname(zone_hostname);
    *response.add_edge_failures() = std::move(failure);
  }
  return response;
}

absl::StatusOr<certgate::v1::ChangeResponse> ZoneManager::DeleteZone(const Caller& caller,
                                                                     const std::string& hostname) {
  ASSIGN_OR_RETURN(
      uint64_t version,
      store_->Mutate(caller.actor(), "DeleteZone", [&](StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(ZoneRow row, FindTenantZone(txn, caller, hostname));
        txn.SetDetail(row.hostname);
        return txn.DeleteZone(row.id);
      }));
  return MakeChangeResponse(version);
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::UpdateZone(
    const Caller& caller, const certgate::v1::UpdateZoneRequest& request) {
  RETURN_IF_ERROR(ValidateMode(request.mode()));
  std::string origin;
  if (!request.origin().empty()) {
    ASSIGN_OR_RETURN(origin, NormalizeOrigin(request.origin()));
    RETURN_IF_ERROR(CheckOrigin(origin));
  }
  std::string origin_ca;
  if (request.has_origin_ca_pem() && !request.origin_ca_pem().empty()) {
    ASSIGN_OR_RETURN(origin_ca, ValidateOriginCa(request.origin_ca_pem()));
  }
  std::string origin_server_name;
  if (request.has_origin_server_name() && !request.origin_server_name().empty()) {
    ASSIGN_OR_RETURN(origin_server_name, ValidateOriginServerName(request.origin_server_name()));
  }
  if (request.mode() == certgate::v1::MODE_UNSPECIFIED && origin.empty() &&
      !request.has_send_ca_names() && !request.has_origin_ca_pem() &&
      !request.has_origin_server_name()) {
    return absl::InvalidArgumentError(
        "nothing to update: set mode, origin, send_ca_names, origin_ca_pem or "
        "origin_server_name");
  }
  return ChangeSettings(caller, request.hostname(), "UpdateZone",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          std::string detail = zone.hostname;
                          if (request.mode() != certgate::v1::MODE_UNSPECIFIED) {
                            zone.zone.set_mode(request.mode());
                            absl::StrAppend(&detail, " mode=", Mode_Name(request.mode()));
                          }
                          if (!origin.empty()) {
                            zone.zone.set_origin(origin);
                            absl::StrAppend(&detail, " origin=", origin);
                          }
                          if (request.has_send_ca_names()) {
                            zone.zone.set_send_ca_names(request.send_ca_names());
                            absl::StrAppend(&detail, " send_ca_names=", request.send_ca_names());
                          }
                          if (request.has_origin_ca_pem()) {
                            zone.zone.set_origin_ca_pem(origin_ca);
                            absl::StrAppend(&detail,
                                            " origin_ca=", origin_ca.empty() ? "system" : "set");
                          }
                          if (request.has_origin_server_name()) {
                            zone.zone.set_origin_server_name(origin_server_name);
                            absl::StrAppend(&detail, " origin_server_name=", origin_server_name);
                          }
                          txn.SetDetail(detail);
                          return absl::OkStatus();
                        });
}

absl::StatusOr<certgate::v1::AddCaCertificatesResponse> ZoneManager::AddCaCertificates(
    const Caller& caller, const certgate::v1::AddCaCertificatesRequest& request, CaKind kind) {
  ASSIGN_OR_RETURN(std::vector<ParsedCaCertificate> parsed,
                   ParseCaCertificates(request.data(), NowUnix()));
  certgate::v1::AddCaCertificatesResponse response;
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(caller, request.hostname(),
                  kind == CaKind::kRoot ? "AddRoots" : "AddIntermediates",
                  [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                    auto* list = CaList(&zone.zone, kind);
                    for (const ParsedCaCertificate& entry : parsed) {
                      for (const CaCertificate& existing : *list) {
                        if (existing.fingerprint_sha256() == entry.info.fingerprint_sha256()) {
                          return absl::AlreadyExistsError(
                              absl::StrCat("certificate ", entry.info.subject(), " is already a ",
                                           KindName(kind), " of zone ", zone.hostname));
                        }
                      }
                    }
                    ASSIGN_OR_RETURN(TenantLimits limits, LimitsOf(txn, zone.tenant_id));
                    int64_t cas = zone.zone.roots_size() + zone.zone.intermediates_size() +
                                  static_cast<int64_t>(parsed.size());
                    if (cas > limits.max_cas_per_zone) {
                      return QuotaExceeded(
                          absl::StrCat("zone ", zone.hostname, "'s roots and intermediates"), cas,
                          "max-cas-per-zone", limits.max_cas_per_zone);
                    }
                    std::string detail = zone.hostname;
                    for (const ParsedCaCertificate& entry : parsed) {
                      *list->Add() = entry.info;
                      *response.add_added() = entry.info;
                      absl::StrAppend(&detail, " ", entry.info.id());
                    }
                    txn.SetDetail(detail);
                    return absl::OkStatus();
                  }));
  response.set_config_version(version);
  return response;
}

absl::StatusOr<certgate::v1::ListCaCertificatesResponse> ZoneManager::ListCaCertificates(
    const Caller& caller, const std::string& hostname, CaKind kind) {
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(caller, hostname));
  certgate::v1::ListCaCertificatesResponse response;
  *response.mutable_certificates() = std::move(*CaList(&row.zone, kind));
  return response;
}

absl::StatusOr<certgate::v1::ChangeResponse> ZoneManager::RemoveCaCertificate(
    const Caller& caller, const certgate::v1::RemoveCaCertificateRequest& request, CaKind kind) {
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(
          caller, request.hostname(), kind == CaKind::kRoot ? "RemoveRoot" : "RemoveIntermediate",
          [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
            auto* list = CaList(&zone.zone, kind);
            ASSIGN_OR_RETURN(int index, FindByIdPrefix(*list, request.id(), kind, zone.hostname));
            txn.SetDetail(absl::StrCat(zone.hostname, " ", (*list)[index].id()));
            list->erase(list->begin() + index);
            return absl::OkStatus();
          }));
  return MakeChangeResponse(version);
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetServerCertificate(
    const Caller& caller, const certgate::v1::SetServerCertificateRequest& request) {
  return ChangeSettings(
      caller, request.hostname(), "SetServerCertificate",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(
            certgate::v1::ServerCertificateInfo info,
            ValidateServerCertificate(request.chain_pem(), request.key_pem(), zone.hostname));
        txn.SetDetail(absl::StrCat(zone.hostname, " ", info.subject()));
        *zone.zone.mutable_server_certificate() = std::move(info);
        zone.server_key_pem = request.key_pem();
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::ResetServerCertificate(
    const Caller& caller, const std::string& hostname) {
  return ChangeSettings(caller, hostname, "ResetServerCertificate",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          if (zone.state == ZoneState::kPending) {
                            // Issued when control of the name is proved.
                            zone.zone.clear_server_certificate();
                            zone.server_key_pem.clear();
                            return absl::OkStatus();
                          }
                          ASSIGN_OR_RETURN(IssuedCertificate issued,
                                           edge_ca_->Issue(zone.hostname));
                          ASSIGN_OR_RETURN(certgate::v1::ServerCertificateInfo info,
                                           DescribeServerCertificate(issued.chain_pem, true));
                          *zone.zone.mutable_server_certificate() = std::move(info);
                          zone.server_key_pem = issued.key_pem;
                          return absl::OkStatus();
                        });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetOriginClientCertificate(
    const Caller& caller, const certgate::v1::SetOriginClientCertificateRequest& request) {
  std::string key_pem;
  ASSIGN_OR_RETURN(
      certgate::v1::ServerCertificateInfo info,
      ValidateOriginClientCertificate(request.chain_pem(), request.key_pem(), NowUnix(), &key_pem));
  return ChangeSettings(caller, request.hostname(), "SetOriginClientCertificate",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          txn.SetDetail(absl::StrCat(zone.hostname, " ", info.subject()));
                          *zone.zone.mutable_origin_client_certificate() = info;
                          zone.origin_client_key_pem = key_pem;
                          return absl::OkStatus();
                        });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::ResetOriginClientCertificate(
    const Caller& caller, const std::string& hostname) {
  return ChangeSettings(caller, hostname, "ResetOriginClientCertificate",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          // The edge CA signs nothing for a name not yet proved.
                          if (zone.state == ZoneState::kPending) {
                            return absl::FailedPreconditionError(absl::StrCat(
                                "zone ", zone.hostname,
                                " is pending: the edge CA issues its origin client certificate "
                                "once control of the name is proved"));
                          }
                          txn.SetDetail(zone.hostname);
                          return IssueOriginClientCertificate(zone);
                        });
}

absl::Status ZoneManager::IssueOriginClientCertificate(ZoneRow& zone) const {
  ASSIGN_OR_RETURN(IssuedCertificate issued,
                   edge_ca_->IssueOriginClient(zone.hostname, options_.origin_cert_days));
  ASSIGN_OR_RETURN(certgate::v1::ServerCertificateInfo info,
                   DescribeServerCertificate(issued.chain_pem, true));
  *zone.zone.mutable_origin_client_certificate() = std::move(info);
  zone.origin_client_key_pem = std::move(issued.key_pem);
  return absl::OkStatus();
}

absl::StatusOr<int> ZoneManager::RenewOriginClientCertificates(int64_t now_unix) {
  int64_t renew_before = static_cast<int64_t>(options_.origin_cert_renew_days) * 86400;
  auto due = [&](const ZoneRow& row) {
    if (row.state == ZoneState::kPending) {
      return false;  // the edge CA signs nothing for a name not yet proved
    }
    const certgate::v1::ServerCertificateInfo& cert = row.zone.origin_client_certificate();
    // Uploaded certificates are the tenant's to renew; a zone stored before
    // origin client certificates existed has none and gets one.
    if (cert.chain_pem().empty() || row.origin_client_key_pem.empty()) {
      return true;
    }
    return cert.issued_by_edge_ca() && cert.not_after_unix() - now_unix < renew_before;
  };
  // A cheap read first, so that an idle control plane never writes.
  std::vector<int64_t> ids;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    return txn.ForEachActiveZone([&](ZoneRow&& row) {
      if (due(row)) {
        ids.push_back(row.id);
      }
    });
  }));
  // In batches: a control plane upgraded with many zones issues one for
  // each, and one huge transaction would hold the store (and every edge's
  // delta) for the whole of it.
  constexpr size_t kBatch = 500;
  int total = 0;
  for (size_t start = 0; start < ids.size(); start += kBatch) {
    std::vector<int64_t> batch(ids.begin() + start,
                               ids.begin() + std::min(ids.size(), start + kBatch));
    ASSIGN_OR_RETURN(int renewed, RenewOriginClientCertificateBatch(batch, due));
    total += renewed;
  }
  return total;
}

absl::StatusOr<int> ZoneManager::RenewOriginClientCertificateBatch(
    const std::vector<int64_t>& ids, const std::function<bool(const ZoneRow&)>& due) {
  int renewed = 0;
  absl::StatusOr<uint64_t> version = store_->Mutate(
      "control-plane", "RenewOriginClientCertificates", [&](StoreTransaction& txn) -> absl::Status {
        renewed = 0;
        std::string detail;
        for (int64_t id : ids) {
          ASSIGN_OR_RETURN(std::optional<ZoneRow> row, txn.FindZoneById(id));
          if (!row.has_value() || !due(*row)) {
            continue;  // deleted or changed since the read
          }
          RETURN_IF_ERROR(IssueOriginClientCertificate(*row));
          RETURN_IF_ERROR(txn.UpdateZone(*row));
          absl::StrAppend(&detail, renewed == 0 ? "" : " ", row->hostname);
          ++renewed;
        }
        if (renewed == 0) {
          return absl::AbortedError("nothing to renew");
        }
        txn.SetDetail(detail);
        return absl::OkStatus();
      });
  if (!version.ok() && renewed == 0 && absl::IsAborted(version.status())) {
    return 0;
  }
  RETURN_IF_ERROR(version.status());
  return renewed;
}

certgate::v1::GetEdgeCaResponse ZoneManager::GetEdgeCa() const {
  certgate::v1::GetEdgeCaResponse response;
  response.set_certificate_pem(edge_ca_->certificate_pem());
  return response;
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetErrorResponse(
    const Caller& caller, const certgate::v1::SetErrorResponseRequest& request) {
  RETURN_IF_ERROR(ValidateErrorResponse(request.error_response()));
  return ChangeSettings(
      caller, request.hostname(), "SetErrorResponse",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        *zone.zone.mutable_error_response() = request.error_response();
        txn.SetDetail(absl::StrCat(zone.hostname, " ", request.error_response().content_type(), " ",
                                   request.error_response().body().size(), " bytes"));
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetHeaderMapping(
    const Caller& caller, const certgate::v1::SetHeaderMappingRequest& request) {
  const certgate::v1::HeaderMapping& mapping = request.mapping();
  RETURN_IF_ERROR(ValidateHeaderName(mapping.header()));
  RETURN_IF_ERROR(ValidateFieldSelector(mapping.selector()));
  return ChangeSettings(
      caller, request.hostname(), "SetHeaderMapping",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        for (const std::string& name : StatusHeaderList(zone.zone.status_header_names())) {
          if (FoldHeaderName(name) == FoldHeaderName(mapping.header())) {
            return absl::InvalidArgumentError(absl::StrCat("header ", mapping.header(),
                                                           " is already a status header of zone ",
                                                           zone.hostname));
          }
        }
        auto* mappings = zone.zone.mutable_header_mappings();
        bool replaced = false;
        for (certgate::v1::HeaderMapping& existing : *mappings) {
          if (FoldHeaderName(existing.header()) == FoldHeaderName(mapping.header())) {
            existing = mapping;
            replaced = true;
          }
        }
        if (!replaced) {
          if (mappings->size() >= options_.max_header_mappings_per_zone) {
            return absl::ResourceExhaustedError(
                absl::StrCat("zone ", zone.hostname, " already has ", mappings->size(),
                             " header mappings; at most ", options_.max_header_mappings_per_zone,
                             " are allowed"));
          }
          *mappings->Add() = mapping;
        }
        txn.SetDetail(absl::StrCat(zone.hostname, " ", mapping.header(), "=", mapping.selector()));
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::RemoveHeaderMapping(
    const Caller& caller, const certgate::v1::RemoveHeaderMappingRequest& request) {
  return ChangeSettings(
      caller, request.hostname(), "RemoveHeaderMapping",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        auto* mappings = zone.zone.mutable_header_mappings();
        auto it = std::find_if(mappings->begin(), mappings->end(),
                               [&](const certgate::v1::HeaderMapping& m) {
                                 return absl::EqualsIgnoreCase(m.header(), request.header());
                               });
        if (it == mappings->end()) {
          return absl::NotFoundError(absl::StrCat("header mapping ", request.header(),
                                                  " not found in zone ", zone.hostname));
        }
        mappings->erase(it);
        txn.SetDetail(absl::StrCat(zone.hostname, " ", request.header()));
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetStatusHeaderNames(
    const Caller& caller, const certgate::v1::SetStatusHeaderNamesRequest& request) {
  const certgate::v1::StatusHeaderNames& names = request.names();
  if (names.status().empty() && names.ski().empty() && names.error().empty()) {
    return absl::InvalidArgumentError("no status header name given");
  }
  for (const std::string& name : StatusHeaderList(names)) {
    if (!name.empty()) {
      RETURN_IF_ERROR(ValidateHeaderName(name));
    }
  }
  return ChangeSettings(
      caller, request.hostname(), "SetStatusHeaderNames",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        certgate::v1::StatusHeaderNames merged = zone.zone.status_header_names();
        if (!names.status().empty()) {
          merged.set_status(names.status());
        }
        if (!names.ski().empty()) {
          merged.set_ski(names.ski());
        }
        if (!names.error().empty()) {
          merged.set_error(names.error());
        }
        std::vector<std::string> list = StatusHeaderList(merged);
        for (size_t i = 0; i < list.size(); ++i) {
          for (size_t j = i + 1; j < list.size(); ++j) {
            if (FoldHeaderName(list[i]) == FoldHeaderName(list[j])) {
              return absl::InvalidArgumentError(
                  absl::StrCat("status header names must differ; ", list[i], " is used twice"));
            }
          }
          for (const certgate::v1::HeaderMapping& mapping : zone.zone.header_mappings()) {
            if (FoldHeaderName(list[i]) == FoldHeaderName(mapping.header())) {
              return absl::InvalidArgumentError(
                  absl::StrCat("header ", list[i], " is already mapped to ", mapping.selector()));
            }
          }
        }
        *zone.zone.mutable_status_header_names() = merged;
        txn.SetDetail(absl::StrCat(zone.hostname, " ", merged.status(), ",", merged.ski(), ",",
                                   merged.error()));
        return absl::OkStatus();
      });
}

absl::StatusOr<certgate::v1::RevokeResponse> ZoneManager::Revoke(
    const Caller& caller, const certgate::v1::RevokeRequest& request) {
  certgate::v1::Revocation revocation;
  switch (request.target_case()) {
    case certgate::v1::RevokeRequest::kSerialHex: {
      ASSIGN_OR_RETURN(std::string serial, NormalizeSerialHex(request.serial_hex()));
      revocation.set_serial_hex(serial);
      revocation.set_source("serial");
      if (!request.issuer_certificate().empty()) {
        absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> issuer =
            ParseCertificates(request.issuer_certificate());
        if (!issuer.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("issuer certificate: ", issuer.status().message()));
        }
        const X509_NAME* name = X509_get_subject_name((*issuer)[0].get());
        revocation.set_issuer_name_der(NameToDer(name));
        revocation.set_issuer(NameToRfc4514(name));
      }
      break;
    }
    case certgate::v1::RevokeRequest::kCertificate: {
      if (!request.issuer_certificate().empty()) {
        return absl::InvalidArgumentError(
            "issuer_certificate goes with serial_hex; a certificate names its own issuer");
      }
      absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> certs =
          ParseCertificates(request.certificate());
      if (!certs.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("certificate to revoke: ", certs.status().message()));
      }
      if (certs->size() != 1) {
        return absl::InvalidArgumentError("revoke takes exactly one certificate");
      }
      const X509* cert = (*certs)[0].get();
      revocation.set_serial_hex(SerialHex(cert));
      revocation.set_issuer_name_der(NameToDer(X509_get_issuer_name(cert)));
      revocation.set_issuer(NameToRfc4514(X509_get_issuer_name(cert)));
      revocation.set_source("certificate");
      break;
    }
    default:
      return absl::InvalidArgumentError("revoke needs serial_hex or certificate");
  }
  revocation.set_id(RevocationId("manual", revocation.issuer_name_der(), revocation.serial_hex()));
  revocation.set_created_unix(NowUnix());
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(caller, request.hostname(), "Revoke",
                  [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                    for (const certgate::v1::Revocation& existing : zone.zone.revocations()) {
                      if (existing.id() == revocation.id()) {
                        return absl::AlreadyExistsError(
                            absl::StrCat("serial ", revocation.serial_hex(), " is already revoked",
                                         revocation.issuer().empty()
                                             ? " under every issuer"
                                             : absl::StrCat(" under ", revocation.issuer())));
                      }
                    }
                    RETURN_IF_ERROR(CheckRevocations(txn, zone, 1));
                    *zone.zone.add_revocations() = revocation;
                    txn.SetDetail(absl::StrCat(zone.hostname, " serial=", revocation.serial_hex(),
                                               " issuer=", revocation.issuer()));
                    return absl::OkStatus();
                  }));
  certgate::v1::RevokeResponse response;
  *response.mutable_revocation() = std::move(revocation);
  response.set_config_version(version);
  return response;
}

absl::StatusOr<certgate::v1::ListRevocationsResponse> ZoneManager::ListRevocations(
    const Caller& caller, const std::string& hostname) {
  ASSIGN_OR_RETURN(ZoneRow row, ReadZone(caller, hostname));
  certgate::v1::ListRevocationsResponse response;
  *response.mutable_revocations() = std::move(*row.zone.mutable_revocations());
  *response.mutable_crls() = std::move(*row.zone.mutable_crls());
  return response;
}

absl::StatusOr<certgate::v1::ChangeResponse> ZoneManager::RemoveRevocation(
    const Caller& caller, const certgate::v1::RemoveRevocationRequest& request) {
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(caller, request.hostname(), "RemoveRevocation",
                  [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                    auto* list = zone.zone.mutable_revocations();
                    auto it = std::find_if(list->begin(), list->end(),
                                           [&](const certgate::v1::Revocation& r) {
                                             return r.id() == absl::AsciiStrToLower(request.id());
                                           });
                    if (it == list->end()) {
                      return absl::NotFoundError(absl::StrCat(
                          "revocation ", request.id(), " not found in zone ", zone.hostname));
                    }
                    if (absl::StartsWith(it->source(), "crl:")) {
                      return absl::FailedPreconditionError(
                          absl::StrCat("revocation ", request.id(), " comes from ", it->source(),
                                       "; remove the CRL instead"));
                    }
                    txn.SetDetail(absl::StrCat(zone.hostname, " ", it->id()));
                    list->erase(it);
                    return absl::OkStatus();
                  }));
  return MakeChangeResponse(version);
}

absl::StatusOr<certgate::v1::AddCrlResponse> ZoneManager::AddCrl(
    const Caller& caller, const certgate::v1::AddCrlRequest& request) {
  certgate::v1::AddCrlResponse response;
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(caller, request.hostname(), "AddCrl",
                  [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(ParsedCrl parsed,
                                     ParseZoneCrl(request.data(), zone.zone, NowUnix()));
                    for (const certgate::v1::Crl& existing : zone.zone.crls()) {
                      if (existing.id() == parsed.info.id()) {
                        return absl::AlreadyExistsError(absl::StrCat(
                            "CRL ", parsed.info.id(), " is already added to zone ", zone.hostname));
                      }
                    }
                    RETURN_IF_ERROR(CheckRevocations(txn, zone, parsed.revocations.size()));
                    for (certgate::v1::Revocation& revocation : parsed.revocations) {
                      *zone.zone.add_revocations() = std::move(revocation);
                    }
                    *zone.zone.add_crls() = parsed.info;
                    *response.mutable_crl() = parsed.info;
                    txn.SetDetail(absl::StrCat(zone.hostname, " crl=", parsed.info.id(),
                                               " issuer=", parsed.info.issuer()));
                    return absl::OkStatus();
                  }));
  response.set_config_version(version);
  return response;
}

absl::StatusOr<certgate::v1::ChangeResponse> ZoneManager::RemoveCrl(
    const Caller& caller, const certgate::v1::RemoveCrlRequest& request) {
  ASSIGN_OR_RETURN(
      uint64_t version,
      ChangeTrust(caller, request.hostname(), "RemoveCrl",
                  [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                    std::string id = absl::AsciiStrToLower(request.id());
                    auto* crls = zone.zone.mutable_crls();
                    auto it =
                        std::find_if(crls->begin(), crls->end(),
                                     [&](const certgate::v1::Crl& crl) { return crl.id() == id; });
                    if (it == crls->end()) {
                      return absl::NotFoundError(
                          absl::StrCat("CRL ", request.id(), " not found in zone ", zone.hostname));
                    }
                    crls->erase(it);
                    std::string source = absl::StrCat("crl:", id);
                    auto* revocations = zone.zone.mutable_revocations();
                    revocations->erase(std::remove_if(revocations->begin(), revocations->end(),
                                                      [&](const certgate::v1::Revocation& r) {
                                                        return r.source() == source;
                                                      }),
                                       revocations->end());
                    txn.SetDetail(absl::StrCat(zone.hostname, " crl=", id));
                    return absl::OkStatus();
                  }));
  return MakeChangeResponse(version);
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::VerifyZone(const Caller& caller,
                                                                  const std::string& hostname) {
  ASSIGN_OR_RETURN(Activation activation,
                   verifier_->Verify(caller.tenant_id, hostname, caller.actor()));
  uint64_t version = activation.config_version;
  if (version == 0) {
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(version, txn.ConfigVersion());
      return absl::OkStatus();
    }));
  }
  return MakeZoneResponse(std::move(activation.zone), version);
}

absl::StatusOr<certgate::v1::StatusResponse> ZoneManager::GetStatus(const Caller& caller,
                                                                    const std::string& hostname) {
  certgate::v1::StatusResponse response;
  FleetStatus::StatusScope scope;
  scope.tenant_id = caller.tenant_id;
  if (!hostname.empty()) {
    ASSIGN_OR_RETURN(ZoneRow row, ReadZone(caller, hostname));
    *response.mutable_traffic() = fleet_->Traffic(static_cast<uint64_t>(row.id), absl::Now());
    response.mutable_traffic()->set_hostname(row.hostname);
    scope.zone_id = static_cast<uint64_t>(row.id);
  }
  RETURN_IF_ERROR(fleet_->Fill(&response, scope));
  return response;
}

}  // namespace certgate::controlplane

namespace certgate::controlplane {

namespace {

std::string NewRuleId() {
  uint8_t bytes[6];
  RAND_bytes(bytes, sizeof(bytes));
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

// RuleIndex: the position of rule `id` in `zone`, or NOT_FOUND.
absl::StatusOr<int> RuleIndex(const ZoneRow& zone, const std::string& id) {
  const auto& rules = zone.zone.access_rules();
  for (int i = 0; i < rules.size(); ++i) {
    if (rules[i].id() == absl::AsciiStrToLower(id)) {
      return i;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("access rule ", id, " not found in zone ", zone.hostname));
}

}  // namespace

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::AddAccessRule(
    const Caller& caller, const certgate::v1::AddAccessRuleRequest& request) {
  certgate::v1::AccessRule rule = request.rule();
  rule.set_id(NewRuleId());
  RETURN_IF_ERROR(edge::AccessPolicy::CheckRule(rule));
  if (request.position() < 0) {
    return absl::InvalidArgumentError("position must be 1 or more (0 appends)");
  }
  return ChangeSettings(
      caller, request.hostname(), "AddAccessRule",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        auto* rules = zone.zone.mutable_access_rules();
        ASSIGN_OR_RETURN(TenantLimits limits, LimitsOf(txn, zone.tenant_id));
        if (rules->size() + 1 > limits.max_rules_per_zone) {
          return QuotaExceeded(absl::StrCat("zone ", zone.hostname, "'s access rules"),
                               rules->size() + 1, "max-rules-per-zone", limits.max_rules_per_zone);
        }
        for (const std::string& issuer : rule.identity().issuers()) {
          bool known = false;
          for (const auto* list : {&zone.zone.roots(), &zone.zone.intermediates()}) {
            for (const certgate::v1::CaCertificate& ca : *list) {
              known = known || ca.id() == issuer;
            }
          }
          if (!known) {
            return absl::InvalidArgumentError(absl::StrCat(
                "issuer ", issuer, " is not a root or intermediate of zone ", zone.hostname));
          }
        }
        // Ids are random: a repeat within the zone would make remove and move
        // ambiguous, so draw again.
        while (RuleIndex(zone, rule.id()).ok()) {
          rule.set_id(NewRuleId());
        }
        *rules->Add() = rule;
        int last = rules->size() - 1;
        int to = request.position() == 0 || request.position() > rules->size()
                     ? last
                     : request.position() - 1;
        for (int i = last; i > to; --i) {
          rules->SwapElements(i, i - 1);
        }
        txn.SetDetail(absl::StrCat(zone.hostname, " rule ", rule.id(), " at ", to + 1));
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::RemoveAccessRule(
    const Caller& caller, const certgate::v1::RemoveAccessRuleRequest& request) {
  return ChangeSettings(caller, request.hostname(), "RemoveAccessRule",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          ASSIGN_OR_RETURN(int index, RuleIndex(zone, request.id()));
                          auto* rules = zone.zone.mutable_access_rules();
                          rules->erase(rules->begin() + index);
                          txn.SetDetail(absl::StrCat(zone.hostname, " rule ", request.id()));
                          return absl::OkStatus();
                        });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::MoveAccessRule(
    const Caller& caller, const certgate::v1::MoveAccessRuleRequest& request) {
  if (request.position() < 1) {
    return absl::InvalidArgumentError("position must be 1 or more");
  }
  return ChangeSettings(
      caller, request.hostname(), "MoveAccessRule",
      [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(int from, RuleIndex(zone, request.id()));
        auto* rules = zone.zone.mutable_access_rules();
        if (request.position() > rules->size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("position ", request.position(), " is past the last rule (zone ",
                           zone.hostname, " has ", rules->size(), ")"));
        }
        int to = request.position() - 1;
        for (int i = from; i < to; ++i) rules->SwapElements(i, i + 1);
        for (int i = from; i > to; --i) rules->SwapElements(i, i - 1);
        txn.SetDetail(absl::StrCat(zone.hostname, " rule ", request.id(), " to ", to + 1));
        return absl::OkStatus();
      });
}

absl::StatusOr<ZoneManager::ZoneResponse> ZoneManager::SetValidationSettings(
    const Caller& caller, const certgate::v1::SetValidationSettingsRequest& request) {
  return ChangeSettings(caller, request.hostname(), "SetValidationSettings",
                        [&](ZoneRow& zone, StoreTransaction& txn) -> absl::Status {
                          *zone.zone.mutable_validation() = request.validation();
                          // Cached verdicts were made under the old settings.
                          zone.zone.set_trust_version(txn.new_version());
                          return absl::OkStatus();
                        });
}

}  // namespace certgate::controlplane
