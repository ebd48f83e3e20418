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

  // Begin opens a transaction that will write (the dialect's begin_write).
  absl::Status Begin();
  // BeginRead opens a read-only one with a single snapshot where the engine
  // needs one (PostgreSQL); on SQLite it opens nothing.
  absl::Status BeginRead();
  absl::Status Commit();
  // Rollback undoes everything since Begin.
  void Rollback();

 private:
  Database* db_;
  bool active_ = false;
};

}  // namespace certgate::controlplane
