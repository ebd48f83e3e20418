#include "dataplane/http/origin_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace certgate::edge {
namespace {

// An idle origin connection must have nothing to read: a readable socket
// means the origin closed it (EOF) or sent something unasked.
bool LooksOpen(int fd) {
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

OriginPool::OriginPool(size_t max_idle_per_origin, absl::Duration max_idle_time)
    : max_idle_per_origin_(max_idle_per_origin), max_idle_time_(max_idle_time) {}

OriginPool::~OriginPool() {
  for (auto& [key, list] : idle_) {
    for (const Idle& idle : list) {
      close(idle.fd);
    }
  }
}

std::string OriginPool::Key(uint64_t zone_id, absl::string_view host, uint16_t port) {
  // '/' appears in no host name, so two zones can never share a key.
  return absl::StrCat(zone_id, "/", host, ":", port);
}

int OriginPool::Take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) {
    return -1;
  }
  absl::Time now = absl::Now();
  while (!it->second.empty()) {
    Idle idle = it->second.back();
    it->second.pop_back();
    if (now - idle.since < max_idle_time_ && LooksOpen(idle.fd)) {
      return idle.fd;
    }
    close(idle.fd);
  }
  return -1;
}

void OriginPool::Put(const std::string& key, int fd) {
  std::deque<Idle>& list = idle_[key];
  list.push_back({fd, absl::Now()});
  while (list.size() > max_idle_per_origin_) {
    close(list.front().fd);
    list.pop_front();
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
