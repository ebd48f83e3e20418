// certgate admin: tenants, their tokens and pending zones, with the admin token.
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

void RenderNewTenant(std::ostream& out, const certgate::v1::CreateTenantResponse& response) {
  out << FormatFields({
             {"Tenant", response.tenant().name()},
             {"Tenant id", response.tenant().id()},
             {"Token id", response.token_id()},
             {"Token", response.token()},
         })
      << "The token is shown only this once: keep it now.\n";
}

int CreateTenant(CommandContext& context, const std::string& name) {
  certgate::v1::CreateTenantRequest request;
  request.set_name(name);
  return context.CallAndPrint(&AdminStub::CreateTenant, request, RenderNewTenant);
}

int ListTenants(CommandContext& context) {
  return context.CallAndPrint(
      &AdminStub::ListTenants, certgate::v1::ListTenantsRequest(),
      [](std::ostream& out, const auto& response) { out << RenderTenants(response); });
}

int DeleteTenant(CommandContext& context, const std::string& name) {
  certgate::v1::DeleteTenantRequest request;
  request.set_tenant(name);
  return context.CallAndPrint(&AdminStub::DeleteTenant, request,
                              [&](std::ostream& out, const auto& response) {
                                out << "Deleted tenant " << name << " (config version "
                                    << response.config_version() << ")\n";
                              });
}

int CreateToken(CommandContext& context, const std::string& tenant) {
  certgate::v1::CreateTenantTokenRequest request;
  request.set_tenant(tenant);
  return context.CallAndPrint(
      &AdminStub::CreateTenantToken, request, [](std::ostream& out, const auto& response) {
        out << FormatFields({{"Token id", response.token_id()}, {"Token", response.token()}})
            << "The token is shown only this once: keep it now.\n";
      });
}

int RevokeToken(CommandContext& context, const std::string& id) {
  certgate::v1::RevokeTenantTokenRequest request;
  request.set_token_id(id);
  return context.CallAndPrint(
      &AdminStub::RevokeTenantToken, request,
      [&](std::ostream& out, const auto&) { out << "Revoked token " << id << "\n"; });
}

// QuotaField: one limit as `tenant show` prints it: "used / limit" (or just
// the limit), marked when it is the tenant's own rather than the default.
std::string QuotaField(const std::string& used, int64_t limit, bool own) {
  return absl::StrCat(used.empty() ? "" : absl::StrCat(used, " of "), limit,
                      own ? " (set for this tenant)" : " (default)");
}

void RenderTenant(std::ostream& out, const certgate::v1::Tenant& tenant) {
  const certgate::v1::TenantQuota& quota = tenant.quota();
  const certgate::v1::TenantQuota& own = tenant.quota_overrides();
  out << FormatFields({
      {"Tenant", tenant.name()},
      {"Tenant id", tenant.id()},
      {"Zones",
       QuotaField(absl::StrCat(tenant.usage().zones()), quota.max_zones(), own.has_max_zones())},
      {"Config bytes", QuotaField(absl::StrCat(tenant.usage().config_bytes()),
                                  quota.max_config_bytes(), own.has_max_config_bytes())},
      {"CAs per zone", QuotaField("", quota.max_cas_per_zone(), own.has_max_cas_per_zone())},
      {"Revocations per zone",
       QuotaField("", quota.max_revocations_per_zone(), own.has_max_revocations_per_zone())},
      {"Webhook", tenant.webhook_url().empty() ? std::string("-") : tenant.webhook_url()},
      {"Warn days",
       tenant.has_warn_days() ? absl::StrCat(tenant.warn_days()) : std::string("default")},
  });
}

int ShowTenant(CommandContext& context, const std::string& name) {
  certgate::v1::GetTenantRequest request;
  request.set_tenant(name);
  return context.CallAndPrint(&AdminStub::GetTenant, request, RenderTenant);
}

