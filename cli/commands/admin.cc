// certgate admin: tenants and their tokens, with the admin token.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/format.h"
#include "cli/client/views.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

int CreateTenant(CommandContext& context, const std::string& name) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::CreateTenantRequest request;
  request.set_name(name);
  certgate::v1::CreateTenantResponse response;
  grpc::Status status =
      connection->admin().CreateTenant(connection->NewCallContext().get(), request, &response);
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << FormatFields({
                       {"Tenant", response.tenant().name()},
                       {"Tenant id", response.tenant().id()},
                       {"Token id", response.token_id()},
                       {"Token", response.token()},
                   })
                << "The token is shown only this once: keep it now.\n";
  return kExitOk;
}

int ListTenants(CommandContext& context) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::ListTenantsResponse response;
  grpc::Status status = connection->admin().ListTenants(
      connection->NewCallContext().get(), certgate::v1::ListTenantsRequest(), &response);
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << RenderTenants(response);
  return kExitOk;
}

int DeleteTenant(CommandContext& context, const std::string& name) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::DeleteTenantRequest request;
  request.set_tenant(name);
  certgate::v1::DeleteTenantResponse response;
  grpc::Status status =
      connection->admin().DeleteTenant(connection->NewCallContext().get(), request, &response);
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << "Deleted tenant " << name << " (config version " << response.config_version()
                << ")\n";
  return kExitOk;
}

int CreateToken(CommandContext& context, const std::string& tenant) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::CreateTenantTokenRequest request;
  request.set_tenant(tenant);
  certgate::v1::CreateTenantTokenResponse response;
  grpc::Status status =
      connection->admin().CreateTenantToken(connection->NewCallContext().get(), request, &response);
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << FormatFields({{"Token id", response.token_id()}, {"Token", response.token()}})
                << "The token is shown only this once: keep it now.\n";
  return kExitOk;
}

int RevokeToken(CommandContext& context, const std::string& id) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::RevokeTenantTokenRequest request;
  request.set_token_id(id);
  certgate::v1::RevokeTenantTokenResponse response;
  grpc::Status status =
      connection->admin().RevokeTenantToken(connection->NewCallContext().get(), request, &response);
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << "Revoked token " << id << "\n";
  return kExitOk;
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
  CLI::App* admin = AddGroup(app, "admin", "Tenants and tenant tokens (needs the admin token)");

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
}

}  // namespace certgate::cli
