#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certgate/v1/admin.grpc.pb.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "tests/support/process.h"

namespace certgate::testing {

// ControlPlaneProcess runs a real certgate-control with its state in a
// fresh directory, and makes clients for it.
class ControlPlaneProcess {
 public:
  // `dir` holds the database, token files and edge CA; extra flags are
  // appended (default: --insecure), and `--verify-hostnames off` unless they
  // hold a --verify-hostnames of their own. It listens on `host` (an IPv4 address),
  // which a test with its own network namespaces sets to its host side.
  explicit ControlPlaneProcess(std::string dir,
                               std::vector<std::string> extra_flags = {"--insecure"},
                               std::string host = "127.0.0.1");

  // Start launches the binary and waits for its "listening on" line.
  // Returns false (with the log in `error`) when it does not come up.
  bool Start(std::string* error);
  // Stop sends `signal` and reaps the process; returns its exit code.
  int Stop(int signal);

  const std::string& dir() const { return dir_; }
  const std::string& db_path() const { return db_path_; }
  // UseDatabase: --db for the next Start (a postgres:// URL shared with
  // other replicas, which then also share this one's `dir`).
  void UseDatabase(std::string target) { db_path_ = std::move(target); }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  std::string admin_token() const;
  std::string edge_token() const;
  std::string log() const { return process_ ? process_->ReadLog() : ""; }
  int port() const { return port_; }
  // ReservePort picks the port now (before Start), so others can be told
  // this replica's address before it runs.
  void ReservePort() {
    if (port_ == 0) {
      port_ = FreePort();
    }
  }

  std::shared_ptr<grpc::Channel> Channel();
  std::unique_ptr<v1::TenantService::Stub> Tenant() {
    return v1::TenantService::NewStub(Channel());
  }
  std::unique_ptr<v1::AdminService::Stub> Admin() { return v1::AdminService::NewStub(Channel()); }
  std::unique_ptr<v1::EdgeConfigService::Stub> Edge() {
    return v1::EdgeConfigService::NewStub(Channel());
  }

 private:
  std::string dir_;
  std::string db_path_;
  std::vector<std::string> extra_flags_;
  std::string host_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Authorize sets `authorization: Bearer <token>` and a deadline on `context`.
void Authorize(grpc::ClientContext* context, const std::string& token);

// NewTenant creates a tenant through the admin API; returns its token.
std::string NewTenant(ControlPlaneProcess& server, const std::string& name);

// ConfigVersion reads the version with the admin token.
uint64_t ConfigVersion(ControlPlaneProcess& server);

}  // namespace certgate::testing
