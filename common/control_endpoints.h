#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate {

// ControlEndpoints: the control-plane replicas an edge or the CLI may use,
// from `--control A,B,C` (each HOST:PORT; a DNS name may stand for several
// replicas by resolving to several addresses, which gRPC tries in turn).
class ControlEndpoints {
 public:
  // Parse: INVALID_ARGUMENT naming the bad entry when one is not HOST:PORT
  // with a port of 1 to 65535, or appears twice.
  static absl::StatusOr<ControlEndpoints> Parse(absl::string_view list);

  const std::vector<std::string>& addresses() const { return addresses_; }
  // GrpcTarget: one gRPC target for a short-lived client (the CLI): the
  // address itself when there is one, else every entry resolved now, as an
  // ipv4: (or ipv6:) address list that gRPC tries in order until one answers.
  absl::StatusOr<std::string> GrpcTarget() const;
  // TlsName: the host of the first entry, the name TLS checks.
  std::string TlsName() const;
  size_t size() const { return addresses_.size(); }

 private:
  explicit ControlEndpoints(std::vector<std::string> addresses)
      : addresses_(std::move(addresses)) {}
  std::vector<std::string> addresses_;
};

}  // namespace certgate
