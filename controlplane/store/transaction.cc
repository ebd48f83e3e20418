#include "controlplane/store/transaction.h"

namespace certgate::controlplane {

Transaction::~Transaction() { Rollback(); }

absl::Status Transaction::Begin() {
  absl::Status status = db_->Execute("BEGIN IMMEDIATE");
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

void Transaction::Rollback() {
  if (active_) {
    db_->Execute("ROLLBACK").IgnoreError();
    active_ = false;
  }
}

}  // namespace certgate::controlplane
