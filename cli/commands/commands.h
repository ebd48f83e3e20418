#pragma once

#include "CLI/CLI.hpp"
#include "cli/commands/command_context.h"

namespace certgate::cli {

// RegisterCommands adds every command group to `app` (the `certgate` root).
void RegisterCommands(CLI::App& app, CommandContext& context);

// One function per command group (cli/commands/<group>.cc).
void AddLoginCommand(CLI::App& app, CommandContext& context);
void AddZoneCommands(CLI::App& app, CommandContext& context);
void AddRootCommands(CLI::App& app, CommandContext& context);
void AddIntermediateCommands(CLI::App& app, CommandContext& context);
void AddCertCommands(CLI::App& app, CommandContext& context);
void AddOriginCertCommands(CLI::App& app, CommandContext& context);
void AddModeCommands(CLI::App& app, CommandContext& context);
void AddErrorPageCommands(CLI::App& app, CommandContext& context);
void AddHeaderCommands(CLI::App& app, CommandContext& context);
void AddRuleCommands(CLI::App& app, CommandContext& context);
void AddRevokeCommands(CLI::App& app, CommandContext& context);
void AddCrlCommands(CLI::App& app, CommandContext& context);
void AddStatusCommand(CLI::App& app, CommandContext& context);
void AddAdminCommands(CLI::App& app, CommandContext& context);
void AddPkiCommands(CLI::App& app, CommandContext& context);

// AddJsonFlag gives a command `--json`.
void AddJsonFlag(CLI::App* command, CommandContext& context);
// AddServerFlags gives a command that calls the control plane `--server`,
// `--token`, `--ca`, `--insecure` and `--json`.
void AddServerFlags(CLI::App* command, CommandContext& context);
// AddGroup adds a command group that needs one of its subcommands.
CLI::App* AddGroup(CLI::App& parent, const std::string& name, const std::string& description);

}  // namespace certgate::cli

namespace certgate::cli {

// OnRun makes `action` the command line's action when `command` is used.
inline void OnRun(CLI::App* command, CommandContext& context, std::function<int()> action) {
  command->callback([&context, action = std::move(action)] { context.SetAction(action); });
}

}  // namespace certgate::cli
