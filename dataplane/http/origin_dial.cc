#include "dataplane/http/origin_dial.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"
#include "dataplane/http/origin_socket.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_buffer.h"

namespace certgate::edge {

absl::StatusOr<OriginDial> DialOrigin(const WorkerContext& ctx, const ResolvedAddress& addr,
                                      const OriginDialTarget& target,
                                      OriginTransport::EventHandler handler, void* owner) {
  absl::StatusOr<UniqueFd> socket =
      OpenOriginSocket(ctx, addr, target.zone_hostname, target.client_ip);
  if (!socket.ok()) {
    return socket.status();
  }
  int fd = socket->get();
  OriginDial dial;
  dial.transport = target.tls != nullptr
                       ? OriginTransport::Tls(*std::move(socket), target.tls, target.offer_h2)
                       : OriginTransport::Plain(*std::move(socket));
  if (dial.transport == nullptr) {
    return absl::InternalError("origin TLS: cannot start a session");
  }
  dial.transport->Watch(ctx.base, handler, owner);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("origin connect failed: ", strerror(errno)));
    }
    dial.connecting = true;
  }
  return dial;
}

absl::Status ConnectResult(const OriginTransport& transport) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(transport.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    err = errno;
  }
  if (err != 0) {
    return absl::UnavailableError(absl::StrCat("origin connect failed: ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> AdvanceOriginHandshake(const WorkerContext& ctx, OriginTransport& transport,
                                            const OriginDialTarget& target) {
  std::string error;
  switch (transport.Handshake(&error)) {
    case OriginTransport::Step::kWait:
      return false;
    case OriginTransport::Step::kDone:
      return true;
    case OriginTransport::Step::kFailed:
      break;
  }
  // Never forwarded: the reason is logged; the client gets a 502.
  std::string why = absl::StrCat("origin ", target.host, ":", target.port, ": ", error);
  ctx.connection_log->Write(FormatOriginFailureLogLine(
      absl::Now(), "origin_tls_failed", target.client_ip, target.zone_hostname, why));
  return absl::PermissionDeniedError(why);
}

}  // namespace certgate::edge
