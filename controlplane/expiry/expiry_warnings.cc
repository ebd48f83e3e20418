#include "controlplane/expiry/expiry_warnings.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controlplane/expiry/zone_expiry.h"
#include "controlplane/store/store_transaction.h"

namespace certgate::controlplane {

absl::StatusOr<int> ExpiryWarnings::WarnDays(const std::string& tenant_id,
                                             std::optional<int> requested) const {
  if (requested.has_value()) {
    if (*requested < 0 || *requested > kMaxWarnDays) {
      return absl::InvalidArgumentError(
          absl::StrCat("warn days must be 0 to ", kMaxWarnDays, ", not ", *requested));
    }
    return *requested;
  }
  TenantSettingsRow settings;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(settings, txn.TenantSettings(tenant_id));
    return absl::OkStatus();
  }));
  return settings.warn_days.value_or(default_warn_days_);
}

std::vector<certgate::v1::ExpiringItem> ExpiryWarnings::Expiring(
    const std::vector<const certgate::v1::Zone*>& zones, absl::Time now, int warn_days) {
  std::vector<certgate::v1::ExpiringItem> all;
  for (const certgate::v1::Zone* zone : zones) {
    for (certgate::v1::ExpiringItem& item : ExpiringItems(*zone, now, warn_days)) {
      all.push_back(std::move(item));
    }
  }
  SortExpiring(all);
  return all;
}

}  // namespace certgate::controlplane
