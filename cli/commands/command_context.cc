#include "cli/commands/command_context.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/client/config_file.h"
#include "cli/client/format.h"

namespace certgate::cli {

CommandContext::CommandContext(std::map<std::string, std::string> env, std::ostream& out,
                               std::ostream& err)
    : env_(std::move(env)), out_(out), err_(err) {}

void CommandContext::SetAction(std::function<int()> action) {
  if (!action_) {
    action_ = std::move(action);
  }
}

int CommandContext::RunAction() {
  if (!action_) {
    return UsageError("no command given (see --help)");
  }
  return action_();
}

Connection* CommandContext::Connect() {
  if (connection_ != nullptr) {
    return connection_.get();
  }
  SavedLogin saved;
  absl::StatusOr<std::string> path = ConfigFile::DefaultPath(env_);
  if (path.ok()) {
    absl::StatusOr<SavedLogin> loaded = ConfigFile::Load(*path);
    if (!loaded.ok()) {
      UsageError(loaded.status());
      return nullptr;
    }
    saved = *std::move(loaded);
  }
  absl::StatusOr<ConnectionSettings> settings =
      ResolveConnectionSettings(connection_flags_, env_, saved);
  if (!settings.ok()) {
    UsageError(settings.status());
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection = Connection::Create(*settings);
  if (!connection.ok()) {
    UsageError(connection.status());
    return nullptr;
  }
  connection_ = *std::move(connection);
  return connection_.get();
}

int CommandContext::UsageError(absl::string_view message) {
  err_ << "error: " << OneLine(message) << "\n";
  return kExitUsage;
}

int CommandContext::UsageError(const absl::Status& status) { return UsageError(status.message()); }

int CommandContext::RpcError(const grpc::Status& status) {
  std::string message = status.error_message();
  if (message.empty()) {
    message = absl::StrCat("call failed with gRPC status ", status.error_code());
  }
  err_ << "error: " << OneLine(message) << "\n";
  return kExitRefused;
}

int CommandContext::GetZone(const std::string& hostname, certgate::v1::ZoneResponse* response) {
  certgate::v1::GetZoneRequest request;
  request.set_hostname(hostname);
  return Call(&TenantStub::GetZone, request, response);
}

int CommandContext::PrintJson(const google::protobuf::Message& message) {
  out_ << ToJson(message);
  return kExitOk;
}

}  // namespace certgate::cli
