#pragma once

#include "absl/status/statusor.h"
#include "certgate/v1/admin.grpc.pb.h"
#include "controlplane/api/auth.h"
#include "controlplane/ownership/hostname_verifier.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// AdminServiceImpl: tenants and their tokens, and approving pending zones,
// with the admin token.
class AdminServiceImpl final : public certgate::v1::AdminService::Service {
 public:
  AdminServiceImpl(const Authenticator* auth, SqliteStore* store, FleetStatus* fleet,
                   HostnameVerifier* verifier)
      : auth_(auth), store_(store), fleet_(fleet), verifier_(verifier) {}

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

  const Authenticator* auth_;
  SqliteStore* store_;
  FleetStatus* fleet_;
  HostnameVerifier* verifier_;
};

}  // namespace certgate::controlplane
