#pragma once

#include <utility>

#include "absl/status/statusor.h"
#include "certgate/v1/admin.grpc.pb.h"
#include "common/origin_policy.h"
#include "controlplane/api/auth.h"
#include "controlplane/api/tenant_limits.h"
#include "controlplane/ownership/hostname_verifier.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// AdminServiceImpl: tenants and their tokens, and approving pending zones,
// with the admin token.
class AdminServiceImpl final : public certgate::v1::AdminService::Service {
 public:
  // `default_limits`: every tenant's quota unless an admin set its own.
  // `webhook_policy`: the addresses a tenant's webhook URL may name.
  AdminServiceImpl(const Authenticator* auth, SqliteStore* store, FleetStatus* fleet,
                   TenantLimits default_limits, HostnameVerifier* verifier,
                   OriginPolicy webhook_policy = OriginPolicy())
      : auth_(auth),
        store_(store),
        fleet_(fleet),
        default_limits_(default_limits),
        verifier_(verifier),
        webhook_policy_(std::move(webhook_policy)) {}

  grpc::Status CreateTenant(grpc::ServerContext* context,
                            const certgate::v1::CreateTenantRequest* request,
                            certgate::v1::CreateTenantResponse* response) override;
  grpc::Status ListTenants(grpc::ServerContext* context,
                           const certgate::v1::ListTenantsRequest* request,
                           certgate::v1::ListTenantsResponse* response) override;
  grpc::Status DeleteTenant(grpc::ServerContext* context,
                            const certgate::v1::DeleteTenantRequest* request,
                            certgate::v1::DeleteTenantResponse* response) override;
  grpc::Status CreateTenantToken(grpc::ServerContext* context,
                                 const certgate::v1::CreateTenantTokenRequest* request,
                                 certgate::v1::CreateTenantTokenResponse* response) override;
  grpc::Status RevokeTenantToken(grpc::ServerContext* context,
                                 const certgate::v1::RevokeTenantTokenRequest* request,
                                 certgate::v1::RevokeTenantTokenResponse* response) override;
  grpc::Status GetFleetStatus(grpc::ServerContext* context,
                              const certgate::v1::GetFleetStatusRequest* request,
                              certgate::v1::StatusResponse* response) override;
  grpc::Status GetTenant(grpc::ServerContext* context,
                         const certgate::v1::GetTenantRequest* request,
                         certgate::v1::Tenant* response) override;
  grpc::Status SetTenantQuota(grpc::ServerContext* context,
                              const certgate::v1::SetTenantQuotaRequest* request,
                              certgate::v1::Tenant* response) override;
  grpc::Status ApproveZone(grpc::ServerContext* context,
                           const certgate::v1::ApproveZoneRequest* request,
                           certgate::v1::ApproveZoneResponse* response) override;
  grpc::Status ListPendingZones(grpc::ServerContext* context,
                                const certgate::v1::ListPendingZonesRequest* request,
                                certgate::v1::ListPendingZonesResponse* response) override;

 private:
  absl::StatusOr<certgate::v1::CreateTenantResponse> DoCreateTenant(const std::string& name);
  absl::StatusOr<certgate::v1::ListTenantsResponse> DoListTenants();
  absl::StatusOr<certgate::v1::DeleteTenantResponse> DoDeleteTenant(const std::string& tenant);
  absl::StatusOr<certgate::v1::CreateTenantTokenResponse> DoCreateToken(const std::string& tenant);
  absl::StatusOr<certgate::v1::RevokeTenantTokenResponse> DoRevokeToken(
      const std::string& token_id);
  absl::StatusOr<certgate::v1::Tenant> DoSetQuota(
      const certgate::v1::SetTenantQuotaRequest& request);
  // DescribeTenant: the tenant as ListTenants and GetTenant show it.
  absl::StatusOr<certgate::v1::Tenant> DescribeTenant(StoreTransaction& txn, const TenantRow& row);

  const Authenticator* auth_;
  SqliteStore* store_;
  FleetStatus* fleet_;
  const TenantLimits default_limits_;
  HostnameVerifier* verifier_;
  OriginPolicy webhook_policy_;
};

}  // namespace certgate::controlplane
