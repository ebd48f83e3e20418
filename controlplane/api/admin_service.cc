#include "controlplane/api/admin_service.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/api/grpc_status.h"
#include "controlplane/api/token.h"
#include "controlplane/expiry/expiry_warnings.h"
#include "controlplane/webhook/webhook_url.h"

namespace certgate::controlplane {
namespace {

namespace v1 = certgate::v1;

constexpr char kAdminActor[] = "admin";

template <typename Response, typename Handler>
grpc::Status Serve(const Authenticator& auth, grpc::ServerContext* context, Response* response,
                   Handler handler) {
  absl::Status allowed = auth.AuthenticateAdmin(AuthorizationOf(*context));
  if (!allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  absl::StatusOr<Response> result = handler();
  if (!result.ok()) {
    return ToGrpcStatus(result.status());
  }
  *response = std::move(*result);
  return grpc::Status::OK;
}

absl::Status ValidateTenantName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant name \"", name, "\" must be 1 to 64 characters"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "tenant name \"", name, "\" may hold only letters, digits, '-', '_' and '.'"));
    }
  }
  return absl::OkStatus();
}

int64_t NowUnix() { return absl::ToUnixSeconds(absl::Now()); }

}  // namespace

absl::StatusOr<v1::CreateTenantResponse> AdminServiceImpl::DoCreateTenant(const std::string& name) {
  RETURN_IF_ERROR(ValidateTenantName(name));
  TenantRow tenant{RandomHex(8), name, NowUnix()};
  NewTokenResult token = NewToken();
  ASSIGN_OR_RETURN(
      uint64_t version,
      store_->Mutate(kAdminActor, "CreateTenant", [&](StoreTransaction& txn) -> absl::Status {
        RETURN_IF_ERROR(txn.InsertTenant(tenant));
        RETURN_IF_ERROR(
            txn.InsertToken(TokenRow{token.id, tenant.id, HashToken(token.token), NowUnix()}));
        txn.SetDetail(absl::StrCat(tenant.id, " ", name, " token=", token.id));
        return absl::OkStatus();
      }));
  (void)version;
  v1::CreateTenantResponse response;
  v1::Tenant* out = response.mutable_tenant();
  out->set_id(tenant.id);
  out->set_name(tenant.name);
  out->set_created_unix(tenant.created_unix);
  out->add_token_ids(token.id);
  response.set_token(token.token);
  response.set_token_id(token.id);
  return response;
}

