// certgate mode: what edges do with a zone's client certificates.
#include <memory>
#include <ostream>
#include <string>

#include "cli/client/format.h"
#include "cli/commands/commands.h"

namespace certgate::cli {

namespace {

struct ModeOptions {
  std::string host;
  std::string mode;
};

int SetMode(CommandContext& context, const ModeOptions& options) {
  absl::StatusOr<certgate::v1::Mode> mode = ParseMode(options.mode);
  if (!mode.ok()) {
    return context.UsageError(mode.status());
  }
  certgate::v1::UpdateZoneRequest request;
  request.set_hostname(options.host);
  request.set_mode(*mode);
  return context.CallAndPrint(&TenantStub::UpdateZone, request,
                              [](std::ostream& out, const auto& response) {
                                out << "Mode of " << response.zone().hostname() << " is "
                                    << ModeName(response.zone().mode()) << " (config version "
                                    << response.config_version() << ")\n";
                              });
}

}  // namespace

void AddModeCommands(CLI::App& app, CommandContext& context) {
  CLI::App* mode = AddGroup(app, "mode", "Set what edges do with a zone's client certificates");
  auto options = std::make_shared<ModeOptions>();
  CLI::App* set = mode->add_subcommand(
      "set", "enforce: 403 unless valid; report: forward with status headers; off: no mTLS");
  set->add_option("HOST", options->host, "Hostname as created")->required();
  set->add_option("MODE", options->mode, "enforce, report or off")->required();
  AddServerFlags(set, context);
  OnRun(set, context, [&context, options] { return SetMode(context, *options); });
}

}  // namespace certgate::cli
