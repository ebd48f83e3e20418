#include "common/names.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace certgate {
namespace {

constexpr size_t kMaxHostnameLength = 253;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxHeaderNameLength = 128;

absl::Status HostnameError(absl::string_view hostname, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("hostname \"", hostname, "\": ", problem));
}

bool IsLdh(char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '-'; }

// CheckLabel applies RFC 1123 to one lowercase label.
absl::Status CheckLabel(absl::string_view hostname, absl::string_view label) {
  if (label.empty()) {
    return HostnameError(hostname, "empty label");
  }
  if (label.size() > kMaxLabelLength) {
    return HostnameError(hostname, absl::StrCat("label \"", label, "\" is longer than ",
                                                kMaxLabelLength, " characters"));
  }
  for (char c : label) {
    if (c == '*') {
      return HostnameError(hostname, "\"*\" is allowed only as the whole leftmost label");
    }
    if (!IsLdh(c)) {
      return HostnameError(hostname,
                           absl::StrCat("label \"", label,
                                        "\" has a character other than a-z, 0-9 and '-' (use "
                                        "punycode for international names)"));
    }
  }
  if (label.front() == '-' || label.back() == '-') {
    return HostnameError(hostname,
                         absl::StrCat("label \"", label, "\" starts or ends with a hyphen"));
  }
  return absl::OkStatus();
}

// Headers certgate never lets a tenant map a certificate field into.
struct ReservedHeader {
  const char* name;
  const char* reason;
};
constexpr ReservedHeader kReservedHeaders[] = {
    {"Connection", "a hop-by-hop header"},
    {"Keep-Alive", "a hop-by-hop header"},
    {"Proxy-Connection", "a hop-by-hop header"},
    {"TE", "a hop-by-hop header"},
    {"Trailer", "a hop-by-hop header"},
    {"Transfer-Encoding", "a hop-by-hop header"},
    {"Upgrade", "a hop-by-hop header"},
    {"Proxy-Authenticate", "a hop-by-hop header"},
    {"Proxy-Authorization", "a hop-by-hop header"},
    {"Content-Length", "a framing header"},
    {"Host", "a framing header"},
    {"Forwarded", "set by the edge itself"},
};

}  // namespace

