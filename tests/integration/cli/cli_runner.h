#pragma once

#include <map>
#include <string>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
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

  // RunAs: Run against a control plane on plain loopback: `args` with
  // `--server address --token token --insecure` appended.
  CommandResult RunAs(const std::string& address, const std::string& token,
                      std::vector<std::string> args) const;

  const std::string& home() const { return home_; }

 private:
  std::string home_;
};

// ParseJson: a command's --json output as `Message`; a parse failure is a
// test failure naming the text.
template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

// IsOneErrorLine: `err` is exactly one line starting with "error: ".
bool IsOneErrorLine(const std::string& err);

}  // namespace certgate::testing
