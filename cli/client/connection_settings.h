#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "cli/client/config_file.h"

namespace certgate::cli {

// ConnectionFlags: what the command line said (empty / false when not given).
struct ConnectionFlags {
  std::string server;
  std::string token;
  std::string ca_file;
  bool insecure = false;
};

// ConnectionSettings: where to connect and how, after resolution.
struct ConnectionSettings {
  std::string server;
  std::string token;
  std::string ca_file;  // empty: the system's roots (unless insecure)
  bool insecure = false;
};

// ResolveConnectionSettings takes each setting from the flags, else from
// CERTGATE_SERVER / CERTGATE_TOKEN / CERTGATE_CA, else from the login file.
// A CA given by flag or environment overrides an `insecure` login.
// FAILED_PRECONDITION when no server or token is known; INVALID_ARGUMENT for
// --ca together with --insecure.
absl::StatusOr<ConnectionSettings> ResolveConnectionSettings(
    const ConnectionFlags& flags, const std::map<std::string, std::string>& env,
    const SavedLogin& saved);

}  // namespace certgate::cli
