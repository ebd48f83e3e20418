#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "certgate/v1/admin.grpc.pb.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "cli/client/connection_settings.h"
#include "grpcpp/grpcpp.h"

namespace certgate::cli {

// Connection is one gRPC channel to the control plane with the caller's
// bearer token: TLS verified against the CA file (or the system's roots), or
// plaintext when the settings say insecure.
class Connection {
 public:
  // Create reads the CA file; INVALID_ARGUMENT naming it when it cannot be
  // read or holds no certificate. Nothing is sent until the first call.
  static absl::StatusOr<std::unique_ptr<Connection>> Create(const ConnectionSettings& settings);

  certgate::v1::TenantService::Stub& tenant() { return *tenant_; }
  certgate::v1::AdminService::Stub& admin() { return *admin_; }

  // NewCallContext: a context with the authorization metadata and a deadline,
  // one per call (gRPC contexts are single-use).
  std::unique_ptr<grpc::ClientContext> NewCallContext() const;

 private:
  Connection(std::shared_ptr<grpc::Channel> channel, std::string token);

  std::shared_ptr<grpc::Channel> channel_;
  std::string token_;
  std::unique_ptr<certgate::v1::TenantService::Stub> tenant_;
  std::unique_ptr<certgate::v1::AdminService::Stub> admin_;
};

}  // namespace certgate::cli
