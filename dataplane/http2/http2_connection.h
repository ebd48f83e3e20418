#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/libevent_handles.h"
#include "dataplane/http/protocol_driver.h"
#include "dataplane/http2/http2_server_session.h"
#include "dataplane/http2/stream_upstream.h"

namespace certgate::edge {

class EdgeConfig;
struct ZoneConfig;

// Http2Connection serves a client connection that negotiated h2: it feeds
// what SSL_read gives to an Http2ServerSession, writes what the session
// queues with SSL_write, and treats every stream as the HTTP/1.1 path
// treats a request: the config followed (TlsServer::Recheck), DecideRequest
// (403 with the zone's body, or a trailers-only gRPC refusal for a gRPC
// request), the body limit, the headers rewritten, the stream forwarded
// through MakeStreamUpstream, an access log line and the request metrics.
// Bodies stream both ways under HTTP/2 flow control. Lives on one worker
// thread.
class Http2Connection : public ProtocolDriver {
 public:
  // Factory: the worker's WorkerContext::http2_driver.
  static ProtocolDriverFactory Factory(Http2ServerOptions options);

  Http2Connection(Connection connection, Http2ServerOptions options);
  ~Http2Connection() override;
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void Start() override;
  void Drain() override;
  void Stop() override;

 private:
  // One request stream the application answers (the session answers 421,
  // 431 and 400 itself).
  struct Stream {
    int32_t id = 0;
    absl::Time start;
    std::string method;
    std::string path;
    std::string host;
    std::string refusal;
    // The config the stream was judged with, kept while it runs.
    std::shared_ptr<const EdgeConfig> config;
    const ZoneConfig* zone = nullptr;
    std::string cert_status;
    // Its certificate headers: the names its trailers may not carry.
    std::shared_ptr<const CertificateHeaders> cert;
    std::unique_ptr<StreamUpstream> upstream;
    int status = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    bool response_started = false;
    bool head_ended = false;  // the response head ended the stream
  };

  static void OnSocketEvent(evutil_socket_t fd, short what, void* arg);
  static void OnKick(evutil_socket_t fd, short what, void* arg);
  static void OnIdleTimer(evutil_socket_t fd, short what, void* arg);

  // Run reads what the client sent, writes what the session queued, sets
  // the events and ends the connection when the session is done.
  void Run();
  void ReadClient();
  void Flush();
  void UpdateEvents();
  void Kick();
  void End(absl::string_view why);

  // FollowConfigChange: as ClientConnection's, before each stream. False
  // when the connection's zone is gone.
  bool FollowConfigChange();

  // Session callbacks.
  void OnRequest(Http2RequestHead head);
  void OnLocalAnswer(const Http2RequestHead& head, int status);
  void OnData(int32_t id, absl::string_view data);
  void OnTrailers(int32_t id, HttpHeaders trailers);
  void OnEndStream(int32_t id);
  void OnStreamClose(int32_t id, uint32_t error_code);

  // Answers.
  void Respond(Stream& stream, int status, absl::string_view content_type, absl::string_view body);
  void RespondJson(Stream& stream, int status, absl::string_view message);
  StreamUpstream::Sink MakeSink(int32_t id);
  Stream* Find(int32_t id);
  void Log(const Stream& stream);

  Connection conn_;
  Http2ServerOptions options_;
  std::unique_ptr<Http2ServerSession> session_;
  const ZoneConfig* zone_ = nullptr;  // owned by conn_.auth->config
  // Shared with the streams' requests (StreamRequest::cert): replaced, never
  // changed in place, when the zone changes.
  std::shared_ptr<const CertificateHeaders> cert_headers_;
  std::string cert_status_;

  SocketEvent read_ev_;
  SocketEvent write_ev_;
  EventPtr kick_ev_;
  EventPtr idle_ev_;
  EvbufferPtr out_;  // session output not yet written to the socket
  // The SSL's SocketBio, with readiness hints on (null when the SSL has
  // another BIO): a read that could only say EAGAIN is skipped.
  BIO* bio_ = nullptr;
  bool write_blocked_ = false;
  bool read_wants_write_ = false;
  bool client_eof_ = false;
  bool kicked_ = false;
  // Counts the upstreams' on_data and on_end calls: Run goes another round
  // only when resuming them gave output.
  uint64_t upstream_output_ = 0;
  bool ended_ = false;
  // The connection's zone is gone: GOAWAY after the next stream closes.
  bool zone_gone_ = false;

  absl::flat_hash_map<int32_t, std::unique_ptr<Stream>> streams_;
  // Upstreams of closed streams, freed from the loop: never inside one of
  // their own calls.
  std::vector<std::unique_ptr<StreamUpstream>> retired_;
};

}  // namespace certgate::edge
