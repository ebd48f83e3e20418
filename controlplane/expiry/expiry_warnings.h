#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certgate/v1/common.pb.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// ExpiryWarnings decides how far ahead a tenant is warned of expiring
// certificates and CRLs: the call's own window, else the tenant's setting,
// else the control plane's default (--warn-days).
class ExpiryWarnings {
 public:
  static constexpr int kMaxWarnDays = 3650;

  ExpiryWarnings(SqliteStore* store, int default_warn_days)
      : store_(store), default_warn_days_(default_warn_days) {}

  // WarnDays: INVALID_ARGUMENT when `requested` is outside 0..kMaxWarnDays.
  absl::StatusOr<int> WarnDays(const std::string& tenant_id, std::optional<int> requested) const;

  // Expiring: every item of `zones` within `warn_days`, soonest first.
  static std::vector<certgate::v1::ExpiringItem> Expiring(
      const std::vector<const certgate::v1::Zone*>& zones, absl::Time now, int warn_days);

  int default_warn_days() const { return default_warn_days_; }

 private:
  SqliteStore* store_;
  int default_warn_days_;
};

}  // namespace certgate::controlplane
