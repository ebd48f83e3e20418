#include "controlplane/api/tenant_limits.h"

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

TenantLimits TenantLimits::WithOverrides(const TenantQuotaRow& quota) const {
  TenantLimits out = *this;
  out.max_zones = quota.max_zones.value_or(max_zones);
  out.max_cas_per_zone = quota.max_cas_per_zone.value_or(max_cas_per_zone);
  out.max_revocations_per_zone = quota.max_revocations_per_zone.value_or(max_revocations_per_zone);
  out.max_config_bytes = quota.max_config_bytes.value_or(max_config_bytes);
  return out;
}

absl::Status QuotaExceeded(const std::string& what, int64_t value, const char* limit, int64_t max) {
  return absl::ResourceExhaustedError(
      absl::StrCat(what, " would be ", value, "; ", limit, " allows at most ", max));
}

certgate::v1::TenantQuota ToProto(const TenantLimits& limits) {
  certgate::v1::TenantQuota out;
  out.set_max_zones(limits.max_zones);
  out.set_max_cas_per_zone(limits.max_cas_per_zone);
  out.set_max_revocations_per_zone(limits.max_revocations_per_zone);
  out.set_max_config_bytes(limits.max_config_bytes);
  return out;
}

certgate::v1::TenantQuota ToProto(const TenantQuotaRow& quota) {
  certgate::v1::TenantQuota out;
  if (quota.max_zones) {
    out.set_max_zones(*quota.max_zones);
  }
  if (quota.max_cas_per_zone) {
    out.set_max_cas_per_zone(*quota.max_cas_per_zone);
  }
  if (quota.max_revocations_per_zone) {
    out.set_max_revocations_per_zone(*quota.max_revocations_per_zone);
  }
  if (quota.max_config_bytes) {
    out.set_max_config_bytes(*quota.max_config_bytes);
  }
  return out;
}

}  // namespace certgate::controlplane
