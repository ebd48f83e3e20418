#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace certgate::controlplane {

// PostgresCommitFeed tells this process of every config version committed
// to a shared PostgreSQL database, by any replica. A thread with its own
// connection LISTENs on the channel mutations NOTIFY at commit (payload: the
// version). On connecting, after every reconnect and every few seconds it
// also reads the current version, so nothing missed while disconnected (or
// lost without a reset from the network) stays unseen.
class PostgresCommitFeed {
 public:
  using Callback = std::function<void(uint64_t version)>;

  // Starts the thread at once; `on_version` runs on it.
  PostgresCommitFeed(std::string url, Callback on_version);
  ~PostgresCommitFeed();
  PostgresCommitFeed(const PostgresCommitFeed&) = delete;
  PostgresCommitFeed& operator=(const PostgresCommitFeed&) = delete;

 private:
  void Run();
  // Listen serves one connection until it fails or the feed stops.
  void Listen(PGconn* conn);
  absl::StatusOr<uint64_t> CurrentVersion(PGconn* conn);
  // Sleep for `seconds` unless stopped first.
  void Sleep(double seconds);

  const std::string url_;
  const Callback on_version_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace certgate::controlplane
