// certgate-zone-memory: what a zone costs an edge in memory, from a real
// edge's state directory (one written by tests/bench/propagation.sh, say).
// Loads it as a starting edge does, then builds the TLS context of --active
// zones as their first handshakes would; prints the heap in use per zone at
// rest and per active zone, and the load time.
//
//   certgate-zone-memory --state-dir DIR [--active N]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/config/state_log.h"
#include "dataplane/tls/zone_ssl_context_cache.h"
#include "openssl/ssl.h"

namespace {

size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small blocks and mmapped ones
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"certgate-zone-memory: heap per zone at rest and per active zone"};
  std::string state_dir;
  size_t active = 10000;
  app.add_option("--state-dir", state_dir, "an edge's --state-dir")->required();
  app.add_option("--active", active, "zones whose TLS context is built");
  CLI11_PARSE(app, argc, argv);

  size_t before = HeapInUse();
  auto t0 = std::chrono::steady_clock::now();
  auto config = certgate::edge::StateLog::Load(absl::StrCat(state_dir, "/config.pb"));
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!config.ok()) {
    fprintf(stderr, "certgate-zone-memory: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  malloc_trim(0);
  size_t at_rest = HeapInUse() - before;
  size_t zones = (*config)->zone_count();
  size_t sources = 0;
  for (const certgate::edge::ZoneConfig* zone : (*config)->Zones()) {
    sources += zone->source.SpaceUsed();
  }
  certgate::edge::ZoneSslContextCache contexts(active);
  size_t built = 0;
  for (const certgate::edge::ZoneConfig* zone : (*config)->Zones()) {
    if (built == active) {
      break;
    }
    if (contexts
            .Get(
                {zone->id, zone->build_serial}, [zone] { return zone->source.Zone(); },
                *zone->trust)
            .ok()) {
      ++built;
    }
  }
  size_t with_active = HeapInUse() - before;
  printf(
      "| zones | load s | heap at rest | per zone at rest | of which its source "
      "| active zones | per active zone |\n");
  printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  printf("| %zu | %.2f | %.1f MiB | %.0f B | %.0f B | %zu | %.0f B |\n", zones, load_s,
         at_rest / 1048576.0, zones > 0 ? static_cast<double>(at_rest) / zones : 0.0,
         zones > 0 ? static_cast<double>(sources) / zones : 0.0, built,
         built > 0 ? static_cast<double>(with_active - at_rest) / built : 0.0);
  return 0;
}
