#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "certgate/v1/admin.pb.h"
#include "controlplane/store/rows.h"

namespace certgate::controlplane {

// TenantLimits: the quota one tenant works under. The control plane's flags
// set the defaults; an admin can give a tenant its own (TenantQuotaRow).
struct TenantLimits {
  int64_t max_zones = 1000;
  // Roots plus intermediates in one zone.
  int64_t max_cas_per_zone = 1000;
  int64_t max_revocations_per_zone = 100000;
  // Stored size of all the tenant's zones (see TenantQuota in admin.proto).
  int64_t max_config_bytes = int64_t{64} << 20;
  // Access rules in one zone (every rule is evaluated in order for each
  // request that reaches the last ones).
  int64_t max_rules_per_zone = 64;

  // WithOverrides: these limits, with the ones `quota` sets replacing them.
  TenantLimits WithOverrides(const TenantQuotaRow& quota) const;
};

// QuotaExceeded: RESOURCE_EXHAUSTED "<what> would be <value>; <limit> allows
// at most <max>" (one line, naming the limit and its value).
absl::Status QuotaExceeded(const std::string& what, int64_t value, const char* limit, int64_t max);

// ToProto: the limits as the admin API shows them.
certgate::v1::TenantQuota ToProto(const TenantLimits& limits);
certgate::v1::TenantQuota ToProto(const TenantQuotaRow& quota);

}  // namespace certgate::controlplane
