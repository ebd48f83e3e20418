// certgate-replicas-bench: the replicated control plane on a private
// PostgreSQL, measured. Starts everything itself (a PostgreSQL cluster, two
// certgate-control replicas on it, and one on SQLite) and prints two tables:
//   1. propagation: --edges light edge streams split between the replicas;
//      each change goes through replica A or B in turn, and its time is until
//      every edge has received the new version (p50, p99, max);
//   2. tenant API writes per second on each engine (Revoke calls from
//      --writers threads for --seconds).
// Needs certgate-control (CERTGATE_BIN_DIR) and postgresql-15.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "tests/integration/controlplane/edge_client.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/process.h"

namespace certgate::bench {
namespace {

using testing::Authorize;
using testing::ControlPlaneProcess;
using testing::EdgeClient;

constexpr char kZone[] = "bench.example";

struct Options {
  int edges = 100;
  int changes = 50;
  int writers = 4;
  double seconds = 5;
};

bool CreateZone(ControlPlaneProcess& control, const std::string& token,
                const std::string& hostname = kZone) {
  v1::CreateZoneRequest request;
  request.set_hostname(hostname);
  request.set_origin("http://127.0.0.1:8080");
  v1::ZoneResponse response;
  grpc::ClientContext context;
  Authorize(&context, token);
  grpc::Status status = control.Tenant()->CreateZone(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "create zone: %s\n", status.error_message().c_str());
  }
  return status.ok();
}

uint64_t Revoke(v1::TenantService::Stub& stub, const std::string& token, uint64_t serial,
                const std::string& hostname = kZone) {
  v1::RevokeRequest request;
  request.set_hostname(hostname);
  request.set_serial_hex(absl::StrCat(absl::Hex(serial)));
  v1::RevokeResponse response;
  grpc::ClientContext context;
  Authorize(&context, token);
  return stub.Revoke(&context, request, &response).ok() ? response.config_version() : 0;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * (values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// WritesPerSecond: Revoke calls acknowledged per second through `controls`,
// on a fresh zone `hostname` (a zone's revocation list grows with each
// write, so every row starts from the same size).
double WritesPerSecond(const std::vector<ControlPlaneProcess*>& controls, const std::string& token,
                       const Options& options, const std::string& hostname) {
  if (!CreateZone(*controls[0], token, hostname)) {
    return 0;
  }
  std::atomic<uint64_t> next{1};
  std::atomic<int> acked{0};
  absl::Time end = absl::Now() + absl::Seconds(options.seconds);
  std::vector<std::thread> threads;
  for (int w = 0; w < options.writers; ++w) {
    ControlPlaneProcess* control = controls[w % controls.size()];
    threads.emplace_back([&, control] {
      auto stub = control->Tenant();
      while (absl::Now() < end) {
        if (Revoke(*stub, token, next.fetch_add(1), hostname) != 0) {
          acked.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  return acked.load() / options.seconds;
}

int Run(const Options& options) {
  auto cluster = testing::PostgresCluster::Start();
  if (!cluster.ok()) {
    std::fprintf(stderr, "%s\n", std::string(cluster.status().message()).c_str());
    return 1;
  }
  auto url = (*cluster)->CreateDatabase();
  if (!url.ok()) {
    return 1;
  }
  std::string dir = testing::MakeTempDir("certgate-replicas-bench");
  std::vector<std::unique_ptr<ControlPlaneProcess>> replicas;
  for (int i = 0; i < 2; ++i) {
    replicas.push_back(std::make_unique<ControlPlaneProcess>(
        dir, std::vector<std::string>{"--insecure", "--edge-ca-dir", dir + "/edge-ca"}));
    replicas.back()->UseDatabase(*url);
    std::string error;
    if (!replicas.back()->Start(&error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  std::string token = testing::NewTenant(*replicas[0], "bench");
  if (!CreateZone(*replicas[0], token)) {
    return 1;
  }

  // Edges, alternately on A and B, each at the current version.
  std::vector<std::unique_ptr<EdgeClient>> edges;
  for (int i = 0; i < options.edges; ++i) {
    ControlPlaneProcess& replica = *replicas[i % 2];
    edges.push_back(std::make_unique<EdgeClient>(replica, replica.edge_token()));
    edges.back()->Hello(absl::StrCat("bench-edge-", i), 0);
  }
  for (auto& edge : edges) {
    auto snapshot = edge->Next(absl::Seconds(30));
    if (!snapshot.has_value()) {
      std::fprintf(stderr, "an edge got no snapshot\n");
      return 1;
    }
    edge->Ack(snapshot->snapshot().version());
  }

  std::vector<double> propagation_ms;
  std::vector<std::unique_ptr<v1::TenantService::Stub>> stubs;
  for (auto& replica : replicas) {
    stubs.push_back(replica->Tenant());
  }
  for (int change = 0; change < options.changes; ++change) {
    absl::Time start = absl::Now();
    uint64_t version = Revoke(*stubs[change % 2], token, 0x100000 + change);
    if (version == 0) {
      std::fprintf(stderr, "change %d failed\n", change);
      return 1;
    }
    for (auto& edge : edges) {
      while (true) {
        auto message = edge->Next(absl::Seconds(30));
        if (!message.has_value()) {
          std::fprintf(stderr, "an edge missed version %llu\n",
                       static_cast<unsigned long long>(version));
          return 1;
        }
        uint64_t got =
            message->has_delta() ? message->delta().version() : message->snapshot().version();
        edge->Ack(got);
        if (got >= version) {
          break;
        }
      }
    }
    propagation_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  edges.clear();

  std::printf("\npropagation, 2 replicas on PostgreSQL, %d edges split between them, %d changes\n",
              options.edges, options.changes);
  std::printf("| p50 ms | p99 ms | max ms |\n|---|---|---|\n");
  std::printf("| %.1f | %.1f | %.1f |\n", Percentile(propagation_ms, 0.5),
              Percentile(propagation_ms, 0.99), Percentile(propagation_ms, 1.0));

  double pg_one = WritesPerSecond({replicas[0].get()}, token, options, "w1.bench.example");
  double pg_two =
      WritesPerSecond({replicas[0].get(), replicas[1].get()}, token, options, "w2.bench.example");
  for (auto& replica : replicas) {
    replica->Stop(SIGTERM);
  }

  std::string sqlite_dir = testing::MakeTempDir("certgate-replicas-bench-sqlite");
  ControlPlaneProcess sqlite_control(sqlite_dir);
  std::string error;
  if (!sqlite_control.Start(&error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::string sqlite_token = testing::NewTenant(sqlite_control, "bench");
  double sqlite_one = WritesPerSecond({&sqlite_control}, sqlite_token, options, "w1.bench.example");
  sqlite_control.Stop(SIGTERM);

  std::printf("\ntenant API writes (Revoke), %d writer threads, %.0f s each\n", options.writers,
              options.seconds);
  std::printf("| engine | replicas | writes/s |\n|---|---|---|\n");
  std::printf("| SQLite | 1 | %.0f |\n", sqlite_one);
  std::printf("| PostgreSQL | 1 | %.0f |\n", pg_one);
  std::printf("| PostgreSQL | 2 | %.0f |\n", pg_two);
  return 0;
}

}  // namespace
}  // namespace certgate::bench

int main(int argc, char** argv) {
  certgate::bench::Options options;
  CLI::App app{"certgate-replicas-bench: propagation and write rate of replicated control planes"};
  app.add_option("--edges", options.edges, "light edge streams, split between two replicas");
  app.add_option("--changes", options.changes, "changes to time");
  app.add_option("--writers", options.writers, "threads making tenant API writes");
  app.add_option("--seconds", options.seconds, "seconds per write-rate row");
  CLI11_PARSE(app, argc, argv);
  return certgate::bench::Run(options);
}
