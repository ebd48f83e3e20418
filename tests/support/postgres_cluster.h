#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace certgate::testing {

// PostgresCluster is a private PostgreSQL server for one test: initdb into a
// temporary directory, the server on a free 127.0.0.1 port with its unix
// socket in that directory, and everything removed on destruction. As root
// it runs as `nobody` (PostgreSQL refuses root), otherwise as the caller.
// The binaries come from PG_BINDIR, else Debian's /usr/lib/postgresql/15/bin.
class PostgresCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresCluster>> Start();
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // CreateDatabase makes a new empty database and returns its URL.
  absl::StatusOr<std::string> CreateDatabase();
  // Url of database `name` (trust authentication: no password).
  std::string Url(const std::string& name) const;

  // Crash stops the server the way a crash does (SIGQUIT: no checkpoint);
  // Restart starts it again on the same port and data.
  void Crash();
  absl::Status Restart();

  int port() const { return port_; }

 private:
  PostgresCluster(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Launch();

  std::string dir_;
  int port_;
  int databases_ = 0;
  std::unique_ptr<Subprocess> server_;
};

}  // namespace certgate::testing
