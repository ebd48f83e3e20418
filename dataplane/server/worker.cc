#include "dataplane/server/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/host_port.h"
#include "dataplane/http/client_connection.h"
#include "dataplane/metrics/worker_metrics.h"

namespace certgate::edge {

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options, TlsServer* tls,
                                                       WorkerMetrics* metrics,
                                                       std::vector<int> listen_fds) {
  if (options.origin_guard == nullptr) {
    return absl::InvalidArgumentError("a worker needs an origin guard");
  }
  std::unique_ptr<Worker> worker(new Worker());
  worker->options_ = std::move(options);
  worker->listen_fds_ = std::move(listen_fds);
  worker->base_ = event_base_new();
  if (worker->base_ == nullptr) {
    return absl::InternalError("event_base_new failed");
  }
  Worker* w = worker.get();
  auto resolver = OriginResolver::Create(w->base_, w->options_.resolver);
  if (!resolver.ok()) {
    return resolver.status();
  }
  w->resolver_ = std::move(*resolver);
  for (int fd : w->listen_fds_) {
    event* ev = event_new(w->base_, fd, EV_READ | EV_PERSIST, &Worker::OnAccept, w);
    event_add(ev, nullptr);
    w->accept_events_.push_back(ev);
  }
  w->drain_event_ = event_new(w->base_, -1, 0, &Worker::OnDrain, w);
  w->reap_event_ = event_new(w->base_, -1, 0, &Worker::OnReap, w);
  w->resume_accept_event_ = evtimer_new(w->base_, &Worker::OnResumeAccept, w);
  w->context_.base = w->base_;
  w->context_.tls = tls;
  w->context_.origins = &w->origins_;
  w->context_.origin_guard = w->options_.origin_guard.get();
  w->context_.resolver = w->resolver_.get();
  w->context_.metrics = metrics;
  w->context_.options = &w->options_.http;
  // Seeded per worker so that workers do not sample in lockstep.
  uint64_t seed =
      static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ reinterpret_cast<uintptr_t>(w);
  w->access_log_ = std::make_unique<LogBuffer>(w->options_.access_log, w->options_.log_buffer_bytes,
                                               w->options_.access_log_sample, seed);
  w->connection_log_ =
      std::make_unique<LogBuffer>(w->options_.connection_log, w->options_.log_buffer_bytes, 1.0, 0);
  w->context_.access_log = w->access_log_.get();
  w->context_.connection_log = w->connection_log_.get();
  if (w->options_.log_buffer_bytes > 0) {
    w->flush_logs_event_ = event_new(w->base_, -1, EV_PERSIST, &Worker::OnFlushLogs, w);
    timeval tv = absl::ToTimeval(w->options_.log_flush_interval);
    event_add(w->flush_logs_event_, &tv);
  } else {
    // Unbuffered: the access log lines of one loop turn (the requests
    // answered in it) go out in one write at its end. Activated, the
    // event runs after the events already active in this turn, before the
    // loop waits again. The connection log stays line by line.
    w->turn_flush_event_ = event_new(w->base_, -1, 0, &Worker::OnFlushLogs, w);
    w->access_log_->SetTurnHook([](void* ev) { event_active(static_cast<event*>(ev), EV_READ, 0); },
                                w->turn_flush_event_);
  }
  w->context_.on_closed = [w](ClientConnection* c) { w->ConnectionClosed(c); };
  return worker;
}

Worker::~Worker() {
  Stop();
  Join();
  connections_.clear();
  closed_.clear();
  resolver_.reset();  // its events belong to base_
  for (event* ev : accept_events_) {
    event_free(ev);
  }
  for (int fd : listen_fds_) {
    close(fd);
  }
  if (drain_event_ != nullptr) {
    event_free(drain_event_);
  }
  if (reap_event_ != nullptr) {
    event_free(reap_event_);
  }
  if (resume_accept_event_ != nullptr) {
    event_free(resume_accept_event_);
  }
  if (flush_logs_event_ != nullptr) {
    event_free(flush_logs_event_);
  }
  if (turn_flush_event_ != nullptr) {
    if (access_log_ != nullptr) {
      access_log_->SetTurnHook(nullptr, nullptr);  // flushes what the turn held
    }
    event_free(turn_flush_event_);
  }
  // The loop has ended: this thread is the buffers' only user now.
  if (access_log_ != nullptr) {
    access_log_->Flush();
    connection_log_->Flush();
  }
  if (base_ != nullptr) {
    event_base_free(base_);
  }
}

void Worker::Start() {
  thread_ = std::thread([this] {
    event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
    // Whatever the drain logged reaches the file before the process exits.
    access_log_->Flush();
    connection_log_->Flush();
    finished_.store(true);
  });
}

void Worker::Drain() { event_active(drain_event_, EV_READ, 0); }

void Worker::Stop() {
  if (base_ != nullptr) {
    event_base_loopbreak(base_);
  }
}

void Worker::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::OnAccept(evutil_socket_t fd, short, void* arg) {
  static_cast<Worker*>(arg)->Accept(fd);
}

void Worker::Accept(int listen_fd) {
  // A bounded batch per wakeup keeps one busy listener from starving the
  // connections already open.
  for (int i = 0; i < 64 && !draining_; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd =
        accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener stays readable, so pause accepting
        // for a moment instead of spinning on it.
        for (event* ev : accept_events_) {
          event_del(ev);
        }
        timeval tv{0, 100 * 1000};
        evtimer_add(resume_accept_event_, &tv);
      }
      return;  // EAGAIN: all accepted
    }
    if (options_.max_connections > 0 && connections_.size() >= options_.max_connections) {
      close(fd);
      continue;
    }
    auto connection = std::make_unique<ClientConnection>(
        &context_, fd, PeerAddressString(reinterpret_cast<sockaddr*>(&addr)));
    ClientConnection* raw = connection.get();
    connections_[raw] = std::move(connection);
    raw->Start();
  }
}

void Worker::OnResumeAccept(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  if (self->draining_) {
    return;
  }
  for (event* ev : self->accept_events_) {
    event_add(ev, nullptr);
  }
}

void Worker::OnFlushLogs(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  self->access_log_->Flush();
  self->connection_log_->Flush();
}

void Worker::ConnectionClosed(ClientConnection* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) {
    return;
  }
  // Freed from the loop, never inside the connection's own callback.
  closed_.push_back(std::move(it->second));
  connections_.erase(it);
  event_active(reap_event_, EV_READ, 0);
}

void Worker::OnReap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  self->closed_.clear();
  self->MaybeFinish();
}

void Worker::OnDrain(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  self->draining_ = true;
  self->context_.draining = true;
  for (event* ev : self->accept_events_) {
    event_del(ev);
  }
  evtimer_del(self->resume_accept_event_);
  for (int fd : self->listen_fds_) {
    close(fd);
  }
  self->listen_fds_.clear();
  std::vector<ClientConnection*> open;
  for (auto& [raw, owned] : self->connections_) {
    open.push_back(raw);
  }
  for (ClientConnection* c : open) {
    c->Drain();
  }
  event_active(self->reap_event_, EV_READ, 0);
}

void Worker::MaybeFinish() {
  if (draining_ && connections_.empty()) {
    event_base_loopbreak(base_);
  }
}

}  // namespace certgate::edge
