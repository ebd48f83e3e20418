#include "dataplane/http/origin_pool.h"

namespace certgate::edge {

OriginPool::OriginPool(size_t max_idle_per_origin, absl::Duration max_idle_time,
                       absl::Duration surplus_idle_time)
    : max_idle_per_origin_(max_idle_per_origin),
      max_idle_time_(max_idle_time),
      surplus_idle_time_(surplus_idle_time) {}

OriginPool::~OriginPool() = default;

std::unique_ptr<OriginTransport> OriginPool::Take(const std::string& key, bool check_open) {
  auto it = idle_.find(key);
  if (it == idle_.end()) {
    return nullptr;
  }
  absl::Time now = absl::Now();
  while (!it->second.empty()) {
    Idle idle = std::move(it->second.back());
    it->second.pop_back();
    // An idle origin connection must have nothing to read: a readable
    // socket means the origin closed it (EOF) or sent something unasked
    // (a TLS session ticket is consumed and the connection kept).
    if (now - idle.since >= max_idle_time_) {
      continue;
    }
    if (check_open || idle.connection->idle_readable()) {
      if (!idle.connection->LooksOpen()) {
        continue;
      }
      idle.connection->set_idle_readable(false);
    }
    return std::move(idle.connection);
  }
  idle_.erase(it);
  return nullptr;
}

void OriginPool::Put(const std::string& key, std::unique_ptr<OriginTransport> connection) {
  connection->Watch(nullptr, &OriginPool::OnIdleEvent, this);
  // Whatever its last user wanted (it may have stopped reading while its
  // client was slow): an idle connection is watched for a close. Each Set
  // is an epoll_ctl only when it changes, which it rarely does here.
  connection->WatchRead(true);
  connection->WatchWrite(false);
  absl::Time now = absl::Now();
  Sweep(now);
  std::deque<Idle>& list = idle_[key];
  list.push_back({std::move(connection), now});
  // Oldest first: Take reuses the newest, so the surplus is what the
  // traffic did not need lately.
  while (list.size() > max_idle_per_origin_ &&
         (list.size() > kSurplusFactor * max_idle_per_origin_ ||
          now - list.front().since >= surplus_idle_time_)) {
    list.pop_front();
  }
}

void OriginPool::OnIdleEvent(void*, OriginTransport* connection, short what) {
  if (what & EV_READ) {
    // Level-triggered: stop watching until Take looks at it, or it would
    // wake the loop for as long as it idles.
    connection->WatchRead(false);
    connection->set_idle_readable(true);
  }
  if (what & EV_WRITE) {
    connection->WatchWrite(false);
  }
}

void OriginPool::Sweep(absl::Time now) {
  if (now - last_sweep_ < max_idle_time_) {
    return;
  }
  last_sweep_ = now;
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::deque<Idle>& list = it->second;
    while (!list.empty() && now - list.front().since >= max_idle_time_) {
      list.pop_front();  // oldest first
    }
    if (list.empty()) {
      idle_.erase(it++);
    } else {
      ++it;
    }
  }
}

size_t OriginPool::idle_count() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) {
    n += list.size();
  }
  return n;
}

}  // namespace certgate::edge
