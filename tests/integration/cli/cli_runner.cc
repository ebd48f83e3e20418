#include "tests/integration/cli/cli_runner.h"

#include <utility>

#include "absl/strings/match.h"

namespace certgate::testing {

CliRunner::CliRunner(std::string home) : home_(std::move(home)) {}

CommandResult CliRunner::Run(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv = {BinPath("certgate")};
  argv.insert(argv.end(), args.begin(), args.end());
  // Empty values hide whatever the developer running the tests has set.
  std::map<std::string, std::string> full_env = {{"HOME", home_},
                                                 {"XDG_CONFIG_HOME", ""},
                                                 {"CERTGATE_SERVER", ""},
                                                 {"CERTGATE_TOKEN", ""},
                                                 {"CERTGATE_CA", ""}};
  for (const auto& [name, value] : env) {
    full_env[name] = value;
  }
  return RunCommand(argv, "", full_env);
}

CommandResult CliRunner::RunAs(const std::string& address, const std::string& token,
                               std::vector<std::string> args) const {
  for (const char* flag : {"--server", address.c_str(), "--token", token.c_str(), "--insecure"}) {
    args.emplace_back(flag);
  }
  return Run(args);
}

bool IsOneErrorLine(const std::string& err) {
  if (!absl::StartsWith(err, "error: ") || err.back() != '\n') {
    return false;
  }
  return err.find('\n') == err.size() - 1;
}

}  // namespace certgate::testing
