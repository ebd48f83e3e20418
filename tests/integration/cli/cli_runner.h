#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace certgate::testing {

// CliRunner runs the `certgate` binary with HOME set to a directory of its
// own (so that login files of different tests never meet) and a clean
// CERTGATE_* environment.
class CliRunner {
 public:
  explicit CliRunner(std::string home);

  // Run executes `certgate args...` with `env` added to the environment.
  CommandResult Run(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) const;

  const std::string& home() const { return home_; }

 private:
  std::string home_;
};

// IsOneErrorLine: `err` is exactly one line starting with "error: ".
bool IsOneErrorLine(const std::string& err);

}  // namespace certgate::testing
