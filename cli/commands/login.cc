// certgate login: check a server and token, then remember them.
#include <limits.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/client/config_file.h"
#include "cli/client/connection.h"
#include "cli/client/format.h"
#include "cli/commands/commands.h"
#include "google/protobuf/struct.pb.h"

namespace certgate::cli {

namespace {

int Login(CommandContext& context) {
  // The login being replaced must not fill in what the flags left out.
  absl::StatusOr<ConnectionSettings> settings =
      ResolveConnectionSettings(context.connection_flags(), context.env(), SavedLogin{});
  if (!settings.ok()) {
    return context.UsageError(settings.status());
  }
  if (!settings->ca_file.empty()) {
    char resolved[PATH_MAX];
    if (realpath(settings->ca_file.c_str(), resolved) == nullptr) {
      return context.UsageError(absl::StrCat("cannot read ", settings->ca_file));
    }
    settings->ca_file = resolved;
  }
  absl::StatusOr<std::string> path = ConfigFile::DefaultPath(context.env());
  if (!path.ok()) {
    return context.UsageError(path.status());
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection = Connection::Create(*settings);
  if (!connection.ok()) {
    return context.UsageError(connection.status());
  }

  // A tenant token can list its zones; an admin token can list tenants.
  std::string role = "tenant";
  certgate::v1::ListZonesResponse zones;
  grpc::Status status = (*connection)
                            ->tenant()
                            .ListZones((*connection)->NewCallContext().get(),
                                       certgate::v1::ListZonesRequest(), &zones);
  if (!status.ok()) {
    certgate::v1::ListTenantsResponse tenants;
    grpc::Status admin_status = (*connection)
                                    ->admin()
                                    .ListTenants((*connection)->NewCallContext().get(),
                                                 certgate::v1::ListTenantsRequest(), &tenants);
    if (!admin_status.ok()) {
      return context.RpcError(status);
    }
    role = "admin";
  }

  SavedLogin login;
  login.server = settings->server;
  login.token = settings->token;
  login.ca_file = settings->ca_file;
  login.insecure = settings->insecure;
  absl::Status saved = ConfigFile::Save(*path, login);
  if (!saved.ok()) {
    return context.UsageError(saved);
  }
  if (context.json()) {
    google::protobuf::Struct result;
    auto& fields = *result.mutable_fields();
    fields["server"].set_string_value(login.server);
    fields["role"].set_string_value(role);
    fields["configFile"].set_string_value(*path);
    fields["insecure"].set_bool_value(login.insecure);
    return context.PrintJson(result);
  }
  context.out() << "Logged in to " << login.server << " with a" << (role == "admin" ? "n " : " ")
                << role << " token" << (login.insecure ? " (plaintext)" : "") << "; saved to "
                << *path << "\n";
  return kExitOk;
}

}  // namespace

void AddLoginCommand(CLI::App& app, CommandContext& context) {
  CLI::App* login = app.add_subcommand(
      "login", "Check a server and token, then save them (mode 0600) for later commands");
  AddServerFlags(login, context);
  OnRun(login, context, [&context] { return Login(context); });
}

}  // namespace certgate::cli
