#include "dataplane/http/origin_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/http/origin_guard.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {

absl::StatusOr<UniqueFd> OpenOriginSocket(const WorkerContext& ctx, const ResolvedAddress& addr,
                                          absl::string_view zone_hostname,
                                          absl::string_view client_ip) {
  if (std::optional<OriginGuard::Refusal> refused =
          ctx.origin_guard->Check(reinterpret_cast<const sockaddr*>(&addr.addr))) {
    ctx.metrics->OriginRefused(zone_hostname, refused->label);
    ctx.connection_log->Write(FormatOriginFailureLogLine(absl::Now(), "origin_refused", client_ip,
                                                         zone_hostname, refused->reason));
    return absl::PermissionDeniedError("origin address refused by the edge's origin policy");
  }
  UniqueFd fd(socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::UnavailableError(absl::StrCat("origin socket: ", strerror(errno)));
  }
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace certgate::edge
