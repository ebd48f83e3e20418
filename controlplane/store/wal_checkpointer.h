#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace certgate::controlplane {

// WalCheckpointer copies a SQLite database's write-ahead log back into the
// database file on a thread and connection of its own. SQLite's automatic
// checkpoint runs inside whichever commit crosses the log's size limit, so
// that commit (often an edge's Ack) pays for copying thousands of pages and
// an fsync while it holds the store, and the tenant call behind it waits.
// Attach replaces that automatic checkpoint with a wake-up of this thread.
class WalCheckpointer {
 public:
  // Pages in the log past which a checkpoint is asked for (SQLite's default).
  static constexpr int kPagesBeforeCheckpoint = 1000;

  // Start opens a second connection to the database at `path`.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(const std::string& path);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Attach: commits on `db` wake this thread instead of checkpointing
  // themselves. Detach before either is closed.
  void Attach(sqlite3* db);
  static void Detach(sqlite3* db);

  // Checkpoints run so far (each PASSIVE: it never waits for a reader or
  // writer, and a log left partly copied is finished by the next one).
  uint64_t checkpoints() const;

 private:
  explicit WalCheckpointer(sqlite3* own);
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  void Run();
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wanted_ || stopping_; }

  sqlite3* own_;
  mutable absl::Mutex mu_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace certgate::controlplane
