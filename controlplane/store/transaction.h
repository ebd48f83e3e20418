#pragma once

#include "absl/status/status.h"
#include "controlplane/store/database.h"

namespace certgate::controlplane {

// Transaction rolls back on destruction unless Commit succeeded, so an early
// return on any error leaves the database as it was.
class Transaction {
 public:
  explicit Transaction(Database* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Begin takes the write lock at once (BEGIN IMMEDIATE) so a later write
  // cannot fail with SQLITE_BUSY halfway through.
  absl::Status Begin();
  absl::Status Commit();
  // Rollback undoes everything since Begin.
  void Rollback();

 private:
  Database* db_;
  bool active_ = false;
};

}  // namespace certgate::controlplane
