#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certgate::cli {

// SavedLogin is what `certgate login` remembers between runs.
struct SavedLogin {
  std::string server;
  std::string token;
  std::string ca_file;  // absolute path; empty with insecure or system roots
  bool insecure = false;
};

// ConfigFile reads and writes the login file, a small JSON object. It holds a
// token, so it is written with mode 0600 in a 0700 directory, atomically.
class ConfigFile {
 public:
  // DefaultPath: $XDG_CONFIG_HOME/certgate/config.json, else
  // $HOME/.config/certgate/config.json; FAILED_PRECONDITION when neither is set.
  static absl::StatusOr<std::string> DefaultPath(const std::map<std::string, std::string>& env);

  // Load returns an empty SavedLogin when the file does not exist, and
  // INVALID_ARGUMENT naming the file when it is not what Save writes.
  static absl::StatusOr<SavedLogin> Load(const std::string& path);

  // Save creates the parent directories and replaces the file.
  static absl::Status Save(const std::string& path, const SavedLogin& login);

  // Serialize / Parse: the file's content, exposed for tests.
  static std::string Serialize(const SavedLogin& login);
  static absl::StatusOr<SavedLogin> Parse(const std::string& content);
};

}  // namespace certgate::cli
