// certgate status: config version, which edges hold it, and a zone's traffic.
#include <memory>
#include <string>
#include <utility>

#include "cli/client/views.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

int Status(CommandContext& context, const std::string& host, int warn_days) {
  Connection* connection = context.Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  certgate::v1::GetStatusRequest request;
  request.set_hostname(host);
  if (warn_days >= 0) {
    request.set_warn_days(warn_days);
  }
  certgate::v1::StatusResponse response;
  grpc::Status status =
      connection->tenant().GetStatus(connection->NewCallContext().get(), request, &response);
  if (host.empty() && (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                       status.error_code() == grpc::StatusCode::PERMISSION_DENIED)) {
    // The admin token is no tenant's; it sees the same fleet through the admin API.
    certgate::v1::StatusResponse fleet;
    grpc::Status admin_status = connection->admin().GetFleetStatus(
        connection->NewCallContext().get(), certgate::v1::GetFleetStatusRequest(), &fleet);
    if (admin_status.ok()) {
      response = std::move(fleet);
      status = admin_status;
    }
  }
  if (!status.ok()) {
    return context.RpcError(status);
  }
  if (context.json()) {
    return context.PrintJson(response);
  }
  context.out() << RenderStatus(response);
  return kExitOk;
}

}  // namespace

void AddStatusCommand(CLI::App& app, CommandContext& context) {
  auto host = std::make_shared<std::string>();
  CLI::App* status = app.add_subcommand(
      "status",
      "Config version and which edges hold it, and certificates or CRLs expiring soon; with "
      "HOST, that zone's none/valid/invalid counts");
  status->add_option("HOST", *host, "A zone whose recent certificate-status counts to show");
  auto warn_days = std::make_shared<int>(-1);
  status
      ->add_option("--warn-days", *warn_days,
                   "Warn of certificates and CRLs expiring within N days (default: the "
                   "tenant's setting, else the control plane's)")
      ->check(CLI::Range(0, 3650));
  AddServerFlags(status, context);
  OnRun(status, context,
        [&context, host, warn_days] { return Status(context, *host, *warn_days); });
}

}  // namespace certgate::cli
