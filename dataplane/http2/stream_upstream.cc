#include "dataplane/http2/stream_upstream.h"

#include "dataplane/config/edge_config.h"
#include "dataplane/http2/http1_stream_upstream.h"

namespace certgate::edge {

std::unique_ptr<StreamUpstream> MakeStreamUpstream(WorkerContext* ctx, const ZoneConfig& zone,
                                                   StreamUpstream::Sink sink) {
  // http:// and https:// (OriginUrl::tls) speak HTTP/1.1 to the origin.
  return std::make_unique<Http1StreamUpstream>(ctx, zone, std::move(sink));
}

}  // namespace certgate::edge