absl::StatusOr<v1::ListTenantsResponse> AdminServiceImpl::DoListTenants() {
  v1::ListTenantsResponse response;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<TenantRow> tenants, txn.ListTenants());
    for (const TenantRow& row : tenants) {
      ASSIGN_OR_RETURN(*response.add_tenants(), DescribeTenant(txn, row));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<v1::Tenant> AdminServiceImpl::DescribeTenant(StoreTransaction& txn,
                                                            const TenantRow& row) {
  v1::Tenant tenant;
  tenant.set_id(row.id);
  tenant.set_name(row.name);
  tenant.set_created_unix(row.created_unix);
  ASSIGN_OR_RETURN(int zones, txn.CountZones(row.id));
  tenant.set_zone_count(zones);
  ASSIGN_OR_RETURN(std::vector<std::string> tokens, txn.TokenIds(row.id));
  for (std::string& id : tokens) {
    tenant.add_token_ids(std::move(id));
  }
  ASSIGN_OR_RETURN(TenantQuotaRow quota, txn.TenantQuota(row.id));
  *tenant.mutable_quota() = ToProto(default_limits_.WithOverrides(quota));
  *tenant.mutable_quota_overrides() = ToProto(quota);
  tenant.mutable_usage()->set_zones(zones);
  ASSIGN_OR_RETURN(int64_t bytes, txn.TenantConfigBytes(row.id));
  tenant.mutable_usage()->set_config_bytes(bytes);
  ASSIGN_OR_RETURN(TenantSettingsRow settings, txn.TenantSettings(row.id));
  tenant.set_webhook_url(settings.webhook_url);
  if (settings.warn_days.has_value()) {
    tenant.set_warn_days(*settings.warn_days);
  }
  return tenant;
}

absl::StatusOr<v1::Tenant> AdminServiceImpl::DoSetQuota(const v1::SetTenantQuotaRequest& request) {
  const v1::TenantQuota& quota = request.quota();
  // Each limit: its name (as the flags and messages spell it), whether the
  // request sets it, the value, and the override it writes.
  struct Limit {
    const char* name;
    bool set;
    int64_t value;
    std::optional<int64_t> TenantQuotaRow::*field;
  };
  const Limit limits[] = {
      {"max-zones", quota.has_max_zones(), quota.max_zones(), &TenantQuotaRow::max_zones},
      {"max-cas-per-zone", quota.has_max_cas_per_zone(), quota.max_cas_per_zone(),
       &TenantQuotaRow::max_cas_per_zone},
      {"max-revocations-per-zone", quota.has_max_revocations_per_zone(),
       quota.max_revocations_per_zone(), &TenantQuotaRow::max_revocations_per_zone},
      {"max-config-bytes", quota.has_max_config_bytes(), quota.max_config_bytes(),
       &TenantQuotaRow::max_config_bytes},
  };
  for (const std::string& reset : request.reset()) {
    bool known = false;
    for (const Limit& limit : limits) {
      known = known || reset == limit.name;
      if (reset == limit.name && limit.set) {
        return absl::InvalidArgumentError(
            absl::StrCat(limit.name, " is both set and reset in one request"));
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown limit \"", reset,
          "\" (max-zones, max-cas-per-zone, max-revocations-per-zone, max-config-bytes)"));
    }
  }
  std::optional<std::string> webhook;  // the URL to store ("" removes it)
  std::string webhook_audit;           // what the audit row may show of it
  if (request.has_webhook_url()) {
    webhook = "";
    webhook_audit = "none";
    if (!request.webhook_url().empty()) {
      ASSIGN_OR_RETURN(WebhookUrl url, WebhookUrl::Parse(request.webhook_url(), webhook_policy_));
      webhook = request.webhook_url();
      webhook_audit = url.Origin();  // the path may hold a secret
    }
  }
  if (request.has_warn_days() &&
      (request.warn_days() < -1 || request.warn_days() > ExpiryWarnings::kMaxWarnDays)) {
    return absl::InvalidArgumentError(
        absl::StrCat("warn days must be 0 to ", ExpiryWarnings::kMaxWarnDays,
                     " (or -1 for the default), not ", request.warn_days()));
  }
  bool any = !request.reset().empty() || webhook.has_value() || request.has_warn_days();
  for (const Limit& limit : limits) {
    any = any || limit.set;
    if (limit.set && limit.value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(limit.name, " must be 0 or more, not ", limit.value));
    }
  }
  if (!any) {
    return absl::InvalidArgumentError(
        "nothing to change: set or reset a limit, the webhook URL or warn days");
  }
  v1::Tenant response;
  RETURN_IF_ERROR(store_
                      ->Mutate(kAdminActor, "SetTenantQuota",
                               [&](StoreTransaction& txn) -> absl::Status {
                                 ASSIGN_OR_RETURN(TenantRow row, txn.FindTenant(request.tenant()));
                                 ASSIGN_OR_RETURN(TenantQuotaRow current, txn.TenantQuota(row.id));
                                 std::string detail = absl::StrCat(row.id, " ", row.name);
                                 for (const Limit& limit : limits) {
                                   if (limit.set) {
                                     current.*limit.field = limit.value;
                                     absl::StrAppend(&detail, " ", limit.name, "=", limit.value);
                                   }
                                 }
                                 for (const std::string& reset : request.reset()) {
                                   for (const Limit& limit : limits) {
                                     if (reset == limit.name) {
                                       current.*limit.field = std::nullopt;
                                       absl::StrAppend(&detail, " ", limit.name, "=default");
                                     }
                                   }
                                 }
                                 RETURN_IF_ERROR(txn.SetTenantQuota(row.id, current));
                                 if (webhook.has_value() || request.has_warn_days()) {
                                   ASSIGN_OR_RETURN(TenantSettingsRow settings,
                                                    txn.TenantSettings(row.id));
                                   if (webhook.has_value()) {
                                     settings.webhook_url = *webhook;
                                     absl::StrAppend(&detail, " webhook=", webhook_audit);
                                   }
                                   if (request.has_warn_days()) {
                                     settings.warn_days = std::nullopt;
                                     if (request.warn_days() >= 0) {
                                       settings.warn_days = request.warn_days();
                                     }
                                     absl::StrAppend(&detail, " warn-days=", request.warn_days());
                                   }
                                   RETURN_IF_ERROR(txn.SetTenantSettings(row.id, settings));
                                 }
                                 txn.SetDetail(detail);
                                 ASSIGN_OR_RETURN(response, DescribeTenant(txn, row));
                                 return absl::OkStatus();
                               })
                      .status());
  return response;
}

