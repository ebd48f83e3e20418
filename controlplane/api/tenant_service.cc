#include "controlplane/api/tenant_service.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/api/grpc_status.h"

namespace certgate::controlplane {
namespace {

namespace v1 = certgate::v1;

// Serve authenticates the caller, runs `handler` and converts its result.
template <typename Response, typename Handler>
grpc::Status Serve(const Authenticator& auth, grpc::ServerContext* context, Response* response,
                   Handler handler) {
  absl::StatusOr<Caller> caller = auth.AuthenticateTenant(AuthorizationOf(*context));
  if (!caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  absl::StatusOr<Response> result = handler(*caller);
  if (!result.ok()) {
    return ToGrpcStatus(result.status());
  }
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status TenantServiceImpl::CreateZone(grpc::ServerContext* context,
                                           const v1::CreateZoneRequest* request,
                                           v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->CreateZone(caller, *request); });
}

grpc::Status TenantServiceImpl::ListZones(grpc::ServerContext* context,
                                          const v1::ListZonesRequest* request,
                                          v1::ListZonesResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->ListZones(caller); });
}

grpc::Status TenantServiceImpl::GetZone(grpc::ServerContext* context,
                                        const v1::GetZoneRequest* request,
                                        v1::ZoneResponse* response) {
  return Serve(
      *auth_, context, response, [&](const Caller& caller) -> absl::StatusOr<v1::ZoneResponse> {
        std::optional<int> requested;
        if (request->has_warn_days()) {
          requested = request->warn_days();
        }
        ASSIGN_OR_RETURN(int warn_days, warnings_->WarnDays(caller.tenant_id, requested));
        ASSIGN_OR_RETURN(v1::ZoneResponse zone, manager_->GetZone(caller, request->hostname()));
        for (v1::ExpiringItem& item :
             ExpiryWarnings::Expiring({&zone.zone()}, absl::Now(), warn_days)) {
          *zone.add_expiring() = std::move(item);
        }
        zone.set_warn_days(warn_days);
        return zone;
      });
}

grpc::Status TenantServiceImpl::DeleteZone(grpc::ServerContext* context,
                                           const v1::DeleteZoneRequest* request,
                                           v1::ChangeResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->DeleteZone(caller, request->hostname());
  });
}

grpc::Status TenantServiceImpl::UpdateZone(grpc::ServerContext* context,
                                           const v1::UpdateZoneRequest* request,
                                           v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->UpdateZone(caller, *request); });
}

grpc::Status TenantServiceImpl::AddRoots(grpc::ServerContext* context,
                                         const v1::AddCaCertificatesRequest* request,
                                         v1::AddCaCertificatesResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->AddCaCertificates(caller, *request, CaKind::kRoot);
  });
}

grpc::Status TenantServiceImpl::ListRoots(grpc::ServerContext* context,
                                          const v1::ListCaCertificatesRequest* request,
                                          v1::ListCaCertificatesResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->ListCaCertificates(caller, request->hostname(), CaKind::kRoot);
  });
}

grpc::Status TenantServiceImpl::RemoveRoot(grpc::ServerContext* context,
                                           const v1::RemoveCaCertificateRequest* request,
                                           v1::ChangeResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->RemoveCaCertificate(caller, *request, CaKind::kRoot);
  });
}

grpc::Status TenantServiceImpl::AddIntermediates(grpc::ServerContext* context,
                                                 const v1::AddCaCertificatesRequest* request,
                                                 v1::AddCaCertificatesResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->AddCaCertificates(caller, *request, CaKind::kIntermediate);
  });
}

grpc::Status TenantServiceImpl::ListIntermediates(grpc::ServerContext* context,
                                                  const v1::ListCaCertificatesRequest* request,
                                                  v1::ListCaCertificatesResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->ListCaCertificates(caller, request->hostname(), CaKind::kIntermediate);
  });
}

grpc::Status TenantServiceImpl::RemoveIntermediate(grpc::ServerContext* context,
                                                   const v1::RemoveCaCertificateRequest* request,
                                                   v1::ChangeResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->RemoveCaCertificate(caller, *request, CaKind::kIntermediate);
  });
}

grpc::Status TenantServiceImpl::SetServerCertificate(grpc::ServerContext* context,
                                                     const v1::SetServerCertificateRequest* request,
                                                     v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->SetServerCertificate(caller, *request);
  });
}

grpc::Status TenantServiceImpl::ResetServerCertificate(
    grpc::ServerContext* context, const v1::ResetServerCertificateRequest* request,
    v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->ResetServerCertificate(caller, request->hostname());
  });
}

grpc::Status TenantServiceImpl::GetEdgeCa(grpc::ServerContext* context,
                                          const v1::GetEdgeCaRequest* request,
                                          v1::GetEdgeCaResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return absl::StatusOr<v1::GetEdgeCaResponse>(manager_->GetEdgeCa());
  });
}

grpc::Status TenantServiceImpl::SetErrorResponse(grpc::ServerContext* context,
                                                 const v1::SetErrorResponseRequest* request,
                                                 v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->SetErrorResponse(caller, *request); });
}

