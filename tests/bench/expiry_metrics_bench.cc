// certgate-expiry-metrics-bench: what the control plane's /metrics costs at
// scale. Fills a fresh store with N zones (two roots, a server and an origin
// client certificate, one CRL each: five dated items), then times the first
// render after a change (reads every zone) and renders at the same config
// version (cached dates, formatting only). Prints a table; asserts nothing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/expiry/expiry_metrics.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/store/sqlite_store.h"
#include "controlplane/store/store_transaction.h"

namespace {

using namespace certgate::controlplane;  // NOLINT: a benchmark's main

absl::Status Fill(SqliteStore& store, int zones, int tenants) {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  return store
      .Mutate(
          "bench", "fill",
          [&](StoreTransaction& txn) -> absl::Status {
            for (int t = 0; t < tenants; ++t) {
              RETURN_IF_ERROR(txn.InsertTenant(
                  TenantRow{absl::StrCat("t", t), absl::StrCat("tenant-", t), now}));
            }
            for (int i = 0; i < zones; ++i) {
              ZoneRow row;
              row.tenant_id = absl::StrCat("t", i % tenants);
              row.hostname = absl::StrCat("zone-", i, ".bench.example");
              row.zone.set_hostname(row.hostname);
              for (int r = 0; r < 2; ++r) {
                auto* root = row.zone.add_roots();
                root->set_id(absl::StrFormat("%016x", i * 2 + r));
                root->set_subject(absl::StrCat("CN=Root ", r, " of zone ", i));
                root->set_not_after_unix(now + (i % 400) * 86400);
              }
              row.zone.mutable_server_certificate()->set_chain_pem("x");
              row.zone.mutable_server_certificate()->set_subject("CN=" + row.hostname);
              row.zone.mutable_server_certificate()->set_not_after_unix(now + 90 * 86400);
              row.zone.mutable_origin_client_certificate()->set_chain_pem("x");
              row.zone.mutable_origin_client_certificate()->set_subject("CN=" + row.hostname);
              row.zone.mutable_origin_client_certificate()->set_not_after_unix(now + 80 * 86400);
              auto* crl = row.zone.add_crls();
              crl->set_id(absl::StrFormat("c%015x", i));
              crl->set_issuer("CN=Root 0");
              crl->set_next_update_unix(now + 7 * 86400);
              RETURN_IF_ERROR(txn.InsertZone(row).status());
            }
            return absl::OkStatus();
          })
      .status();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"certgate-expiry-metrics-bench: the control plane's /metrics at scale"};
  int zones = 100000;
  int tenants = 100;
  int renders = 5;
  const char* tmpdir = std::getenv("TMPDIR");
  std::string dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  app.add_option("--zones", zones, "Zones in the store")->check(CLI::Range(1, 10000000));
  app.add_option("--tenants", tenants, "Tenants they are spread over")
      ->check(CLI::Range(1, 100000));
  app.add_option("--renders", renders, "Cached renders to average")->check(CLI::Range(1, 1000));
  app.add_option("--dir", dir, "Directory for the scratch database (default: TMPDIR)");
  CLI11_PARSE(app, argc, argv);

  SqliteStoreOptions options;
  options.path = absl::StrCat(dir, "/expiry-metrics-bench-", getpid(), ".db");
  auto store = SqliteStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  absl::Time start = absl::Now();
  absl::Status filled = Fill(**store, zones, tenants);
  if (!filled.ok()) {
    std::fprintf(stderr, "%s\n", std::string(filled.message()).c_str());
    return 1;
  }
  absl::Duration fill_time = absl::Now() - start;
  FleetStatus fleet(store->get());
  ExpiryMetrics metrics(store->get(), &fleet);

  start = absl::Now();
  std::string first = metrics.Render(absl::Now());
  absl::Duration first_time = absl::Now() - start;
  start = absl::Now();
  size_t bytes = 0;
  for (int i = 0; i < renders; ++i) {
    bytes = metrics.Render(absl::Now()).size();
  }
  absl::Duration cached_time = (absl::Now() - start) / renders;

  std::printf(
      "| zones | dated items | fill | first render (reads store) | cached render | body |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| %d | %d | %.2f s | %.1f ms | %.1f ms | %.1f MB |\n", zones, zones * 5,
              absl::ToDoubleSeconds(fill_time), absl::ToDoubleMilliseconds(first_time),
              absl::ToDoubleMilliseconds(cached_time), static_cast<double>(bytes) / 1e6);
  std::remove(options.path.c_str());
  std::remove((options.path + "-wal").c_str());
  std::remove((options.path + "-shm").c_str());
  return first.empty() ? 1 : 0;
}
