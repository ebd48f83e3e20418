#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace certgate::controlplane {

// ToGrpcStatus is the one place where absl::Status becomes grpc::Status.
grpc::Status ToGrpcStatus(const absl::Status& status);

// AuthorizationOf: the call's `authorization` metadata ("" when absent).
std::string AuthorizationOf(const grpc::ServerContextBase& context);

}  // namespace certgate::controlplane
