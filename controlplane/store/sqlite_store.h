#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "controlplane/store/database.h"
#include "controlplane/store/migrations.h"
#include "controlplane/store/postgres_commit_feed.h"
#include "controlplane/store/store_transaction.h"
#include "controlplane/store/transaction.h"

namespace certgate::controlplane {

struct SqliteStoreOptions {
  // A SQLite file, or a postgres:// URL (Database::Open).
  std::string path;
  // How many versions of changed-zone lists to keep for deltas; an edge
  // further behind gets a full snapshot.
  uint64_t delta_history = 1000;
  // Schema to migrate to (tests pass their own).
  const std::vector<Migration>* migrations = nullptr;
};

// SqliteStore is the control plane's store on either engine (SQLite or
// PostgreSQL); it serialises all access to its one connection. Mutate is the
// only way to change config: one transaction that applies the change, bumps
// the config version by one, writes the audit row and the changed-zone list.
// On PostgreSQL several processes may share the database: mutations wait on
// the version row, so versions stay one gap-free sequence, and every
// process's commit listener hears of every process's commits.
class SqliteStore {
 public:
  using MutationFn = std::function<absl::Status(StoreTransaction&)>;
  using CommitListener = std::function<void(uint64_t version)>;

  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);

  ~SqliteStore();

  // SetCommitListener: called after each committed mutation, outside the
  // store lock, so calls for two commits may arrive out of order (a version
  // no higher than one already announced is not announced again). Once
  // SetCommitListener returns, the previous listener is not running. On PostgreSQL
  // also for other processes' commits, and with the current version after
  // the store reconnects to the database (whatever it missed meanwhile).
  void SetCommitListener(CommitListener listener);

  // Mutate runs `fn` in a transaction and commits it as the next config
  // version, which it returns. When `fn` fails nothing is written.
  absl::StatusOr<uint64_t> Mutate(absl::string_view actor, absl::string_view action,
                                  const MutationFn& fn);
  // Read runs `fn` with a consistent view (no writes).
  absl::Status Read(const MutationFn& fn);
  // Write runs `fn` in a transaction that is not a config change (edge
  // status): no version bump, no audit row.
  absl::Status Write(const MutationFn& fn);
  // WriteStatus is Write for what its source reports again and again (an
  // edge's ACKs and last-seen time): durable at the next config change's
  // commit rather than at its own, so a fleet acknowledging a change does not
  // wait on one flush to disk per edge while the next change queues behind.
  absl::Status WriteStatus(const MutationFn& fn);

  int schema_version() const { return schema_version_; }
  Engine engine() const { return engine_; }

 private:
  SqliteStore(std::unique_ptr<Database> db, uint64_t delta_history, int schema_version)
      : engine_(db->dialect().engine),
        db_(std::move(db)),
        delta_history_(delta_history),
        schema_version_(schema_version) {}

  // Begin opens `txn`, reconnecting first if the connection was lost.
  absl::Status Begin(Transaction& txn, bool read_only) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteLocked(const MutationFn& fn, const char* in_txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RestoreSyncLocked undoes a status write's relaxed sync if undoing it
  // failed before.
  absl::Status RestoreSyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> MutateLocked(absl::string_view actor, absl::string_view action,
                                        const MutationFn& fn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyListener(uint64_t version);

  const Engine engine_;
  absl::Mutex mu_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mu_);
  bool relaxed_ ABSL_GUARDED_BY(mu_) = false;
  const uint64_t delta_history_;
  const int schema_version_;
  absl::Mutex listener_mu_;
  CommitListener listener_ ABSL_GUARDED_BY(listener_mu_);
  // The highest version announced to the listener: the feed re-reads the
  // current version now and then, which is news only when it is higher.
  std::atomic<uint64_t> announced_{0};
  // Other replicas' commits (PostgreSQL only).
  std::unique_ptr<PostgresCommitFeed> feed_;
};

}  // namespace certgate::controlplane