absl::StatusOr<std::string> NormalizeHostname(absl::string_view hostname) {
  if (hostname.empty()) {
    return absl::InvalidArgumentError("hostname is empty");
  }
  std::string lower = absl::AsciiStrToLower(hostname);
  if (lower.size() > kMaxHostnameLength) {
    return HostnameError(lower.substr(0, 40) + "...",
                         absl::StrCat("longer than ", kMaxHostnameLength, " characters"));
  }
  if (absl::EndsWith(lower, ".")) {
    return HostnameError(hostname, "trailing dot not allowed");
  }
  std::vector<absl::string_view> labels = absl::StrSplit(lower, '.');
  size_t first = 0;
  if (labels[0] == "*") {
    first = 1;
    if (labels.size() < 3) {
      return HostnameError(hostname, "a wildcard needs at least two labels after \"*.\"");
    }
  }
  for (size_t i = first; i < labels.size(); ++i) {
    absl::Status status = CheckLabel(hostname, labels[i]);
    if (!status.ok()) {
      return status;
    }
  }
  if (labels.size() < 2) {
    return HostnameError(hostname, "needs at least two labels (like example.com)");
  }
  // No top-level domain is all digits (RFC 3696 2): this refuses IPv4
  // literals, which SNI never carries (RFC 6066 3).
  bool all_digits = true;
  for (char c : labels.back()) {
    all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (all_digits) {
    return HostnameError(hostname,
                         "looks like an IP address; zones are DNS names (SNI carries no IPs)");
  }
  return lower;
}

bool IsWildcardHostname(absl::string_view hostname) { return absl::StartsWith(hostname, "*."); }

bool HostnameMatchesZone(absl::string_view host, absl::string_view zone_hostname) {
  if (host.empty() || zone_hostname.empty()) {
    return false;
  }
  if (absl::EqualsIgnoreCase(host, zone_hostname)) {
    return true;
  }
  if (!IsWildcardHostname(zone_hostname) || IsWildcardHostname(host)) {
    return false;
  }
  absl::string_view suffix = zone_hostname.substr(1);  // ".x"
  if (host.size() <= suffix.size() || !absl::EndsWithIgnoreCase(host, suffix)) {
    return false;
  }
  absl::string_view label = host.substr(0, host.size() - suffix.size());
  return !absl::StrContains(label, '.');
}

std::string FoldHeaderName(absl::string_view name) {
  std::string out = absl::AsciiStrToLower(name);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

bool IsReservedHeaderName(absl::string_view folded) {
  return absl::StartsWith(folded, "x-client-cert-") || folded == "client-cert" ||
         folded == "client-cert-chain" || folded == "x-forwarded-client-cert";
}

bool IsForwardingHeaderName(absl::string_view folded) {
  return folded == "forwarded" || folded == "x-real-ip" ||
         absl::StartsWith(folded, "x-forwarded-") || folded == "true-client-ip" ||
         folded == "x-client-ip" || folded == "client-ip" || folded == "x-cluster-client-ip";
}

absl::Status ValidateHeaderName(absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("header name is empty");
  }
  if (name.size() > kMaxHeaderNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("header \"", name.substr(0, 40),
                                                   "...\" is longer than ", kMaxHeaderNameLength,
                                                   " characters"));
  }
  for (char c : name) {
    if (!IsHttpTokenChar(c)) {
      std::string shown =
          absl::ascii_isgraph(static_cast<unsigned char>(c))
              ? absl::StrCat("'", std::string(1, c), "'")
              : absl::StrCat("byte 0x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
      std::string printable;
      for (char p : name) {
        printable.push_back(absl::ascii_isprint(static_cast<unsigned char>(p)) ? p : '?');
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "header \"", printable, "\" is not a valid header name (", shown, " not allowed)"));
    }
  }
  std::string folded = FoldHeaderName(name);
  for (const ReservedHeader& reserved : kReservedHeaders) {
    if (folded == FoldHeaderName(reserved.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("header \"", name, "\" is ", reserved.reason, " and cannot be set"));
    }
  }
  if (IsForwardingHeaderName(folded)) {
    return absl::InvalidArgumentError(
        absl::StrCat("header \"", name, "\" is set by the edge itself and cannot be set"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeOrigin(absl::string_view origin) {
  auto error = [origin](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("origin \"", origin, "\": ", problem));
  };
  std::string scheme;
  absl::string_view rest = origin;
  if (absl::StartsWithIgnoreCase(rest, "http://")) {
    scheme = "http";
    rest.remove_prefix(7);
  } else if (absl::StartsWithIgnoreCase(rest, "https://")) {
    scheme = "https";
    rest.remove_prefix(8);
  } else if (absl::StartsWithIgnoreCase(rest, "h2c://")) {
    scheme = "h2c";  // cleartext HTTP/2 (gRPC servers behind a proxy)
    rest.remove_prefix(6);
  } else {
    return error("must start with http://, https:// or h2c://");
  }
  size_t authority_end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, authority_end);
  absl::string_view tail =
      authority_end == absl::string_view::npos ? absl::string_view() : rest.substr(authority_end);
  if (!tail.empty() && tail != "/") {
    return error("must not have a path, query or fragment");
  }
  if (absl::StrContains(authority, '@')) {
    return error("must not contain user info");
  }
  if (authority.empty()) {
    return error("no host");
  }
  std::string host;
  absl::string_view port_text;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return error("unterminated IPv6 literal");
    }
    std::string literal(authority.substr(1, close - 1));
    in6_addr addr;
    if (inet_pton(AF_INET6, literal.c_str(), &addr) != 1) {
      return error(absl::StrCat("\"", literal, "\" is not an IPv6 address"));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &addr, text, sizeof(text));
    host = absl::StrCat("[", text, "]");
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return error("junk after the IPv6 literal");
      }
      port_text = after.substr(1);
      if (port_text.empty()) {
        return error("empty port");
      }
    }
  } else {
    size_t colon = authority.find(':');
    absl::string_view host_text = authority.substr(0, colon);
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) {
        return error("empty port");
      }
    }
    if (host_text.empty()) {
      return error("no host");
    }
    host = absl::AsciiStrToLower(host_text);
    in_addr addr4;
    if (inet_pton(AF_INET, host.c_str(), &addr4) != 1) {
      // A DNS name; a single label (localhost) is fine for an origin.
      std::vector<absl::string_view> labels = absl::StrSplit(host, '.');
      // All-digit last label but not dotted-quad IPv4 (e.g. "010.0.0.1" or
      // "2130706433"): resolvers read these as octal or 32-bit numbers.
      if (!labels.back().empty() &&
          labels.back().find_first_not_of("0123456789") == absl::string_view::npos) {
        return error(absl::StrCat("\"", host_text,
                                  "\" is neither a dotted-quad IPv4 address nor a host name"));
      }
      for (absl::string_view label : labels) {
        bool ok = !label.empty() && label.size() <= kMaxLabelLength && label.front() != '-' &&
                  label.back() != '-';
        for (char c : label) {
          ok = ok && (IsLdh(c) || c == '_');
        }
        if (!ok) {
          return error(absl::StrCat("\"", host_text, "\" is not a valid host name"));
        }
      }
    }
  }
  std::string result = absl::StrCat(scheme, "://", host);
  if (!port_text.empty()) {
    int port = 0;
    bool digits = true;
    for (char c : port_text) {
      digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
    }
    if (!digits || port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) || port < 1 ||
        port > 65535) {
      return error(absl::StrCat("port \"", port_text, "\" is not a number from 1 to 65535"));
    }
    absl::StrAppend(&result, ":", port);
  }
  return result;
}

bool IsPrintableAscii(absl::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool IsHttpTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
    return true;
  }
  return absl::StrContains("!#$%&'*+-.^_`|~", c) && c != '\0';
}

bool IsHttpToken(absl::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsHttpTokenChar);
}

}  // namespace certgate
