// certgate admin: tenants, their tokens and pending zones, with the admin token.
#include <memory>
#include <ostream>
#include <string>

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
