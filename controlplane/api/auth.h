#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// Caller is an authenticated tenant.
struct Caller {
  std::string tenant_id;
  std::string token_id;
  // For the audit log.
  std::string actor() const { return tenant_id + "/" + token_id; }
};

// Authenticator checks `authorization: Bearer <token>` values against the
// admin and edge tokens (hashes held in memory) and tenant tokens (hashes in
// the store). Every comparison is constant-time.
class Authenticator {
 public:
  Authenticator(SqliteStore* store, absl::string_view admin_token, absl::string_view edge_token);

  absl::StatusOr<Caller> AuthenticateTenant(absl::string_view authorization) const;
  absl::Status AuthenticateAdmin(absl::string_view authorization) const;
  absl::Status AuthenticateEdge(absl::string_view authorization) const;

 private:
  SqliteStore* store_;
  std::string admin_hash_;
  std::string edge_hash_;
};

}  // namespace certgate::controlplane
