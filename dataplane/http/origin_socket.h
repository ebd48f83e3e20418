#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/host_port.h"
#include "common/unique_fd.h"

namespace certgate::edge {

struct WorkerContext;

// OpenOriginSocket: the one way from a resolved origin address to a socket,
// for every origin client (HTTP/1.1, HTTP/2 streams to HTTP/1.1 origins,
// HTTP/2 origins). The origin policy is judged on the address just resolved
// (so a DNS answer that changed since the config was checked is caught); a
// refusal is counted and logged for the zone, and the error tells the client
// only that the origin is refused, not where it is. The socket is
// non-blocking, close-on-exec, with TCP_NODELAY; not yet connected.
absl::StatusOr<UniqueFd> OpenOriginSocket(const WorkerContext& ctx, const ResolvedAddress& addr,
                                          absl::string_view zone_hostname,
                                          absl::string_view client_ip);

}  // namespace certgate::edge