// QuotaFlags: the values of `tenant set`'s limit flags, as typed.
struct QuotaFlags {
  std::string name;
  std::string max_zones, max_cas_per_zone, max_revocations_per_zone, max_config_bytes;
  std::optional<std::string> webhook;  // "none" or "" removes it
  std::string warn_days;               // a number or "default"
};

int SetTenantQuota(CommandContext& context, const QuotaFlags& flags) {
  certgate::v1::SetTenantQuotaRequest request;
  request.set_tenant(flags.name);
  certgate::v1::TenantQuota* quota = request.mutable_quota();
  struct Flag {
    const char* name;
    const std::string& value;
    void (certgate::v1::TenantQuota::*set)(int64_t);
  };
  const Flag all[] = {
      {"max-zones", flags.max_zones, &certgate::v1::TenantQuota::set_max_zones},
      {"max-cas-per-zone", flags.max_cas_per_zone,
       &certgate::v1::TenantQuota::set_max_cas_per_zone},
      {"max-revocations-per-zone", flags.max_revocations_per_zone,
       &certgate::v1::TenantQuota::set_max_revocations_per_zone},
      {"max-config-bytes", flags.max_config_bytes,
       &certgate::v1::TenantQuota::set_max_config_bytes},
  };
  bool any = false;
  for (const Flag& flag : all) {
    if (flag.value.empty()) {
      continue;
    }
    any = true;
    int64_t value = 0;
    if (flag.value == "default") {
      request.add_reset(flag.name);
    } else if (absl::SimpleAtoi(flag.value, &value) && value >= 0) {
      (quota->*flag.set)(value);
    } else {
      return context.UsageError(absl::StrCat("--", flag.name, " \"", flag.value,
                                             "\": expected a number (0 or more) or \"default\""));
    }
  }
  if (flags.webhook.has_value()) {
    any = true;
    request.set_webhook_url(*flags.webhook == "none" ? std::string() : *flags.webhook);
  }
  if (!flags.warn_days.empty()) {
    any = true;
    int days = 0;
    if (flags.warn_days == "default") {
      request.set_warn_days(-1);
    } else if (absl::SimpleAtoi(flags.warn_days, &days) && days >= 0 && days <= 3650) {
      request.set_warn_days(days);
    } else {
      return context.UsageError(
          absl::StrCat("--warn-days \"", flags.warn_days, "\": expected 0 to 3650 or \"default\""));
    }
  }
  if (!any) {
    return context.UsageError(
        "give at least one of --max-zones, --max-cas-per-zone, --max-revocations-per-zone, "
        "--max-config-bytes, --webhook, --warn-days");
  }
  return context.CallAndPrint(&AdminStub::SetTenantQuota, request, RenderTenant);
}

int ApproveZone(CommandContext& context, const std::string& host, const std::string& tenant) {
  certgate::v1::ApproveZoneRequest request;
  request.set_hostname(host);
  request.set_tenant(tenant);
  return context.CallAndPrint(
      &AdminStub::ApproveZone, request, [](std::ostream& out, const auto& response) {
        out << "Zone " << response.zone().hostname() << " of tenant "
            << response.zone().tenant_name() << " is active (config version "
            << response.config_version() << ")\n";
        if (response.dropped_claims() > 0) {
          out << "Dropped " << response.dropped_claims()
              << " other tenants' pending claims on names it covers\n";
        }
      });
}

int ListPendingZones(CommandContext& context) {
  return context.CallAndPrint(
      &AdminStub::ListPendingZones, certgate::v1::ListPendingZonesRequest(),
      [](std::ostream& out, const auto& response) { out << RenderPendingZones(response); });
}

