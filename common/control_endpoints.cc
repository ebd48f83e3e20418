#include "common/control_endpoints.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace certgate {

absl::StatusOr<ControlEndpoints> ControlEndpoints::Parse(absl::string_view list) {
  std::vector<std::string> addresses;
  for (absl::string_view raw : absl::StrSplit(list, ',')) {
    absl::string_view entry = absl::StripAsciiWhitespace(raw);
    size_t colon = entry.rfind(':');
    int port = 0;
    bool bracketed_ok = entry.empty() || entry[0] != '[' ||
                        (colon != absl::string_view::npos && colon > 0 && entry[colon - 1] == ']');
    if (entry.empty() || colon == absl::string_view::npos || colon == 0 || !bracketed_ok ||
        !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("control plane address \"", entry, "\" in \"",
                                                     list, "\": expected HOST:PORT"));
    }
    if (std::find(addresses.begin(), addresses.end(), entry) != addresses.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("control plane address ", entry, " is listed twice"));
    }
    addresses.emplace_back(entry);
  }
  return ControlEndpoints(std::move(addresses));
}

absl::StatusOr<std::string> ControlEndpoints::GrpcTarget() const {
  if (addresses_.size() == 1) {
    return addresses_[0];
  }
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (const std::string& address : addresses_) {
    size_t colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    std::string port = address.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot resolve control plane ", address, ": ", gai_strerror(rc)));
    }
    for (addrinfo* info = found; info != nullptr; info = info->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (info->ai_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(info->ai_addr);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        v4.push_back(absl::StrCat(text, ":", port));
      } else if (info->ai_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(info->ai_addr);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        v6.push_back(absl::StrCat("[", text, "]:", port));
      }
    }
    ::freeaddrinfo(found);
  }
  // One scheme per target: IPv4 when there is any (loopback and most
  // deployments), else IPv6.
  if (!v4.empty()) {
    return absl::StrCat("ipv4:", absl::StrJoin(v4, ","));
  }
  return absl::StrCat("ipv6:", absl::StrJoin(v6, ","));
}

std::string ControlEndpoints::TlsName() const {
  const std::string& first = addresses_.front();
  std::string host = first.substr(0, first.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace certgate
