#include "tests/support/control_plane_process.h"

#include <signal.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace certgate::testing {

ControlPlaneProcess::ControlPlaneProcess(std::string dir, std::vector<std::string> extra_flags,
                                         std::string host)
    : dir_(std::move(dir)),
      db_path_(dir_ + "/state/certgate.db"),
      extra_flags_(std::move(extra_flags)),
      host_(std::move(host)) {}

bool ControlPlaneProcess::Start(std::string* error) {
  // Keep the same port across restarts so clients can reconnect.
  if (port_ == 0) {
    port_ = FreePort();
  }
  std::vector<std::string> argv = {BinPath("certgate-control"),
                                   "--db",
                                   db_path_,
                                   "--listen",
                                   address(),
                                   "--admin-token-file",
                                   dir_ + "/admin.token",
                                   "--edge-token-file",
                                   dir_ + "/edge.token"};
  // Test origins run on loopback.
  argv.insert(argv.end(), {"--origin-allow", "127.0.0.0/8"});
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  // Tests that are not about hostname verification get zones served at once.
  if (std::find(extra_flags_.begin(), extra_flags_.end(), "--verify-hostnames") ==
      extra_flags_.end()) {
    argv.insert(argv.end(), {"--verify-hostnames", "off"});
  }
  static int starts = 0;
  auto process = Subprocess::Start(argv, dir_ + "/control-" + std::to_string(++starts) + ".log");
  if (!process.ok()) {
    *error = std::string(process.status().message());
    return false;
  }
  process_ = std::move(*process);
  channel_.reset();
  bool up = WaitFor(
      [&] {
        return absl::StrContains(process_->ReadLog(), "certgate-control listening on") ||
               !process_->Running();
      },
      absl::Seconds(20));
  if (!up || !absl::StrContains(process_->ReadLog(), "listening on")) {
    *error = "certgate-control did not start: " + process_->ReadLog();
    return false;
  }
  return true;
}

int ControlPlaneProcess::Stop(int signal) {
  if (!process_) {
    return -1;
  }
  // Drop our connection first: the server's shutdown waits for open
  // connections to go away (up to its grace period).
  channel_.reset();
  process_->Signal(signal);
  return process_->Wait(absl::Seconds(15));
}

std::string ControlPlaneProcess::admin_token() const {
  return std::string(absl::StripAsciiWhitespace(ReadFile(dir_ + "/admin.token")));
}

std::string ControlPlaneProcess::edge_token() const {
  return std::string(absl::StripAsciiWhitespace(ReadFile(dir_ + "/edge.token")));
}

std::shared_ptr<grpc::Channel> ControlPlaneProcess::Channel() {
  if (channel_ == nullptr) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    // A channel of its own: after a restart, never reuse a connection to the
    // killed process from gRPC's global subchannel pool.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channel_ = grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }
  return channel_;
}

void Authorize(grpc::ClientContext* context, const std::string& token) {
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

std::string NewTenant(ControlPlaneProcess& server, const std::string& name) {
  grpc::ClientContext context;
  Authorize(&context, server.admin_token());
  v1::CreateTenantRequest request;
  request.set_name(name);
  v1::CreateTenantResponse response;
  grpc::Status status = server.Admin()->CreateTenant(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.token();
}

uint64_t ConfigVersion(ControlPlaneProcess& server) {
  grpc::ClientContext context;
  Authorize(&context, server.admin_token());
  v1::StatusResponse response;
  grpc::Status status =
      server.Admin()->GetFleetStatus(&context, v1::GetFleetStatusRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.config_version();
}

}  // namespace certgate::testing
