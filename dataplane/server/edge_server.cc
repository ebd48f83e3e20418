#include "dataplane/server/edge_server.h"

#include <http_parser.h>
#include <unistd.h>

#include "dataplane/metrics/edge_metrics.h"

namespace certgate::edge {

absl::StatusOr<std::unique_ptr<EdgeServer>> EdgeServer::Create(EdgeServerOptions options,
                                                               TlsServer* tls,
                                                               EdgeMetrics* metrics) {
  if (options.listen.empty()) {
    return absl::InvalidArgumentError("no listen address");
  }
  if (options.workers < 1 || options.workers > metrics->worker_count()) {
    return absl::InvalidArgumentError("worker count out of range");
  }
  // http_parser's own header cap is process-wide; ours is the tighter one,
  // so raise its cap when ours is larger.
  if (options.worker.http.limits.max_header_bytes + 1024 > 80 * 1024) {
    http_parser_set_max_header_size(
        static_cast<uint32_t>(options.worker.http.limits.max_header_bytes + 1024));
  }
  std::unique_ptr<EdgeServer> server(new EdgeServer());
  for (int i = 0; i < options.workers; ++i) {
    std::vector<int> fds;
    for (const HostPort& address : options.listen) {
      absl::StatusOr<int> fd = BindListener(address, /*reuse_port=*/true);
      if (!fd.ok()) {
        for (int open_fd : fds) {
          close(open_fd);
        }
        return fd.status();
      }
      fds.push_back(*fd);
    }
    absl::StatusOr<std::unique_ptr<Worker>> worker =
        Worker::Create(options.worker, tls, metrics->worker(i), std::move(fds));
    if (!worker.ok()) {
      return worker.status();
    }
    server->workers_.push_back(std::move(*worker));
  }
  return server;
}

EdgeServer::~EdgeServer() { Shutdown(absl::ZeroDuration()); }

void EdgeServer::Start() {
  for (auto& worker : workers_) {
    worker->Start();
  }
}

void EdgeServer::Shutdown(absl::Duration drain_timeout) {
  for (auto& worker : workers_) {
    worker->Drain();
  }
  absl::Time deadline = absl::Now() + drain_timeout;
  for (auto& worker : workers_) {
    while (!worker->Finished() && absl::Now() < deadline) {
      usleep(20000);
    }
    worker->Stop();
    worker->Join();
  }
}

}  // namespace certgate::edge
