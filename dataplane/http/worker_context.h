#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/protocol_driver.h"

struct event_base;

namespace certgate::edge {

class ClientConnection;
class LogBuffer;
class MultiplexedOrigins;
class OriginGuard;
class OriginPool;
class OriginResolver;
class TlsServer;
class WorkerMetrics;

// HttpOptions are the limits and timeouts of every client connection.
struct HttpOptions {
  ParserLimits limits;
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration origin_connect_timeout = absl::Seconds(5);
  absl::Duration origin_timeout = absl::Seconds(60);
  // An HTTP/2 origin connection without streams closes after this long.
  absl::Duration http2_origin_idle_timeout = absl::Seconds(30);
  // An upgraded connection (after a 101) closes after this long without a
  // byte in either direction.
  absl::Duration upgraded_idle_timeout = absl::Minutes(5);
  // Largest request body sent to an origin; 0: no limit. Above it: 413 while
  // the origin has not answered, else the connection is cut.
  uint64_t max_body_bytes = 0;
  // Reading one side stops while the other side's unsent bytes exceed this.
  size_t buffer_high_watermark = 256 * 1024;
  // Forward inbound header names containing `_` (dropped by default, as
  // nginx does); reserved names are removed whatever the spelling.
  bool allow_underscore_headers = false;
};

// WorkerContext is what a connection borrows from the worker thread that
// owns it. Everything in it is used by that thread only.
struct WorkerContext {
  event_base* base = nullptr;
  TlsServer* tls = nullptr;
  OriginPool* origins = nullptr;
  // HTTP/2 origins (h2c://): streams on pooled connections. Null: none.
  MultiplexedOrigins* h2_origins = nullptr;
  // Resolves origin hostnames without blocking the loop (never null).
  OriginResolver* resolver = nullptr;
  // Judges every origin address before a connect (never null).
  const OriginGuard* origin_guard = nullptr;
  WorkerMetrics* metrics = nullptr;
  const HttpOptions* options = nullptr;
  // The worker's own log buffers (never null; disabled when a log is off).
  LogBuffer* access_log = nullptr;
  LogBuffer* connection_log = nullptr;
  // Set when the worker stops: responses say Connection: close.
  bool draining = false;
  // Serves a connection whose client negotiated h2 (ALPN). Unset: the
  // connection closes (a zone offers h2 only on an edge that serves it).
  ProtocolDriverFactory http2_driver;
  // Called once when a connection has closed; the worker frees it later
  // (never from inside its own callback).
  std::function<void(ClientConnection*)> on_closed;
};

}  // namespace certgate::edge