grpc::Status TenantServiceImpl::SetHeaderMapping(grpc::ServerContext* context,
                                                 const v1::SetHeaderMappingRequest* request,
                                                 v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->SetHeaderMapping(caller, *request); });
}

grpc::Status TenantServiceImpl::RemoveHeaderMapping(grpc::ServerContext* context,
                                                    const v1::RemoveHeaderMappingRequest* request,
                                                    v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->RemoveHeaderMapping(caller, *request);
  });
}

grpc::Status TenantServiceImpl::SetStatusHeaderNames(grpc::ServerContext* context,
                                                     const v1::SetStatusHeaderNamesRequest* request,
                                                     v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->SetStatusHeaderNames(caller, *request);
  });
}

grpc::Status TenantServiceImpl::Revoke(grpc::ServerContext* context,
                                       const v1::RevokeRequest* request,
                                       v1::RevokeResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->Revoke(caller, *request); });
}

grpc::Status TenantServiceImpl::ListRevocations(grpc::ServerContext* context,
                                                const v1::ListRevocationsRequest* request,
                                                v1::ListRevocationsResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->ListRevocations(caller, request->hostname());
  });
}

grpc::Status TenantServiceImpl::RemoveRevocation(grpc::ServerContext* context,
                                                 const v1::RemoveRevocationRequest* request,
                                                 v1::ChangeResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->RemoveRevocation(caller, *request); });
}

grpc::Status TenantServiceImpl::AddCrl(grpc::ServerContext* context,
                                       const v1::AddCrlRequest* request,
                                       v1::AddCrlResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->AddCrl(caller, *request); });
}

grpc::Status TenantServiceImpl::RemoveCrl(grpc::ServerContext* context,
                                          const v1::RemoveCrlRequest* request,
                                          v1::ChangeResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->RemoveCrl(caller, *request); });
}

grpc::Status TenantServiceImpl::GetStatus(grpc::ServerContext* context,
                                          const v1::GetStatusRequest* request,
                                          v1::StatusResponse* response) {
  return Serve(
      *auth_, context, response, [&](const Caller& caller) -> absl::StatusOr<v1::StatusResponse> {
        std::optional<int> requested;
        if (request->has_warn_days()) {
          requested = request->warn_days();
        }
        ASSIGN_OR_RETURN(int warn_days, warnings_->WarnDays(caller.tenant_id, requested));
        ASSIGN_OR_RETURN(v1::StatusResponse status,
                         manager_->GetStatus(caller, request->hostname()));
        // The zones come from the caller's own lookups: another
        // tenant's zone is never among them.
        std::vector<v1::Zone> zones;
        if (!request->hostname().empty()) {
          ASSIGN_OR_RETURN(v1::ZoneResponse zone, manager_->GetZone(caller, request->hostname()));
          zones.push_back(std::move(*zone.mutable_zone()));
        } else {
          ASSIGN_OR_RETURN(v1::ListZonesResponse list, manager_->ListZones(caller));
          for (v1::Zone& zone : *list.mutable_zones()) {
            zones.push_back(std::move(zone));
          }
        }
        std::vector<const v1::Zone*> pointers;
        for (const v1::Zone& zone : zones) {
          pointers.push_back(&zone);
        }
        for (v1::ExpiringItem& item : ExpiryWarnings::Expiring(pointers, absl::Now(), warn_days)) {
          *status.add_expiring() = std::move(item);
        }
        status.set_warn_days(warn_days);
        return status;
      });
}

grpc::Status TenantServiceImpl::SetOriginClientCertificate(
    grpc::ServerContext* context, const v1::SetOriginClientCertificateRequest* request,
    v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->SetOriginClientCertificate(caller, *request);
  });
}

grpc::Status TenantServiceImpl::ResetOriginClientCertificate(
    grpc::ServerContext* context, const v1::ResetOriginClientCertificateRequest* request,
    v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->ResetOriginClientCertificate(caller, request->hostname());
  });
}

grpc::Status TenantServiceImpl::VerifyZone(grpc::ServerContext* context,
                                           const v1::VerifyZoneRequest* request,
                                           v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->VerifyZone(caller, request->hostname());
  });
}

grpc::Status TenantServiceImpl::AddAccessRule(grpc::ServerContext* context,
                                              const v1::AddAccessRuleRequest* request,
                                              v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->AddAccessRule(caller, *request); });
}

grpc::Status TenantServiceImpl::RemoveAccessRule(grpc::ServerContext* context,
                                                 const v1::RemoveAccessRuleRequest* request,
                                                 v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->RemoveAccessRule(caller, *request); });
}

grpc::Status TenantServiceImpl::MoveAccessRule(grpc::ServerContext* context,
                                               const v1::MoveAccessRuleRequest* request,
                                               v1::ZoneResponse* response) {
  return Serve(*auth_, context, response,
               [&](const Caller& caller) { return manager_->MoveAccessRule(caller, *request); });
}

grpc::Status TenantServiceImpl::SetValidationSettings(
    grpc::ServerContext* context, const v1::SetValidationSettingsRequest* request,
    v1::ZoneResponse* response) {
  return Serve(*auth_, context, response, [&](const Caller& caller) {
    return manager_->SetValidationSettings(caller, *request);
  });
}

}  // namespace certgate::controlplane
