#include "dataplane/http/origin_guard.h"

#include <netinet/in.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

namespace certgate::edge {
namespace {

bool IsUnspecified(const IpAddress& address) {
  return ClassifyAddress(address).address_class == AddressClass::kUnspecified;
}

// Unmapped: ::ffff:a.b.c.d is a.b.c.d (a socket connects to the IPv4 host).
IpAddress Unmapped(const IpAddress& address) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.family == AF_INET6 && memcmp(address.bytes.data(), kMapped, 12) == 0) {
    IpAddress v4;
    v4.family = AF_INET;
    memcpy(v4.bytes.data(), address.bytes.data() + 12, 4);
    return v4;
  }
  return address;
}

// IsLocal: a connect to `address` reaches this host. Loopback and
// unspecified always do; any other address does when it can be bound, which
// is true exactly for the host's own addresses (as they are right now).
bool IsLocal(const IpAddress& address) {
  AddressClass address_class = ClassifyAddress(address).address_class;
  if (address_class == AddressClass::kLoopback || address_class == AddressClass::kUnspecified) {
    return true;
  }
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (address.family == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    memcpy(&v4->sin_addr, address.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    memcpy(&v6->sin6_addr, address.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  UniqueFd fd(socket(address.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return true;  // cannot tell: refuse rather than risk a loop
  }
  return bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), len) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const OriginGuard>> OriginGuard::Create(
    OriginPolicy policy, const std::vector<OwnListener>& own) {
  std::vector<Own> resolved;
  for (const OwnListener& listener : own) {
    absl::StatusOr<ResolvedAddress> address = Resolve(listener.address.host, listener.address.port);
    if (!address.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", listener.name, " ", listener.address.ToString(), ": ", address.status().message()));
    }
    std::optional<IpAddress> ip =
        IpAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&address->addr));
    if (ip.has_value()) {
      *ip = Unmapped(*ip);
      if (IsUnspecified(*ip)) {
        ip.reset();
      }
    }
    resolved.push_back(Own{listener.name, ip, listener.address.port});
  }
  return std::make_unique<const OriginGuard>(Private(), std::move(policy), std::move(resolved));
}

std::optional<OriginGuard::Refusal> OriginGuard::Check(const sockaddr* addr) const {
  std::optional<IpAddress> ip = IpAddress::FromSockaddr(addr);
  if (!ip.has_value()) {
    return Refusal{"origin address is neither IPv4 nor IPv6", "unsupported"};
  }
  absl::Status allowed = policy_.Check(*ip);
  if (!allowed.ok()) {
    return Refusal{std::string(allowed.message()),
                   AddressClassName(ClassifyAddress(*ip).address_class)};
  }
  uint16_t port = addr->sa_family == AF_INET
                      ? ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port)
                      : ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  IpAddress target = Unmapped(*ip);
  for (const Own& own : own_) {
    if (own.port != port) {
      continue;
    }
    // A connect to 0.0.0.0 or :: reaches a local listener on any address.
    bool self = own.address.has_value() ? (target == *own.address || IsUnspecified(target))
                                        : IsLocal(target);
    if (self) {
      return Refusal{absl::StrCat("origin address ", ip->ToString(), " port ", port,
                                  " is this edge's own --", own.name, " socket"),
                     "own-listener"};
    }
  }
  return std::nullopt;
}

}  // namespace certgate::edge
