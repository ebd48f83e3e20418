#include "cli/commands/commands.h"

namespace certgate::cli {

void RegisterCommands(CLI::App& app, CommandContext& context) {
  AddLoginCommand(app, context);
  AddZoneCommands(app, context);
  AddRootCommands(app, context);
  AddIntermediateCommands(app, context);
  AddCertCommands(app, context);
  AddOriginCertCommands(app, context);
  AddModeCommands(app, context);
  AddErrorPageCommands(app, context);
  AddHeaderCommands(app, context);
  AddRuleCommands(app, context);
  AddRevokeCommands(app, context);
  AddCrlCommands(app, context);
  AddStatusCommand(app, context);
  AddAdminCommands(app, context);
  AddPkiCommands(app, context);
}

void AddJsonFlag(CLI::App* command, CommandContext& context) {
  command->add_flag("--json", context.json_flag(), "Print machine-readable JSON");
}

void AddServerFlags(CLI::App* command, CommandContext& context) {
  ConnectionFlags& flags = context.connection_flags();
  command->add_option(
      "--server", flags.server,
      "Control plane HOST:PORT, or replicas A,B,C tried in turn (else CERTGATE_SERVER, "
      "else the login)");
  command->add_option("--token", flags.token, "API token (else CERTGATE_TOKEN, else the login)");
  command->add_option("--ca", flags.ca_file,
                      "CA file that verifies the control plane's TLS certificate (else "
                      "CERTGATE_CA, else the login)");
  command->add_flag("--insecure", flags.insecure,
                    "Plaintext to the control plane, no TLS (loopback and tests)");
  AddJsonFlag(command, context);
}

CLI::App* AddGroup(CLI::App& parent, const std::string& name, const std::string& description) {
  CLI::App* group = parent.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

}  // namespace certgate::cli
