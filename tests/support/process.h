#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certgate::testing {

// Subprocess is a child process whose stdout and stderr go to a log file.
// The destructor kills it (SIGKILL) and reaps it if it is still running.
class Subprocess {
 public:
  // Start runs argv[0] (a path) with `extra_env` added to this environment.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path,
      const std::map<std::string, std::string>& extra_env = {});
  ~Subprocess();

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Signal sends `signal` (SIGTERM, SIGKILL, ...) without waiting.
  void Signal(int signal);
  // Wait reaps the child, waiting up to `timeout`; returns its exit code
  // (128 + signal number when killed), or -1 on timeout.
  int Wait(absl::Duration timeout = absl::Seconds(10));
  // Running: not yet exited.
  bool Running();
  // ReadLog returns everything the child has written so far.
  std::string ReadLog() const;

 private:
  Subprocess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed; -1 when it could not run
  std::string out;
  std::string err;
};

// RunCommand runs argv to completion (killed after `timeout`), feeding
// `stdin_data`, and captures stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         const std::map<std::string, std::string>& extra_env = {},
                         absl::Duration timeout = absl::Seconds(60));

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// WaitForPort polls until 127.0.0.1:port (or host:port) accepts a connection.
bool WaitForPort(int port, absl::Duration timeout = absl::Seconds(15));
bool WaitForPort(const std::string& host, int port, absl::Duration timeout = absl::Seconds(15));

// WaitFor polls `condition` every 20 ms until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

// BinDir: where the project's binaries are (CERTGATE_BIN_DIR, else the build's
// bin folder known at compile time).
std::string BinDir();
// BinPath("certgate-control") = BinDir() + "/certgate-control".
std::string BinPath(const std::string& name);

// MakeTempDir creates a fresh directory under TMPDIR (or /tmp); kept when
// CERTGATE_KEEP_TEST_DIRS is set, so a failure can be inspected.
std::string MakeTempDir(const std::string& prefix = "certgate-test");

// ReadFile / WriteFile: whole files; WriteFile creates with `mode`.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content, int mode = 0644);

}  // namespace certgate::testing
