#include "cli/client/connection_settings.h"

namespace certgate::cli {

namespace {

std::string FirstSet(const std::string& flag, const std::map<std::string, std::string>& env,
                     const char* env_name, const std::string& saved) {
  if (!flag.empty()) {
    return flag;
  }
  auto it = env.find(env_name);
  if (it != env.end() && !it->second.empty()) {
    return it->second;
  }
  return saved;
}

}  // namespace

absl::StatusOr<ConnectionSettings> ResolveConnectionSettings(
    const ConnectionFlags& flags, const std::map<std::string, std::string>& env,
    const SavedLogin& saved) {
  if (flags.insecure && !flags.ca_file.empty()) {
    return absl::InvalidArgumentError("--ca and --insecure exclude each other");
  }
  ConnectionSettings settings;
  settings.server = FirstSet(flags.server, env, "CERTGATE_SERVER", saved.server);
  settings.token = FirstSet(flags.token, env, "CERTGATE_TOKEN", saved.token);
  std::string explicit_ca = FirstSet(flags.ca_file, env, "CERTGATE_CA", "");
  if (flags.insecure) {
    settings.insecure = true;
  } else if (!explicit_ca.empty()) {
    settings.ca_file = explicit_ca;
  } else {
    settings.ca_file = saved.ca_file;
    settings.insecure = saved.insecure;
  }
  if (settings.server.empty()) {
    return absl::FailedPreconditionError(
        "no server: pass --server HOST:PORT, set CERTGATE_SERVER or run certgate login");
  }
  if (settings.token.empty()) {
    return absl::FailedPreconditionError(
        "no token: pass --token, set CERTGATE_TOKEN or run certgate login");
  }
  return settings;
}

}  // namespace certgate::cli
