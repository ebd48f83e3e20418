#pragma once

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
#include "controlplane/store/store_transaction.h"

namespace certgate::controlplane {

struct SqliteStoreOptions {
  std::string path;
  // How many versions of changed-zone lists to keep for deltas; an edge
  // further behind gets a full snapshot.
  uint64_t delta_history = 1000;
  // Schema to migrate to (tests pass their own).
  const std::vector<Migration>* migrations = nullptr;
};

// SqliteStore serialises all access to the database. Mutate is the only way
// to change config: one transaction that applies the change, bumps the
// config version by one, writes the audit row and the changed-zone list.
class SqliteStore {
 public:
  using MutationFn = std::function<absl::Status(StoreTransaction&)>;
  using CommitListener = std::function<void(uint64_t version)>;

  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);

  // SetCommitListener: called after each committed mutation, outside the
  // lock (so calls for two commits may arrive out of order).
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

  int schema_version() const { return schema_version_; }

 private:
  SqliteStore(std::unique_ptr<Database> db, uint64_t delta_history, int schema_version)
      : db_(std::move(db)), delta_history_(delta_history), schema_version_(schema_version) {}

  absl::Mutex mu_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mu_);
  const uint64_t delta_history_;
  const int schema_version_;
  absl::Mutex listener_mu_;
  CommitListener listener_ ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace certgate::controlplane
