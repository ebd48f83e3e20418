#pragma once

#include <memory>

#include "absl/strings/string_view.h"
#include "dataplane/http/origin_stream.h"

namespace certgate::edge {

struct ZoneConfig;

// MultiplexedOrigins is a worker's pool of HTTP/2 origin connections as a
// connection sees it (dataplane/http2 implements it; http/ cannot include
// that layer).
class MultiplexedOrigins {
 public:
  virtual ~MultiplexedOrigins() = default;
  // Handles: the zone's origin is reached over HTTP/2: h2c://, or https://
  // unless the origin lately picked HTTP/1.1 by ALPN.
  virtual bool Handles(const ZoneConfig& zone) const = 0;
  // Open sends `request` as a new stream on a pooled connection to the
  // zone's origin (or a new one). Without `end_stream` the body follows
  // through SendData and Finish. `client_ip` names the client in logs.
  virtual std::unique_ptr<OriginStream> Open(const ZoneConfig& zone, OriginRequest request,
                                             bool end_stream, OriginStreamSink* sink,
                                             absl::string_view client_ip) = 0;
};

}  // namespace certgate::edge
