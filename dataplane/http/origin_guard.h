#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/host_port.h"
#include "common/origin_policy.h"

namespace certgate::edge {

// OwnListener: one socket this edge serves on (--listen, --metrics-listen),
// which no origin may point at.
struct OwnListener {
  std::string name;  // "listen", "metrics"
  HostPort address;
};

// OriginGuard judges the address an origin resolved to, at every connect (so
// a name that later resolves elsewhere, DNS rebinding, is judged again):
// the origin policy, then never one of the edge's own listeners. With a
// wildcard listener (0.0.0.0, ::) any local address on its port is the edge.
// Immutable; shared by every worker.
class OriginGuard {
 public:
  // Create resolves the listeners' addresses; INVALID_ARGUMENT if one does
  // not resolve.
  static absl::StatusOr<std::unique_ptr<const OriginGuard>> Create(
      OriginPolicy policy, const std::vector<OwnListener>& own);

  // Refusal: why a connect is refused, for the log (`reason`) and for a
  // metric label (`label`: the address class, or "own-listener").
  struct Refusal {
    std::string reason;
    std::string label;
  };
  // Check: nullopt when the edge may connect to `addr`.
  std::optional<Refusal> Check(const sockaddr* addr) const;

 private:
  // Only Create can make one (std::make_unique needs a public constructor).
  struct Private {
    explicit Private() = default;
  };

  struct Own {
    std::string name;
    std::optional<IpAddress> address;  // nullopt: wildcard
    uint16_t port = 0;
  };

 public:
  OriginGuard(Private, OriginPolicy policy, std::vector<Own> own)
      : policy_(std::move(policy)), own_(std::move(own)) {}

 private:
  OriginPolicy policy_;
  std::vector<Own> own_;
};

}  // namespace certgate::edge
