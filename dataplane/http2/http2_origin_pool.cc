#include "dataplane/http2/http2_origin_pool.h"

#include <algorithm>
#include <utility>

#include "dataplane/config/edge_config.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/http2/http2_origin_connection.h"
#include "dataplane/http2/http2_origin_stream.h"

namespace certgate::edge {

Http2OriginPool::Http2OriginPool(WorkerContext* ctx, Http2ClientOptions options,
                                 absl::Duration idle_timeout, absl::Duration http1_memory)
    : ctx_(ctx),
      options_(std::move(options)),
      idle_timeout_(idle_timeout),
      http1_memory_(http1_memory) {
  reap_ev_.reset(event_new(ctx_->base, -1, 0, &Http2OriginPool::OnReap, this));
}

Http2OriginPool::~Http2OriginPool() = default;

bool Http2OriginPool::Handles(const ZoneConfig& zone) const {
  if (zone.origin.h2c) {
    return true;
  }
  if (zone.origin_tls == nullptr) {
    return false;
  }
  auto it = http1_.find(zone.origin_pool_key);
  if (it == http1_.end()) {
    return true;
  }
  if (absl::Now() - it->second > http1_memory_) {
    http1_.erase(it);  // ask again: the origin may speak h2 by now
    return true;
  }
  return false;
}

void Http2OriginPool::PicksHttp1(const std::string& key) { http1_[key] = absl::Now(); }

std::unique_ptr<OriginStream> Http2OriginPool::Open(const ZoneConfig& zone, OriginRequest request,
                                                    bool end_stream, OriginStreamSink* sink,
                                                    absl::string_view client_ip) {
  auto stream = std::make_unique<Http2OriginStream>(this, sink, std::move(request), end_stream);
  Target target{zone.origin_pool_key, zone.origin.host,       zone.origin.port,
                zone.hostname,        std::string(client_ip), zone.origin_tls};
  Place(stream.get(), target, nullptr);
  return stream;
}

size_t Http2OriginPool::connection_count() const {
  size_t n = 0;
  for (const auto& [key, list] : connections_) {
    n += list.size();
  }
  return n;
}

void Http2OriginPool::Place(Http2OriginStream* stream, const Target& target,
                            Http2OriginConnection* avoid) {
  std::vector<std::unique_ptr<Http2OriginConnection>>& list = connections_[target.key];
  for (const std::unique_ptr<Http2OriginConnection>& connection : list) {
    if (connection.get() != avoid && connection->Accepting()) {
      connection->Attach(stream);
      return;
    }
  }
  list.push_back(std::make_unique<Http2OriginConnection>(this, target));
  list.back()->Attach(stream);
}

void Http2OriginPool::Retry(Http2OriginStream* stream, Http2OriginConnection* from) {
  stream->retried_ = true;
  stream->id_ = 0;
  stream->connection_ = nullptr;
  Target target = from->target();
  Place(stream, target, from);
}

void Http2OriginPool::Dead() { event_active(reap_ev_.get(), EV_TIMEOUT, 1); }

void Http2OriginPool::OnReap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Http2OriginPool*>(arg);
  for (auto it = self->connections_.begin(); it != self->connections_.end();) {
    auto& list = it->second;
    list.erase(
        std::remove_if(list.begin(), list.end(),
                       [](const std::unique_ptr<Http2OriginConnection>& c) { return c->dead(); }),
        list.end());
    if (list.empty()) {
      self->connections_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace certgate::edge
