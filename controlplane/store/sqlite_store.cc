#include "controlplane/store/sqlite_store.h"

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/store/transaction.h"

namespace certgate::controlplane {

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(options.path));
  ASSIGN_OR_RETURN(int version, Migrate(*db, options.migrations != nullptr ? *options.migrations
                                                                           : SchemaMigrations()));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(db), options.delta_history, version));
}

void SqliteStore::SetCommitListener(CommitListener listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

absl::StatusOr<uint64_t> SqliteStore::Mutate(absl::string_view actor, absl::string_view action,
                                             const MutationFn& fn) {
  uint64_t version = 0;
  {
    absl::MutexLock lock(&mu_);
    Transaction txn(db_.get());
    RETURN_IF_ERROR(txn.Begin());
    ASSIGN_OR_RETURN(uint64_t current, StoreTransaction(db_.get(), 0).ConfigVersion());
    version = current + 1;
    StoreTransaction store(db_.get(), version);
    RETURN_IF_ERROR(fn(store));

    ASSIGN_OR_RETURN(Statement bump,
                     db_->Prepare("UPDATE meta SET value=?1 WHERE key='config_version'"));
    bump.BindInt64(1, static_cast<int64_t>(version));
    RETURN_IF_ERROR(bump.Run());

    ASSIGN_OR_RETURN(Statement audit,
                     db_->Prepare("INSERT INTO audit(config_version, time_unix, actor, action, "
                                  "detail) VALUES (?1, ?2, ?3, ?4, ?5)"));
    audit.BindInt64(1, static_cast<int64_t>(version));
    audit.BindInt64(2, absl::ToUnixSeconds(absl::Now()));
    audit.BindText(3, actor);
    audit.BindText(4, action);
    audit.BindText(5, store.detail());
    RETURN_IF_ERROR(audit.Run());

    if (!store.changed_zones().empty()) {
      ASSIGN_OR_RETURN(Statement change, db_->Prepare("INSERT INTO zone_changes(config_version, "
                                                      "zone_id) VALUES (?1, ?2)"));
      for (int64_t zone_id : store.changed_zones()) {
        change.Reset();
        change.BindInt64(1, static_cast<int64_t>(version));
        change.BindInt64(2, zone_id);
        RETURN_IF_ERROR(change.Run());
      }
    }
    if (version > delta_history_) {
      // Older change lists cannot build a delta any more; edges that far
      // behind get a snapshot.
      uint64_t floor = version - delta_history_;
      ASSIGN_OR_RETURN(Statement prune,
                       db_->Prepare("DELETE FROM zone_changes WHERE config_version <= ?1"));
      prune.BindInt64(1, static_cast<int64_t>(floor));
      RETURN_IF_ERROR(prune.Run());
      ASSIGN_OR_RETURN(Statement set_floor,
                       db_->Prepare("UPDATE meta SET value=?1 WHERE key='delta_floor'"));
      set_floor.BindInt64(1, static_cast<int64_t>(floor));
      RETURN_IF_ERROR(set_floor.Run());
    }
    RETURN_IF_ERROR(txn.Commit());
  }
  CommitListener listener;
  {
    absl::MutexLock lock(&listener_mu_);
    listener = listener_;
  }
  if (listener) {
    listener(version);
  }
  return version;
}

absl::Status SqliteStore::Read(const MutationFn& fn) {
  absl::MutexLock lock(&mu_);
  StoreTransaction store(db_.get(), 0);
  return fn(store);
}

absl::Status SqliteStore::Write(const MutationFn& fn) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin());
  StoreTransaction store(db_.get(), 0);
  RETURN_IF_ERROR(fn(store));
  return txn.Commit();
}

}  // namespace certgate::controlplane
