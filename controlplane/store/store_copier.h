#pragma once

#include "absl/status/status.h"
#include "controlplane/store/database.h"

namespace certgate::controlplane {

// StoreCopier copies a whole control-plane database into an empty one of any
// engine (how a SQLite deployment moves to PostgreSQL): both are migrated to
// the newest schema first, every row is copied with its ids, the config
// version is kept (edges resume with a delta, not a snapshot) and it all
// lands in one transaction, so a failed copy leaves the target empty.
class StoreCopier {
 public:
  // Copy: FAILED_PRECONDITION when `to` already holds any tenant or config.
  static absl::Status Copy(Database& from, Database& to);
};

}  // namespace certgate::controlplane