absl::StatusOr<v1::DeleteTenantResponse> AdminServiceImpl::DoDeleteTenant(
    const std::string& tenant) {
  ASSIGN_OR_RETURN(
      uint64_t version,
      store_->Mutate(kAdminActor, "DeleteTenant", [&](StoreTransaction& txn) -> absl::Status {
        ASSIGN_OR_RETURN(TenantRow row, txn.FindTenant(tenant));
        RETURN_IF_ERROR(txn.DeleteTenant(row.id));
        txn.SetDetail(absl::StrCat(row.id, " ", row.name));
        return absl::OkStatus();
      }));
  v1::DeleteTenantResponse response;
  response.set_config_version(version);
  return response;
}

absl::StatusOr<v1::CreateTenantTokenResponse> AdminServiceImpl::DoCreateToken(
    const std::string& tenant) {
  NewTokenResult token = NewToken();
  RETURN_IF_ERROR(store_
                      ->Mutate(kAdminActor, "CreateTenantToken",
                               [&](StoreTransaction& txn) -> absl::Status {
                                 ASSIGN_OR_RETURN(TenantRow row, txn.FindTenant(tenant));
                                 RETURN_IF_ERROR(txn.InsertToken(TokenRow{
                                     token.id, row.id, HashToken(token.token), NowUnix()}));
                                 txn.SetDetail(absl::StrCat(row.id, " token=", token.id));
                                 return absl::OkStatus();
                               })
                      .status());
  v1::CreateTenantTokenResponse response;
  response.set_token(token.token);
  response.set_token_id(token.id);
  return response;
}

absl::StatusOr<v1::RevokeTenantTokenResponse> AdminServiceImpl::DoRevokeToken(
    const std::string& token_id) {
  RETURN_IF_ERROR(store_
                      ->Mutate(kAdminActor, "RevokeTenantToken",
                               [&](StoreTransaction& txn) -> absl::Status {
                                 RETURN_IF_ERROR(txn.DeleteToken(token_id));
                                 txn.SetDetail(token_id);
                                 return absl::OkStatus();
                               })
                      .status());
  return v1::RevokeTenantTokenResponse();
}

grpc::Status AdminServiceImpl::CreateTenant(grpc::ServerContext* context,
                                            const v1::CreateTenantRequest* request,
                                            v1::CreateTenantResponse* response) {
  return Serve(*auth_, context, response, [&] { return DoCreateTenant(request->name()); });
}

grpc::Status AdminServiceImpl::ListTenants(grpc::ServerContext* context,
                                           const v1::ListTenantsRequest* request,
                                           v1::ListTenantsResponse* response) {
  return Serve(*auth_, context, response, [&] { return DoListTenants(); });
}

grpc::Status AdminServiceImpl::DeleteTenant(grpc::ServerContext* context,
                                            const v1::DeleteTenantRequest* request,
                                            v1::DeleteTenantResponse* response) {
  return Serve(*auth_, context, response, [&] { return DoDeleteTenant(request->tenant()); });
}

grpc::Status AdminServiceImpl::CreateTenantToken(grpc::ServerContext* context,
                                                 const v1::CreateTenantTokenRequest* request,
                                                 v1::CreateTenantTokenResponse* response) {
  return Serve(*auth_, context, response, [&] { return DoCreateToken(request->tenant()); });
}

