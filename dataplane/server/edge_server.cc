#include "dataplane/server/edge_server.h"

#include <http_parser.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

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
  // inherited[a]: the taken-over sockets bound to options.listen[a].
  std::vector<std::vector<int>> inherited(options.listen.size());
  for (int fd : options.inherited_listen_fds) {
    bool matched = false;
    for (size_t a = 0; a < options.listen.size() && !matched; ++a) {
      if (BoundTo(fd, options.listen[a])) {
        inherited[a].push_back(fd);
        matched = true;
      }
    }
    if (!matched) {
      close(fd);  // an address this edge no longer listens on
    }
  }
  std::unique_ptr<EdgeServer> server(new EdgeServer());
  for (int i = 0; i < options.workers; ++i) {
    std::vector<int> fds;
    for (size_t a = 0; a < options.listen.size(); ++a) {
      // Every inherited socket goes to some worker: connections waiting in
      // its accept queue are served.
      bool have = false;
      for (size_t j = static_cast<size_t>(i); j < inherited[a].size();
           j += static_cast<size_t>(options.workers)) {
        fds.push_back(inherited[a][j]);
        have = true;
      }
      if (have) {
        continue;
      }
      absl::StatusOr<int> fd = BindListener(options.listen[a], /*reuse_port=*/true);
      if (!fd.ok()) {
        for (int open_fd : fds) {
          close(open_fd);
        }
        return fd.status();
      }
      fds.push_back(*fd);
    }
    server->listen_fds_.insert(server->listen_fds_.end(), fds.begin(), fds.end());
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
