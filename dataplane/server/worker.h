#pragma once

#include <event2/event.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/http/origin_guard.h"
#include "dataplane/http/origin_pool.h"
#include "dataplane/http/origin_resolver.h"
#include "dataplane/http/worker_context.h"
#include "dataplane/metrics/log_buffer.h"

namespace certgate::edge {

class ClientConnection;
class LogFile;

struct WorkerOptions {
  HttpOptions http;
  size_t max_connections = 0;  // 0: no limit
  // Where the logs go (borrowed; null: off). Each worker buffers its own
  // lines: up to `log_buffer_bytes` (0: the access log lines of one loop
  // turn in one write at its end; connection log lines at once), flushed
  // at least every `log_flush_interval`, on drain and at exit.
  const LogFile* access_log = nullptr;
  const LogFile* connection_log = nullptr;
  size_t log_buffer_bytes = 0;
  absl::Duration log_flush_interval = absl::Seconds(1);
  // Share of successful requests written to the access log (0..1).
  double access_log_sample = 1.0;
  // Which origin addresses connections may reach; required.
  std::shared_ptr<const OriginGuard> origin_guard;
  // How origin hostnames are resolved (each worker has its own resolver).
  OriginResolver::Options resolver;
};

// Worker is one thread with its own event loop, its own listening sockets
// (SO_REUSEPORT: the kernel spreads connections over the workers), its own
// connections and origin pool. Nothing on its request path is shared with
// other workers.
class Worker {
 public:
  // Create takes ownership of `listen_fds` (bound, listening, non-blocking).
  static absl::StatusOr<std::unique_ptr<Worker>> Create(WorkerOptions options, TlsServer* tls,
                                                        WorkerMetrics* metrics,
                                                        std::vector<int> listen_fds);
  ~Worker();

  void Start();
  // Drain (any thread): stop accepting; close idle connections; let busy
  // ones finish their response. The thread ends when none is left.
  void Drain();
  // Stop (any thread): end the loop now, closing everything.
  void Stop();
  void Join();
  // Finished: the loop has ended (after a drain or a stop).
  bool Finished() const { return finished_.load(); }

 private:
  Worker() = default;
  static void OnAccept(evutil_socket_t fd, short what, void* arg);
  static void OnDrain(evutil_socket_t fd, short what, void* arg);
  static void OnReap(evutil_socket_t fd, short what, void* arg);
  static void OnResumeAccept(evutil_socket_t fd, short what, void* arg);
  static void OnFlushLogs(evutil_socket_t fd, short what, void* arg);
  void Accept(int listen_fd);
  void ConnectionClosed(ClientConnection* connection);
  void MaybeFinish();

  WorkerOptions options_;
  event_base* base_ = nullptr;
  std::vector<int> listen_fds_;
  std::vector<event*> accept_events_;
  event* drain_event_ = nullptr;
  event* reap_event_ = nullptr;
  event* resume_accept_event_ = nullptr;
  event* flush_logs_event_ = nullptr;
  event* turn_flush_event_ = nullptr;  // unbuffered access log: end of the loop turn
  std::unique_ptr<LogBuffer> access_log_;
  std::unique_ptr<LogBuffer> connection_log_;
  OriginPool origins_;
  std::unique_ptr<OriginResolver> resolver_;
  WorkerContext context_;
  absl::flat_hash_map<ClientConnection*, std::unique_ptr<ClientConnection>> connections_;
  std::vector<std::unique_ptr<ClientConnection>> closed_;
  bool draining_ = false;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

}  // namespace certgate::edge
