#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/host_port.h"
#include "dataplane/http/origin_transport.h"

namespace certgate::edge {

class OriginTlsContext;
struct WorkerContext;

// OriginDialTarget: the origin a new connection goes to, and for whom (the
// zone and client named in the log lines of a refusal or a TLS failure).
struct OriginDialTarget {
  absl::string_view host;
  uint16_t port = 0;
  absl::string_view zone_hostname;
  absl::string_view client_ip;
  std::shared_ptr<const OriginTlsContext> tls;  // https; null for plain TCP
  bool offer_h2 = false;                        // ALPN h2 (and http/1.1) to an https origin
};

// OriginDial is a new origin connection on its way: its transport, watched
// by its owner, and whether the connect still goes on (wait for
// writability, then ConnectResult).
struct OriginDial {
  std::unique_ptr<OriginTransport> transport;
  bool connecting = false;
};

// DialOrigin: the one way from a resolved origin address to a connection,
// for every origin client (HTTP/1.1 exchanges, HTTP/2 streams to HTTP/1.1
// origins, HTTP/2 origins): the address judged and the socket opened
// (OpenOriginSocket), the transport made (TLS for an https origin), its
// events sent to `handler(owner, ...)`, and a non-blocking connect started.
// An error is the reason for the client's 502.
absl::StatusOr<OriginDial> DialOrigin(const WorkerContext& ctx, const ResolvedAddress& addr,
                                      const OriginDialTarget& target,
                                      OriginTransport::EventHandler handler, void* owner);

// ConnectResult: once a connecting socket signals, whether the connect
// worked (the error says why not).
absl::Status ConnectResult(const OriginTransport& transport);

// AdvanceOriginHandshake takes the TLS handshake with an https origin one
// step: true when done, false when it waits for the socket. A failure (the
// origin is not the one the zone trusts, or it refused the edge) is logged
// as origin_tls_failed and returned with the reason for the client's 502.
absl::StatusOr<bool> AdvanceOriginHandshake(const WorkerContext& ctx, OriginTransport& transport,
                                            const OriginDialTarget& target);

}  // namespace certgate::edge
