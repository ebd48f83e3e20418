#pragma once

#include "certgate/v1/tenant.grpc.pb.h"
#include "controlplane/api/auth.h"
#include "controlplane/api/zone_manager.h"
#include "controlplane/expiry/expiry_warnings.h"

namespace certgate::controlplane {

// TenantServiceImpl authenticates each call with a tenant token and hands it
// to ZoneManager; it holds no logic of its own. GetZone and GetStatus add
// the caller's expiring items, from the zones ZoneManager returned to it.
class TenantServiceImpl final : public certgate::v1::TenantService::Service {
 public:
  TenantServiceImpl(const Authenticator* auth, ZoneManager* manager, const ExpiryWarnings* warnings)
      : auth_(auth), manager_(manager), warnings_(warnings) {}
  grpc::Status CreateZone(grpc::ServerContext* context,
                          const certgate::v1::CreateZoneRequest* request,
                          certgate::v1::ZoneResponse* response) override;
  grpc::Status ListZones(grpc::ServerContext* context,
                         const certgate::v1::ListZonesRequest* request,
                         certgate::v1::ListZonesResponse* response) override;
  grpc::Status GetZone(grpc::ServerContext* context, const certgate::v1::GetZoneRequest* request,
                       certgate::v1::ZoneResponse* response) override;
  grpc::Status DeleteZone(grpc::ServerContext* context,
                          const certgate::v1::DeleteZoneRequest* request,
                          certgate::v1::ChangeResponse* response) override;
  grpc::Status UpdateZone(grpc::ServerContext* context,
                          const certgate::v1::UpdateZoneRequest* request,
                          certgate::v1::ZoneResponse* response) override;
  grpc::Status AddRoots(grpc::ServerContext* context,
                        const certgate::v1::AddCaCertificatesRequest* request,
                        certgate::v1::AddCaCertificatesResponse* response) override;
  grpc::Status ListRoots(grpc::ServerContext* context,
                         const certgate::v1::ListCaCertificatesRequest* request,
                         certgate::v1::ListCaCertificatesResponse* response) override;
  grpc::Status RemoveRoot(grpc::ServerContext* context,
                          const certgate::v1::RemoveCaCertificateRequest* request,
                          certgate::v1::ChangeResponse* response) override;
  grpc::Status AddIntermediates(grpc::ServerContext* context,
                                const certgate::v1::AddCaCertificatesRequest* request,
                                certgate::v1::AddCaCertificatesResponse* response) override;
  grpc::Status ListIntermediates(grpc::ServerContext* context,
                                 const certgate::v1::ListCaCertificatesRequest* request,
                                 certgate::v1::ListCaCertificatesResponse* response) override;
  grpc::Status RemoveIntermediate(grpc::ServerContext* context,
                                  const certgate::v1::RemoveCaCertificateRequest* request,
                                  certgate::v1::ChangeResponse* response) override;
  grpc::Status SetServerCertificate(grpc::ServerContext* context,
                                    const certgate::v1::SetServerCertificateRequest* request,
                                    certgate::v1::ZoneResponse* response) override;
  grpc::Status ResetServerCertificate(grpc::ServerContext* context,
                                      const certgate::v1::ResetServerCertificateRequest* request,
                                      certgate::v1::ZoneResponse* response) override;
  grpc::Status GetEdgeCa(grpc::ServerContext* context,
                         const certgate::v1::GetEdgeCaRequest* request,
                         certgate::v1::GetEdgeCaResponse* response) override;
  grpc::Status SetErrorResponse(grpc::ServerContext* context,
                                const certgate::v1::SetErrorResponseRequest* request,
                                certgate::v1::ZoneResponse* response) override;
  grpc::Status SetHeaderMapping(grpc::ServerContext* context,
                                const certgate::v1::SetHeaderMappingRequest* request,
                                certgate::v1::ZoneResponse* response) override;
  grpc::Status RemoveHeaderMapping(grpc::ServerContext* context,
                                   const certgate::v1::RemoveHeaderMappingRequest* request,
                                   certgate::v1::ZoneResponse* response) override;
  grpc::Status SetStatusHeaderNames(grpc::ServerContext* context,
                                    const certgate::v1::SetStatusHeaderNamesRequest* request,
                                    certgate::v1::ZoneResponse* response) override;
  grpc::Status AddAccessRule(grpc::ServerContext* context,
                             const certgate::v1::AddAccessRuleRequest* request,
                             certgate::v1::ZoneResponse* response) override;
  grpc::Status RemoveAccessRule(grpc::ServerContext* context,
                                const certgate::v1::RemoveAccessRuleRequest* request,
                                certgate::v1::ZoneResponse* response) override;
  grpc::Status MoveAccessRule(grpc::ServerContext* context,
                              const certgate::v1::MoveAccessRuleRequest* request,
                              certgate::v1::ZoneResponse* response) override;
  grpc::Status SetValidationSettings(grpc::ServerContext* context,
                                     const certgate::v1::SetValidationSettingsRequest* request,
                                     certgate::v1::ZoneResponse* response) override;
  grpc::Status Revoke(grpc::ServerContext* context, const certgate::v1::RevokeRequest* request,
                      certgate::v1::RevokeResponse* response) override;
  grpc::Status ListRevocations(grpc::ServerContext* context,
                               const certgate::v1::ListRevocationsRequest* request,
                               certgate::v1::ListRevocationsResponse* response) override;
  grpc::Status RemoveRevocation(grpc::ServerContext* context,
                                const certgate::v1::RemoveRevocationRequest* request,
                                certgate::v1::ChangeResponse* response) override;
  grpc::Status AddCrl(grpc::ServerContext* context, const certgate::v1::AddCrlRequest* request,
                      certgate::v1::AddCrlResponse* response) override;
  grpc::Status RemoveCrl(grpc::ServerContext* context,
                         const certgate::v1::RemoveCrlRequest* request,
                         certgate::v1::ChangeResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const certgate::v1::GetStatusRequest* request,
                         certgate::v1::StatusResponse* response) override;
  grpc::Status SetOriginClientCertificate(
      grpc::ServerContext* context, const certgate::v1::SetOriginClientCertificateRequest* request,
      certgate::v1::ZoneResponse* response) override;
  grpc::Status ResetOriginClientCertificate(
      grpc::ServerContext* context,
      const certgate::v1::ResetOriginClientCertificateRequest* request,
      certgate::v1::ZoneResponse* response) override;
  grpc::Status VerifyZone(grpc::ServerContext* context,
                          const certgate::v1::VerifyZoneRequest* request,
                          certgate::v1::ZoneResponse* response) override;

 private:
  const Authenticator* auth_;
  ZoneManager* manager_;
  const ExpiryWarnings* warnings_;
};

}  // namespace certgate::controlplane
