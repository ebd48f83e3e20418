#include "tests/support/postgres_cluster.h"

#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace certgate::testing {
namespace {

// Debian's nobody/nogroup: present on every machine, owns nothing.
constexpr int kUnprivilegedId = 65534;

std::string PgBin(const std::string& name) {
  const char* dir = std::getenv("PG_BINDIR");
  return absl::StrCat(dir != nullptr && dir[0] != '\0' ? dir : "/usr/lib/postgresql/15/bin", "/",
                      name);
}

// AsServerUser prefixes `argv` so that it runs unprivileged when we are root.
// setpriv execs in place, so the child's pid is the program's own.
std::vector<std::string> AsServerUser(std::vector<std::string> argv) {
  if (::geteuid() != 0) {
    return argv;
  }
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", absl::StrCat("--reuid=", kUnprivilegedId),
                                      absl::StrCat("--regid=", kUnprivilegedId), "--clear-groups",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresCluster>> PostgresCluster::Start() {
  std::string dir = MakeTempDir("certgate-pg");
  if (::geteuid() == 0 && ::chown(dir.c_str(), kUnprivilegedId, kUnprivilegedId) != 0) {
    return absl::InternalError(absl::StrCat("cannot give ", dir, " to the server user"));
  }
  CommandResult init =
      RunCommand(AsServerUser({PgBin("initdb"), "-D", dir + "/data", "-U", "certgate",
                               "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"}),
                 "", {}, absl::Seconds(60));
  if (init.exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        "initdb failed (is postgresql-15 installed? deploy/install-deps.sh): ", init.err,
        init.out));
  }
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster(dir, FreePort()));
  absl::Status launched = cluster->Launch();
  if (!launched.ok()) {
    return launched;
  }
  return cluster;
}

absl::Status PostgresCluster::Launch() {
  // fsync off: the tests crash the server process, never the machine.
  absl::StatusOr<std::unique_ptr<Subprocess>> server = Subprocess::Start(
      AsServerUser({PgBin("postgres"), "-D", dir_ + "/data", "-p", absl::StrCat(port_), "-k", dir_,
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                    "max_connections=200", "-c", "shared_buffers=16MB"}),
      dir_ + "/server.log");
  if (!server.ok()) {
    return server.status();
  }
  server_ = std::move(*server);
  std::string conninfo = Url("postgres");
  bool ready = WaitFor([&] { return !server_->Running() || PQping(conninfo.c_str()) == PQPING_OK; },
                       absl::Seconds(30));
  if (!ready || !server_->Running()) {
    return absl::InternalError(absl::StrCat("PostgreSQL did not start: ", server_->ReadLog()));
  }
  return absl::OkStatus();
}

PostgresCluster::~PostgresCluster() {
  Crash();
  if (std::getenv("CERTGATE_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void PostgresCluster::Crash() {
  if (server_ != nullptr) {
    server_->Signal(SIGQUIT);
    if (server_->Wait(absl::Seconds(10)) < 0) {
      server_->Signal(SIGKILL);
      server_->Wait();
    }
    server_.reset();
  }
}

absl::Status PostgresCluster::Restart() {
  Crash();
  return Launch();
}

std::string PostgresCluster::Url(const std::string& name) const {
  return absl::StrCat("postgresql://certgate@127.0.0.1:", port_, "/", name);
}

absl::StatusOr<std::string> PostgresCluster::CreateDatabase() {
  std::string name = absl::StrCat("certgate_", ++databases_);
  PGconn* conn = PQconnectdb(Url("postgres").c_str());
  PGresult* result = PQexec(conn, absl::StrCat("CREATE DATABASE ", name).c_str());
  bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string error = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!ok) {
    return absl::InternalError(absl::StrCat("CREATE DATABASE ", name, ": ", error));
  }
  return Url(name);
}

}  // namespace certgate::testing
