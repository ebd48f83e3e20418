#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certgate {

// IpAddress is an IPv4 or IPv6 address as bytes (IPv4 uses the first 4).
struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(uint32_t host_order);
  // FromSockaddr: the address of a sockaddr_in / sockaddr_in6; nullopt for
  // any other family.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* addr);
  int bits() const { return family == AF_INET ? 32 : 128; }
  std::string ToString() const;
  bool operator==(const IpAddress& other) const {
    return family == other.family && bytes == other.bytes;
  }
};

// ParseIpLiteral accepts only the canonical spellings: a dotted quad of
// decimal octets (no leading zeros) or an IPv6 address (inet_pton), with or
// without brackets. Anything else is INVALID_ARGUMENT.
absl::StatusOr<IpAddress> ParseIpLiteral(absl::string_view text);

// ParseLenientIpv4: what the C library's resolver (inet_aton) reads as an
// IPv4 address: `127.1`, `0x7f.1`, `2130706433`, `0177.0.0.1`... nullopt when
// it reads none. A host name that this accepts is an address in disguise.
std::optional<IpAddress> ParseLenientIpv4(absl::string_view text);

// Cidr is a prefix: `10.0.0.0/8`, `fe80::/10`; a bare address is /32 or /128.
struct Cidr {
  IpAddress base;
  int prefix_len = 0;

  bool Contains(const IpAddress& address) const;
  // Within: every address of this prefix is inside `outer`.
  bool Within(const Cidr& outer) const;
  std::string ToString() const;
};

// ParseCidr: INVALID_ARGUMENT naming the text when it is not ADDRESS[/LEN]
// with a canonical address, LEN in range, and no bits set past LEN.
absl::StatusOr<Cidr> ParseCidr(absl::string_view text);

// AddressClass: what kind of destination an address is, for the policy.
enum class AddressClass {
  kPublic,       // global unicast: allowed by default
  kLoopback,     // 127.0.0.0/8, ::1
  kPrivate,      // RFC 1918, fc00::/7 (ULA), fec0::/10, 64:ff9b:1::/48
  kSharedCgnat,  // 100.64.0.0/10
  kUnspecified,  // 0.0.0.0/8, :: (a connect to them reaches this host)
  kReserved,     // documentation, benchmarking, 240.0.0.0/4, Teredo, ...
  kLinkLocal,    // 169.254.0.0/16, fe80::/10 (cloud metadata lives here)
  kMulticast,    // 224.0.0.0/4, ff00::/8
};

const char* AddressClassName(AddressClass address_class);

// ClassifiedAddress: the class of an address and the range that makes it so.
// An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:a.b.c.d,
// NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::) is judged as that IPv4
// address: `judged` is the address the class and the allow list apply to.
struct ClassifiedAddress {
  AddressClass address_class = AddressClass::kPublic;
  IpAddress judged;
  Cidr range;  // the special range `judged` is in (unset for kPublic)
};

ClassifiedAddress ClassifyAddress(const IpAddress& address);

// OriginPolicy decides which origin addresses the edge may connect to.
//   - public unicast: always;
//   - loopback, private, CGNAT, unspecified, reserved: when an allowed
//     range covers the address;
//   - link-local and multicast: only when an allowed range that lies inside
//     the class's range (169.254.0.0/16, fe80::/10, 224.0.0.0/4, ff00::/8)
//     covers it. So `0.0.0.0/0` or `::/0` never opens 169.254.169.254; an
//     operator who means it writes `169.254.169.254/32`.
// Immutable after construction; safe to share between threads.
class OriginPolicy {
 public:
  // Create parses each CIDR; INVALID_ARGUMENT names the first bad one.
  static absl::StatusOr<OriginPolicy> Create(const std::vector<std::string>& allowed);
  OriginPolicy() = default;

  // Check: OK, or PERMISSION_DENIED with a one-line reason naming the
  // address and its class ("169.254.169.254 is link-local; ...").
  absl::Status Check(const IpAddress& address) const;

  // CheckOriginHost judges an origin's host as the control plane sees it: an
  // address literal (bracketed IPv6 or dotted quad) is checked; a host name
  // that the resolver would read as an IPv4 address (`0x7f.1`, `2130706433`)
  // is refused as such; any other name is OK here (the edge checks what it
  // resolves to at every connect).
  absl::Status CheckOriginHost(absl::string_view host) const;
  // CheckOriginUrl: CheckOriginHost on the host of a normalized origin URL
  // (`http://host:port`, `https://[v6]`, `h2c://host:port`).
  absl::Status CheckOriginUrl(absl::string_view origin) const;

  const std::vector<Cidr>& allowed() const { return allowed_; }

 private:
  explicit OriginPolicy(std::vector<Cidr> allowed) : allowed_(std::move(allowed)) {}

  std::vector<Cidr> allowed_;
};

}  // namespace certgate