grpc::Status AdminServiceImpl::RevokeTenantToken(grpc::ServerContext* context,
                                                 const v1::RevokeTenantTokenRequest* request,
                                                 v1::RevokeTenantTokenResponse* response) {
  return Serve(*auth_, context, response, [&] { return DoRevokeToken(request->token_id()); });
}

grpc::Status AdminServiceImpl::GetFleetStatus(grpc::ServerContext* context,
                                              const v1::GetFleetStatusRequest* request,
                                              v1::StatusResponse* response) {
  return Serve(*auth_, context, response, [&]() -> absl::StatusOr<v1::StatusResponse> {
    v1::StatusResponse status;
    FleetStatus::StatusScope scope;
    scope.admin = true;
    RETURN_IF_ERROR(fleet_->Fill(&status, scope));
    return status;
  });
}

grpc::Status AdminServiceImpl::GetTenant(grpc::ServerContext* context,
                                         const v1::GetTenantRequest* request,
                                         v1::Tenant* response) {
  return Serve(*auth_, context, response, [&]() -> absl::StatusOr<v1::Tenant> {
    v1::Tenant tenant;
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(TenantRow row, txn.FindTenant(request->tenant()));
      ASSIGN_OR_RETURN(tenant, DescribeTenant(txn, row));
      return absl::OkStatus();
    }));
    return tenant;
  });
}

grpc::Status AdminServiceImpl::SetTenantQuota(grpc::ServerContext* context,
                                              const v1::SetTenantQuotaRequest* request,
                                              v1::Tenant* response) {
  return Serve(*auth_, context, response, [&] { return DoSetQuota(*request); });
}

grpc::Status AdminServiceImpl::ApproveZone(grpc::ServerContext* context,
                                           const v1::ApproveZoneRequest* request,
                                           v1::ApproveZoneResponse* response) {
  return Serve(*auth_, context, response, [&]() -> absl::StatusOr<v1::ApproveZoneResponse> {
    ASSIGN_OR_RETURN(Activation activation,
                     verifier_->Approve(request->hostname(), request->tenant()));
    v1::ApproveZoneResponse approved;
    v1::PendingZone* zone = approved.mutable_zone();
    zone->set_hostname(activation.zone.hostname);
    zone->set_tenant_id(activation.zone.tenant_id);
    zone->set_created_unix(activation.zone.zone.created_unix());
    zone->set_state(v1::ZONE_STATE_ACTIVE);
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(TenantRow tenant, txn.FindTenant(activation.zone.tenant_id));
      zone->set_tenant_name(tenant.name);
      return absl::OkStatus();
    }));
    approved.set_config_version(activation.config_version);
    approved.set_dropped_claims(static_cast<int>(activation.dropped_claims.size()));
    return approved;
  });
}

grpc::Status AdminServiceImpl::ListPendingZones(grpc::ServerContext* context,
                                                const v1::ListPendingZonesRequest* request,
                                                v1::ListPendingZonesResponse* response) {
  return Serve(*auth_, context, response, [&]() -> absl::StatusOr<v1::ListPendingZonesResponse> {
    v1::ListPendingZonesResponse list;
    RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<TenantRow> tenants, txn.ListTenants());
      ASSIGN_OR_RETURN(std::vector<ZoneRow> pending, txn.ListPendingZones());
      for (const ZoneRow& row : pending) {
        v1::PendingZone* zone = list.add_zones();
        zone->set_hostname(row.hostname);
        zone->set_tenant_id(row.tenant_id);
        for (const TenantRow& tenant : tenants) {
          if (tenant.id == row.tenant_id) {
            zone->set_tenant_name(tenant.name);
          }
        }
        zone->set_created_unix(row.zone.created_unix());
        zone->set_state(v1::ZONE_STATE_PENDING);
      }
      return absl::OkStatus();
    }));
    std::sort(list.mutable_zones()->begin(), list.mutable_zones()->end(),
              [](const v1::PendingZone& a, const v1::PendingZone& b) {
                return std::tie(a.hostname(), a.tenant_name()) <
                       std::tie(b.hostname(), b.tenant_name());
              });
    return list;
  });
}

}  // namespace certgate::controlplane
