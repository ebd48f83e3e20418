#include "dataplane/http2/stream_upstream.h"

#include "dataplane/config/edge_config.h"
#include "dataplane/http/multiplexed_origins.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/http2/http1_stream_upstream.h"
#include "dataplane/http2/http2_stream_upstream.h"

namespace certgate::edge {

std::unique_ptr<StreamUpstream> MakeStreamUpstream(WorkerContext* ctx, const ZoneConfig& zone,
                                                   StreamUpstream::Sink sink) {
  // h2c://, and https:// unless the origin lately picked HTTP/1.1: streams
  // of the worker's HTTP/2 origin pool.
  if (ctx->h2_origins != nullptr && ctx->h2_origins->Handles(zone)) {
    return std::make_unique<Http2StreamUpstream>(ctx, zone, std::move(sink));
  }
  // http://, and https:// origins that speak HTTP/1.1.
  return std::make_unique<Http1StreamUpstream>(ctx, zone, std::move(sink));
}

}  // namespace certgate::edge
