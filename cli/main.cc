// certgate: the tenant CLI. Every tenant and admin API call, and a local PKI.
#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "cli/client/format.h"
#include "cli/commands/command_context.h"
#include "cli/commands/commands.h"
#include "grpc/support/log.h"

extern char** environ;

namespace {

std::map<std::string, std::string> ReadEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t eq = text.find('=');
    if (eq != std::string::npos) {
      env[text.substr(0, eq)] = text.substr(eq + 1);
    }
  }
  return env;
}

// gRPC's own log lines would break the one-line error contract; the CLI
// reports every failure itself. GRPC_VERBOSITY, when set, still wins.
void DiscardGrpcLog(gpr_log_func_args* /*args*/) {}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> env = ReadEnvironment();
  if (env.find("GRPC_VERBOSITY") == env.end()) {
    gpr_set_log_function(DiscardGrpcLog);
  }
  certgate::cli::CommandContext context(std::move(env), std::cout, std::cerr);
  CLI::App app("certgate: manage mTLS zones on the certgate edge, and a local PKI", "certgate");
  // Global flags may come after the subcommand too (`certgate zone list --json`).
  app.fallthrough(true);
  app.require_subcommand(1);
  certgate::cli::AddServerFlags(&app, context);
  certgate::cli::RegisterCommands(app, context);

  // CLI11 reports parse problems by exception; they stop here, as exit codes.
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << certgate::cli::OneLine(e.what()) << "\n";
    return certgate::cli::kExitUsage;
  }
  return context.RunAction();
}
