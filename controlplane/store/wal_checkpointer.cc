#include "controlplane/store/wal_checkpointer.h"

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path) {
  sqlite3* own = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = own != nullptr ? sqlite3_errmsg(own) : sqlite3_errstr(rc);
    sqlite3_close(own);
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", path, " to checkpoint it: ", message));
  }
  // A connection looks at the file only when first used: until then a
  // checkpoint on it finds no log to copy.
  rc = sqlite3_exec(own, "PRAGMA journal_mode", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = sqlite3_errmsg(own);
    sqlite3_close(own);
    return absl::UnavailableError(
        absl::StrCat("cannot read database ", path, " to checkpoint it: ", message));
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(own));
}

WalCheckpointer::WalCheckpointer(sqlite3* own) : own_(own), thread_([this] { Run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  sqlite3_close_v2(own_);
}

void WalCheckpointer::Attach(sqlite3* db) {
  sqlite3_wal_hook(db, &WalCheckpointer::OnCommit, this);
}

void WalCheckpointer::Detach(sqlite3* db) { sqlite3_wal_hook(db, nullptr, nullptr); }

uint64_t WalCheckpointer::checkpoints() const {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

int WalCheckpointer::OnCommit(void* self, sqlite3*, const char*, int pages) {
  if (pages >= kPagesBeforeCheckpoint) {
    auto* checkpointer = static_cast<WalCheckpointer*>(self);
    absl::MutexLock lock(&checkpointer->mu_);
    checkpointer->wanted_ = true;
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WalCheckpointer::Woken));
      if (stopping_) {
        return;
      }
      wanted_ = false;
    }
    // A busy result (another checkpoint under way) is fine: the next commit
    // past the limit asks again.
    sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    absl::MutexLock lock(&mu_);
    ++checkpoints_;
  }
}

}  // namespace certgate::controlplane
