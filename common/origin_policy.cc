#include "common/origin_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace certgate {
namespace {

struct SpecialRange {
  const char* cidr;
  AddressClass address_class;
};

// Every IPv4 range that is not public unicast (IANA special-purpose registry).
constexpr SpecialRange kV4Ranges[] = {
    {"0.0.0.0/8", AddressClass::kUnspecified},     {"10.0.0.0/8", AddressClass::kPrivate},
    {"100.64.0.0/10", AddressClass::kSharedCgnat}, {"127.0.0.0/8", AddressClass::kLoopback},
    {"169.254.0.0/16", AddressClass::kLinkLocal},  {"172.16.0.0/12", AddressClass::kPrivate},
    {"192.0.0.0/24", AddressClass::kReserved},     {"192.0.2.0/24", AddressClass::kReserved},
    {"192.88.99.0/24", AddressClass::kReserved},   {"192.168.0.0/16", AddressClass::kPrivate},
    {"198.18.0.0/15", AddressClass::kReserved},    {"198.51.100.0/24", AddressClass::kReserved},
    {"203.0.113.0/24", AddressClass::kReserved},   {"224.0.0.0/4", AddressClass::kMulticast},
    {"240.0.0.0/4", AddressClass::kReserved},
};

// IPv6 ranges, most specific first where they nest. The ones that carry an
// IPv4 address (mapped, NAT64, 6to4) are handled before this table.
constexpr SpecialRange kV6Ranges[] = {
    {"::/128", AddressClass::kUnspecified},     {"::1/128", AddressClass::kLoopback},
    {"64:ff9b:1::/48", AddressClass::kPrivate},  // local-use NAT64
    {"::/8", AddressClass::kReserved},           // IPv4-compatible and other legacy forms
    {"100::/64", AddressClass::kReserved},      {"2001:db8::/32", AddressClass::kReserved},
    {"2001::/23", AddressClass::kReserved},  // Teredo, ORCHID, benchmarking...
    {"fc00::/7", AddressClass::kPrivate},       {"fe80::/10", AddressClass::kLinkLocal},
    {"fec0::/10", AddressClass::kPrivate},  // site-local, deprecated
    {"ff00::/8", AddressClass::kMulticast},
};

struct ParsedRange {
  Cidr cidr;
  AddressClass address_class;
};

std::vector<ParsedRange> ParseTable(const SpecialRange* begin, const SpecialRange* end) {
  std::vector<ParsedRange> out;
  for (const SpecialRange* r = begin; r != end; ++r) {
    // The table is ours; a bad entry is a programming error caught by tests.
    out.push_back(ParsedRange{*ParseCidr(r->cidr), r->address_class});
  }
  return out;
}

const std::vector<ParsedRange>& V4Table() {
  static const auto* table =
      new std::vector<ParsedRange>(ParseTable(std::begin(kV4Ranges), std::end(kV4Ranges)));
  return *table;
}

const std::vector<ParsedRange>& V6Table() {
  static const auto* table =
      new std::vector<ParsedRange>(ParseTable(std::begin(kV6Ranges), std::end(kV6Ranges)));
  return *table;
}

uint32_t V4At(const IpAddress& address, int offset) {
  return (uint32_t{address.bytes[offset]} << 24) | (uint32_t{address.bytes[offset + 1]} << 16) |
         (uint32_t{address.bytes[offset + 2]} << 8) | uint32_t{address.bytes[offset + 3]};
}

bool HasPrefix(const IpAddress& address, std::initializer_list<uint8_t> prefix) {
  size_t i = 0;
  for (uint8_t b : prefix) {
    if (address.bytes[i++] != b) {
      return false;
    }
  }
  return true;
}

// EmbeddedV4: the IPv4 address an IPv6 one stands for, if any.
std::optional<IpAddress> EmbeddedV4(const IpAddress& address) {
  if (address.family != AF_INET6) {
    return std::nullopt;
  }
  // ::ffff:a.b.c.d (IPv4-mapped: a socket connects to the IPv4 address).
  if (HasPrefix(address, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {
    return IpAddress::V4(V4At(address, 12));
  }
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix: the gateway connects to it).
  if (HasPrefix(address, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return IpAddress::V4(V4At(address, 12));
  }
  // 2002:AABB:CCDD::/48 (6to4: packets are tunnelled to AA.BB.CC.DD).
  if (HasPrefix(address, {0x20, 0x02})) {
    return IpAddress::V4(V4At(address, 2));
  }
  return std::nullopt;
}

ClassifiedAddress ClassifyIn(const IpAddress& address, const std::vector<ParsedRange>& table) {
  for (const ParsedRange& range : table) {
    if (range.cidr.Contains(address)) {
      return ClassifiedAddress{range.address_class, address, range.cidr};
    }
  }
  // IPv6 outside 2000::/3 (global unicast) and not listed: unassigned.
  if (address.family == AF_INET6 && (address.bytes[0] & 0xe0) != 0x20) {
    return ClassifiedAddress{AddressClass::kReserved, address, Cidr{address, 128}};
  }
  return ClassifiedAddress{AddressClass::kPublic, address, Cidr{}};
}

bool AlwaysRefused(AddressClass address_class) {
  return address_class == AddressClass::kLinkLocal || address_class == AddressClass::kMulticast;
}

}  // namespace

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress out;
  out.family = AF_INET;
  out.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  out.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  out.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  out.bytes[3] = static_cast<uint8_t>(host_order);
  return out;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* addr) {
  IpAddress out;
  if (addr->sa_family == AF_INET) {
    out.family = AF_INET;
    memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
    return out;
  }
  if (addr->sa_family == AF_INET6) {
    out.family = AF_INET6;
    memcpy(out.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, 16);
    return out;
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {0};
  if (family == AF_INET || family == AF_INET6) {
    inet_ntop(family, bytes.data(), text, sizeof(text));
  }
  return text;
}

absl::StatusOr<IpAddress> ParseIpLiteral(absl::string_view text) {
  absl::string_view inner = text;
  bool bracketed = absl::ConsumePrefix(&inner, "[");
  if (bracketed && !absl::ConsumeSuffix(&inner, "]")) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
  }
  std::string copy(inner);
  IpAddress out;
  if (!bracketed && inet_pton(AF_INET, copy.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, copy.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
}

std::optional<IpAddress> ParseLenientIpv4(absl::string_view text) {
  std::string copy(text);
  in_addr addr{};
  if (copy.empty() || inet_aton(copy.c_str(), &addr) == 0) {
    return std::nullopt;
  }
  return IpAddress::V4(ntohl(addr.s_addr));
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.family != base.family) {
    return false;
  }
  int full = prefix_len / 8;
  if (memcmp(address.bytes.data(), base.bytes.data(), full) != 0) {
    return false;
  }
  int rest = prefix_len % 8;
  if (rest == 0) {
    return true;
  }
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (base.bytes[full] & mask);
}

bool Cidr::Within(const Cidr& outer) const {
  return base.family == outer.base.family && prefix_len >= outer.prefix_len && outer.Contains(base);
}

std::string Cidr::ToString() const { return absl::StrCat(base.ToString(), "/", prefix_len); }

absl::StatusOr<Cidr> ParseCidr(absl::string_view text) {
  auto error = [text](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("CIDR \"", text, "\": ", problem));
  };
  absl::string_view address_text = text;
  absl::string_view length_text;
  size_t slash = text.find('/');
  if (slash != absl::string_view::npos) {
    address_text = text.substr(0, slash);
    length_text = text.substr(slash + 1);
  }
  absl::StatusOr<IpAddress> address = ParseIpLiteral(address_text);
  if (!address.ok() || absl::StartsWith(address_text, "[")) {
    return error("not an IPv4 dotted quad or IPv6 address");
  }
  Cidr cidr{*address, address->bits()};
  if (slash != absl::string_view::npos) {
    bool digits = !length_text.empty() && length_text.size() <= 3 &&
                  length_text.find_first_not_of("0123456789") == absl::string_view::npos;
    if (!digits || !absl::SimpleAtoi(length_text, &cidr.prefix_len) ||
        cidr.prefix_len > address->bits()) {
      return error(absl::StrCat("prefix length must be 0 to ", address->bits()));
    }
  }
  // Host bits set usually means a typo (10.0.0.1/8 for 10.0.0.0/8): refuse
  // rather than guess which was meant.
  Cidr masked = cidr;
  for (int bit = cidr.prefix_len; bit < address->bits(); ++bit) {
    masked.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (!(masked.base == cidr.base)) {
    return error(absl::StrCat("bits are set past the prefix length (did you mean ",
                              masked.ToString(), "?)"));
  }
  return cidr;
}

const char* AddressClassName(AddressClass address_class) {
  switch (address_class) {
    case AddressClass::kPublic:
      return "public";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kPrivate:
      return "private";
    case AddressClass::kSharedCgnat:
      return "shared (CGNAT)";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kReserved:
      return "reserved";
    case AddressClass::kLinkLocal:
      return "link-local";
    case AddressClass::kMulticast:
      return "multicast";
  }
  return "unknown";
}

ClassifiedAddress ClassifyAddress(const IpAddress& address) {
  if (std::optional<IpAddress> v4 = EmbeddedV4(address)) {
    return ClassifyIn(*v4, V4Table());
  }
  return ClassifyIn(address, address.family == AF_INET ? V4Table() : V6Table());
}

absl::StatusOr<OriginPolicy> OriginPolicy::Create(const std::vector<std::string>& allowed) {
  std::vector<Cidr> cidrs;
  for (const std::string& text : allowed) {
    absl::StatusOr<Cidr> cidr = ParseCidr(text);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--origin-allow: ", cidr.status().message()));
    }
    cidrs.push_back(*cidr);
  }
  return OriginPolicy(std::move(cidrs));
}

absl::Status OriginPolicy::Check(const IpAddress& address) const {
  ClassifiedAddress classified = ClassifyAddress(address);
  if (classified.address_class == AddressClass::kPublic) {
    return absl::OkStatus();
  }
  bool always = AlwaysRefused(classified.address_class);
  for (const Cidr& cidr : allowed_) {
    if (cidr.Contains(classified.judged) && (!always || cidr.Within(classified.range))) {
      return absl::OkStatus();
    }
  }
  std::string subject = address.ToString();
  if (!(classified.judged == address)) {
    absl::StrAppend(&subject, " (IPv4 ", classified.judged.ToString(), ")");
  }
  if (always) {
    return absl::PermissionDeniedError(absl::StrCat(
        "origin address ", subject, " is ", AddressClassName(classified.address_class),
        "; only an --origin-allow range inside ", classified.range.ToString(), " allows it"));
  }
  return absl::PermissionDeniedError(absl::StrCat("origin address ", subject, " is ",
                                                  AddressClassName(classified.address_class),
                                                  "; no --origin-allow range covers it"));
}

absl::Status OriginPolicy::CheckOriginHost(absl::string_view host) const {
  if (absl::StartsWith(host, "[")) {
    absl::StatusOr<IpAddress> address = ParseIpLiteral(host);
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("origin host ", host, " is not an IPv6 address"));
    }
    return Check(*address);
  }
  std::string copy(host);
  IpAddress address;
  if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
    address.family = AF_INET;
    return Check(address);
  }
  if (std::optional<IpAddress> disguised = ParseLenientIpv4(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("origin host ", host, " is the IPv4 address ", disguised->ToString(),
                     " in a non-standard spelling; write it as a dotted quad"));
  }
  return absl::OkStatus();
}

absl::Status OriginPolicy::CheckOriginUrl(absl::string_view origin) const {
  absl::string_view rest = origin;
  if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://") &&
      !absl::ConsumePrefix(&rest, "h2c://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("origin \"", origin, "\" must start with http://, https:// or h2c://"));
  }
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  absl::string_view host = authority;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    host = authority.substr(0, close == absl::string_view::npos ? authority.size() : close + 1);
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
  }
  return CheckOriginHost(host);
}

}  // namespace certgate
