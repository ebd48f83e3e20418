#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate {

// HostPort is a parsed `HOST:PORT` (`[v6]:PORT` for IPv6 literals).
struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};

// ParseHostPort: INVALID_ARGUMENT naming the input when it is not HOST:PORT
// with a port in 1..65535 (0 allowed when `allow_zero_port`).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, bool allow_zero_port = false);

// ResolvedAddress is a socket address ready for bind or connect.
struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

// Resolve turns host and port into an address: numeric first, else a
// (blocking) getaddrinfo lookup. NOT_FOUND when the name does not resolve.
absl::StatusOr<ResolvedAddress> Resolve(const std::string& host, uint16_t port);

// PeerAddressString: the IP of a socket address, without the port.
std::string PeerAddressString(const sockaddr* addr);

// BindListener makes a non-blocking listening socket on `address`;
// `reuse_port` sets SO_REUSEPORT so that several workers can each have one.
absl::StatusOr<int> BindListener(const HostPort& address, bool reuse_port, int backlog = 1024);

// BoundTo: socket `fd` is bound to exactly `address` (a socket taken over
// from another process is matched to a listen address this way).
bool BoundTo(int fd, const HostPort& address);

}  // namespace certgate
