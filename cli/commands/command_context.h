#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cli/client/connection.h"
#include "cli/client/connection_settings.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace certgate::cli {

// Exit codes every command keeps to.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // the server refused (or could not be reached)
inline constexpr int kExitUsage = 2;    // bad flags or bad local input; nothing was sent

// CommandContext is what every command shares: the global flags, the
// environment, where output goes, and the one action the command line chose.
// Commands register a callback that calls SetAction; main runs it after
// parsing, so nothing happens while flags are still being read.
class CommandContext {
 public:
  CommandContext(std::map<std::string, std::string> env, std::ostream& out, std::ostream& err);

  ConnectionFlags& connection_flags() { return connection_flags_; }
  bool& json_flag() { return json_; }
  bool json() const { return json_; }
  const std::map<std::string, std::string>& env() const { return env_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // SetAction records what to run; the first call wins, so a subcommand's
  // action is not replaced by its parent's (CLI11 calls the leaf first).
  void SetAction(std::function<int()> action);
  bool has_action() const { return static_cast<bool>(action_); }
  int RunAction();

  // Connect resolves server, token and CA (flags, environment, login file)
  // and opens the channel. On failure it prints the reason and returns null:
  // the caller returns kExitUsage.
  Connection* Connect();

  // UsageError prints "error: <message>" on one line; returns kExitUsage.
  int UsageError(absl::string_view message);
  int UsageError(const absl::Status& status);
  // RpcError prints the server's message on one line; returns kExitRefused.
  int RpcError(const grpc::Status& status);
  // PrintJson writes the message as JSON; returns kExitOk.
  int PrintJson(const google::protobuf::Message& message);

 private:
  std::map<std::string, std::string> env_;
  std::ostream& out_;
  std::ostream& err_;
  ConnectionFlags connection_flags_;
  bool json_ = false;
  std::function<int()> action_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace certgate::cli
