#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/admin.grpc.pb.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "cli/client/connection.h"
#include "cli/client/connection_settings.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace certgate::cli {

// Exit codes every command keeps to.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;  // the server refused (or could not be reached)
inline constexpr int kExitUsage = 2;    // bad flags or bad local input; nothing was sent

using TenantStub = certgate::v1::TenantService::Stub;
using AdminStub = certgate::v1::AdminService::Stub;

// StubMethod is a unary call of a generated stub, e.g. &TenantStub::GetZone.
template <typename Stub, typename Request, typename Response>
using StubMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

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

  // Call connects and makes one call. Returns kExitOk with `response` filled
  // in, else the exit code, the reason printed already.
  template <typename Stub, typename Request, typename Response>
  int Call(StubMethod<Stub, Request, Response> method, const Request& request, Response* response);

  // GetZone is Call of TenantService.GetZone for `hostname`, which the
  // commands that show one part of a zone share.
  int GetZone(const std::string& hostname, certgate::v1::ZoneResponse* response);

  // CallAndPrint is Call, then the response as JSON with --json, else as
  // `render(out(), response)` writes it.
  template <typename Stub, typename Request, typename Response, typename Render>
  int CallAndPrint(StubMethod<Stub, Request, Response> method, const Request& request,
                   Render render);

 private:
  template <typename Stub>
  static Stub& StubOf(Connection& connection) {
    if constexpr (std::is_same_v<Stub, AdminStub>) {
      return connection.admin();
    } else {
      return connection.tenant();
    }
  }

  std::map<std::string, std::string> env_;
  std::ostream& out_;
  std::ostream& err_;
  ConnectionFlags connection_flags_;
  bool json_ = false;
  std::function<int()> action_;
  std::unique_ptr<Connection> connection_;
};

template <typename Stub, typename Request, typename Response>
int CommandContext::Call(StubMethod<Stub, Request, Response> method, const Request& request,
                         Response* response) {
  Connection* connection = Connect();
  if (connection == nullptr) {
    return kExitUsage;
  }
  grpc::Status status =
      (StubOf<Stub>(*connection).*method)(connection->NewCallContext().get(), request, response);
  if (!status.ok()) {
    return RpcError(status);
  }
  return kExitOk;
}

template <typename Stub, typename Request, typename Response, typename Render>
int CommandContext::CallAndPrint(StubMethod<Stub, Request, Response> method, const Request& request,
                                 Render render) {
  Response response;
  if (int code = Call(method, request, &response); code != kExitOk) {
    return code;
  }
  if (json()) {
    return PrintJson(response);
  }
  render(out(), response);
  return kExitOk;
}

}  // namespace certgate::cli
