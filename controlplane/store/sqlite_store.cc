#include "controlplane/store/sqlite_store.h"

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/store/transaction.h"

namespace certgate::controlplane {

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(options.path));
  ASSIGN_OR_RETURN(int version, Migrate(*db, options.migrations != nullptr ? *options.migrations
                                                                           : SchemaMigrations()));
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(std::move(db), options.delta_history, version));
  if (store->engine_ == Engine::kPostgres) {
    SqliteStore* self = store.get();
    store->feed_ = std::make_unique<PostgresCommitFeed>(
        options.path, [self](uint64_t committed) { self->NotifyListener(committed); });
  }
  return store;
}

SqliteStore::~SqliteStore() { feed_.reset(); }

void SqliteStore::SetCommitListener(CommitListener listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

void SqliteStore::NotifyListener(uint64_t version) {
  uint64_t seen = announced_.load();
  do {
    if (version <= seen) {
      return;
    }
  } while (!announced_.compare_exchange_weak(seen, version));
  // Called under the lock, so that once SetCommitListener(nullptr) returns
  // no call (from the commit feed's thread either) is still running.
  absl::MutexLock lock(&listener_mu_);
  if (listener_) {
    listener_(version);
  }
}

absl::Status SqliteStore::Begin(Transaction& txn, bool read_only) {
  // After a database restart the first statement on the old connection is
  // the one that fails; it wrote nothing, so a retry on a fresh connection
  // is safe. Later failures are returned: retrying would repeat the caller's
  // work.
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    RETURN_IF_ERROR(db_->Reconnect());
    status = read_only ? txn.BeginRead() : txn.Begin();
    if (!absl::IsUnavailable(status)) {
      break;
    }
  }
  return status;
}

absl::StatusOr<uint64_t> SqliteStore::Mutate(absl::string_view actor, absl::string_view action,
                                             const MutationFn& fn) {
  uint64_t version = 0;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(version, MutateLocked(actor, action, fn));
  }
  NotifyListener(version);
  return version;
}

absl::StatusOr<uint64_t> SqliteStore::MutateLocked(absl::string_view actor,
                                                   absl::string_view action, const MutationFn& fn) {
  const Dialect& dialect = db_->dialect();
  RETURN_IF_ERROR(RestoreSyncLocked());
  Transaction txn(db_.get());
  RETURN_IF_ERROR(Begin(txn, /*read_only=*/false));
  // Every mutation, in any process, waits here for the one before it.
  ASSIGN_OR_RETURN(Statement current_stmt,
                   db_->Prepare(absl::StrCat("SELECT value FROM meta WHERE key='config_version'",
                                             dialect.for_update)));
  ASSIGN_OR_RETURN(bool has_version, current_stmt.Step());
  if (!has_version) {
    return absl::DataLossError("the database has no config version");
  }
  uint64_t version = static_cast<uint64_t>(current_stmt.ColumnInt64(0)) + 1;
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
  if (dialect.notify_commit != nullptr) {
    // Delivered to every listening replica when (and only if) this commits.
    ASSIGN_OR_RETURN(Statement notify, db_->Prepare(dialect.notify_commit));
    notify.BindInt64(1, static_cast<int64_t>(version));
    RETURN_IF_ERROR(notify.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return version;
}

absl::Status SqliteStore::Read(const MutationFn& fn) {
  absl::MutexLock lock(&mu_);
  Transaction txn(db_.get());
  RETURN_IF_ERROR(Begin(txn, /*read_only=*/true));
  StoreTransaction store(db_.get(), 0);
  return fn(store);
}

absl::Status SqliteStore::Write(const MutationFn& fn) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(RestoreSyncLocked());
  return WriteLocked(fn, nullptr);
}

absl::Status SqliteStore::WriteStatus(const MutationFn& fn) {
  absl::MutexLock lock(&mu_);
  const Dialect& dialect = db_->dialect();
  if (dialect.relaxed_sync_before != nullptr) {
    relaxed_ = true;
    absl::Status relaxed = db_->Execute(dialect.relaxed_sync_before);
    if (!relaxed.ok()) {
      RestoreSyncLocked().IgnoreError();
      return relaxed;
    }
  }
  absl::Status written = WriteLocked(fn, dialect.relaxed_sync_in_txn);
  if (dialect.relaxed_sync_after != nullptr) {
    absl::Status restored = RestoreSyncLocked();
    if (written.ok() && !restored.ok()) {
      return restored;
    }
  }
  return written;
}

absl::Status SqliteStore::RestoreSyncLocked() {
  // Nothing else may commit relaxed: until this succeeds every other
  // config change or write fails rather than skip its flush.
  if (relaxed_) {
    RETURN_IF_ERROR(db_->Execute(db_->dialect().relaxed_sync_after));
    relaxed_ = false;
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteLocked(const MutationFn& fn, const char* in_txn) {
  Transaction txn(db_.get());
  RETURN_IF_ERROR(Begin(txn, /*read_only=*/false));
  if (in_txn != nullptr) {
    RETURN_IF_ERROR(db_->Execute(in_txn));
  }
  StoreTransaction store(db_.get(), 0);
  RETURN_IF_ERROR(fn(store));
  return txn.Commit();
}

}  // namespace certgate::controlplane
