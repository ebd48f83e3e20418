#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/multiplexed_origins.h"
#include "dataplane/http2/http2_client_session.h"
#include "dataplane/tls/origin_tls_context.h"

namespace certgate::edge {

class Http2OriginConnection;
class Http2OriginStream;
struct WorkerContext;

// Http2OriginPool is a worker's HTTP/2 connections to origins (h2c://, and
// https:// origins that pick h2 by ALPN),
// keyed like OriginPool by ZoneConfig::origin_pool_key (so never shared
// between zones). Streams are multiplexed on a key's connections up to the
// origin's SETTINGS_MAX_CONCURRENT_STREAMS; a new connection opens when all
// are full or going away. A connection without streams closes after
// `idle_timeout`. An https origin that picks HTTP/1.1 is remembered for
// `http1_memory` (its requests take the HTTP/1.1 path meanwhile), then
// asked again. One per worker thread: no lock.
class Http2OriginPool : public MultiplexedOrigins {
 public:
  Http2OriginPool(WorkerContext* ctx, Http2ClientOptions options,
                  absl::Duration idle_timeout = absl::Seconds(30),
                  absl::Duration http1_memory = absl::Minutes(10));
  ~Http2OriginPool() override;
  Http2OriginPool(const Http2OriginPool&) = delete;
  Http2OriginPool& operator=(const Http2OriginPool&) = delete;

  bool Handles(const ZoneConfig& zone) const override;
  std::unique_ptr<OriginStream> Open(const ZoneConfig& zone, OriginRequest request, bool end_stream,
                                     OriginStreamSink* sink, absl::string_view client_ip) override;

  size_t connection_count() const;

 private:
  friend class Http2OriginConnection;
  friend class Http2OriginStream;

  // What a connection needs of the zone, copied: the zone version that
  // opened it may be gone while it idles.
  struct Target {
    std::string key;
    std::string host;
    uint16_t port = 0;
    std::string zone_hostname;
    std::string client_ip;                        // of the request that opened it, for logs
    std::shared_ptr<const OriginTlsContext> tls;  // https; null for h2c
  };
  // Place puts the stream on a connection of its target that takes another
  // stream, else on a new one; never on `avoid` (a retry).
  void Place(Http2OriginStream* stream, const Target& target, Http2OriginConnection* avoid);
  // Retry places a refused, unprocessed stream once more.
  void Retry(Http2OriginStream* stream, Http2OriginConnection* from);
  // Dead: `connection` ended; it is freed from the loop, never from its own
  // callback.
  void Dead();
  // PicksHttp1: the https origin under `key` chose HTTP/1.1.
  void PicksHttp1(const std::string& key);
  static void OnReap(evutil_socket_t fd, short what, void* arg);

  WorkerContext* ctx_;
  Http2ClientOptions options_;
  absl::Duration idle_timeout_;
  absl::Duration http1_memory_;
  // https keys whose origin picked HTTP/1.1, and when.
  mutable absl::flat_hash_map<std::string, absl::Time> http1_;
  EventPtr reap_ev_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<Http2OriginConnection>>>
      connections_;
};

}  // namespace certgate::edge