// AddNameCommand adds a subcommand taking one required positional.
void AddNameCommand(CLI::App* group, CommandContext& context, const std::string& name,
                    const std::string& description, const std::string& positional,
                    const std::string& positional_help,
                    int (*run)(CommandContext&, const std::string&)) {
  auto value = std::make_shared<std::string>();
  CLI::App* command = group->add_subcommand(name, description);
  command->add_option(positional, *value, positional_help)->required();
  AddServerFlags(command, context);
  OnRun(command, context, [&context, value, run] { return run(context, *value); });
}

}  // namespace

void AddAdminCommands(CLI::App& app, CommandContext& context) {
  CLI::App* admin =
      AddGroup(app, "admin", "Tenants, tenant tokens and pending zones (needs the admin token)");

  CLI::App* tenant = AddGroup(*admin, "tenant", "Create, list and delete tenants");
  AddNameCommand(tenant, context, "create", "Create a tenant; prints its first token once", "NAME",
                 "Tenant name: letters, digits, -, _, . (1-64)", &CreateTenant);
  CLI::App* list = tenant->add_subcommand("list", "List tenants");
  AddServerFlags(list, context);
  OnRun(list, context, [&context] { return ListTenants(context); });
  AddNameCommand(tenant, context, "delete", "Delete a tenant, its tokens and its zones", "NAME",
                 "Tenant name or id", &DeleteTenant);
  AddNameCommand(tenant, context, "show", "Show a tenant, its quota and what it uses of it", "NAME",
                 "Tenant name or id", &ShowTenant);
  {
    auto flags = std::make_shared<QuotaFlags>();
    CLI::App* set = tenant->add_subcommand(
        "set",
        "Set a tenant's quota, webhook and warning window; a limit given as \"default\" returns "
        "to the default");
    set->add_option("NAME", flags->name, "Tenant name or id")->required();
    set->add_option("--max-zones", flags->max_zones, "Zones the tenant may own");
    set->add_option("--max-cas-per-zone", flags->max_cas_per_zone,
                    "Roots plus intermediates in one zone");
    set->add_option("--max-revocations-per-zone", flags->max_revocations_per_zone,
                    "Revocations in one zone (CRL entries included)");
    set->add_option("--max-config-bytes", flags->max_config_bytes,
                    "Bytes the tenant's zones add to every edge's config (their stored size)");
    set->add_option_function<std::string>(
        "--webhook", [flags](const std::string& url) { flags->webhook = url; },
        "URL (http:// or https://) the control plane POSTs the tenant's events to as JSON; "
        "\"none\" removes it");
    set->add_option("--warn-days", flags->warn_days,
                    "Days ahead the tenant is warned of expiring certificates and CRLs, or "
                    "\"default\"");
    AddServerFlags(set, context);
    OnRun(set, context, [&context, flags] { return SetTenantQuota(context, *flags); });
  }

  CLI::App* token = AddGroup(*admin, "token", "Issue and revoke tenant tokens");
  AddNameCommand(token, context, "create", "Issue another token for a tenant; prints it once",
                 "TENANT", "Tenant name or id", &CreateToken);
  AddNameCommand(token, context, "revoke", "Revoke a token by id", "ID", "Token id", &RevokeToken);

  CLI::App* zone = AddGroup(*admin, "zone", "Pending zones: list and approve them");
  CLI::App* pending = zone->add_subcommand("list", "List every tenant's pending zones");
  AddServerFlags(pending, context);
  OnRun(pending, context, [&context] { return ListPendingZones(context); });
  auto host = std::make_shared<std::string>();
  auto tenant_name = std::make_shared<std::string>();
  CLI::App* approve = zone->add_subcommand(
      "approve", "Make a pending zone active without its DNS proof (drops conflicting claims)");
  approve->add_option("HOST", *host, "Hostname as the tenant created it")->required();
  approve->add_option("--tenant", *tenant_name,
                      "Tenant name or id (needed when several tenants claim HOST)");
  AddServerFlags(approve, context);
  OnRun(approve, context,
        [&context, host, tenant_name] { return ApproveZone(context, *host, *tenant_name); });
}

}  // namespace certgate::cli
