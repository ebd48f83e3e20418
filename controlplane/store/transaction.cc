#include "controlplane/store/transaction.h"

namespace certgate::controlplane {

Transaction::~Transaction() { Rollback(); }

absl::Status Transaction::Begin() {
  absl::Status status = db_->Execute(db_->dialect().begin_write);
  active_ = status.ok();
  return status;
}

absl::Status Transaction::BeginRead() {
  const char* begin = db_->dialect().begin_read;
  if (begin == nullptr) {
    return absl::OkStatus();
  }
  absl::Status status = db_->Execute(begin);
  active_ = status.ok();
  return status;
}

absl::Status Transaction::Commit() {
  if (!active_) {
    return absl::FailedPreconditionError("commit without an open transaction");
  }
  absl::Status status = db_->Execute("COMMIT");
  if (status.ok()) {
    active_ = false;
  }
  return status;
}

// Rollback of a read-only transaction is how it ends: nothing to keep.
void Transaction::Rollback() {
  if (active_) {
    db_->Execute("ROLLBACK").IgnoreError();
    active_ = false;
  }
}

}  // namespace certgate::controlplane
