// Fuzz target: what the edge does with a snapshot or delta from the control
// plane (dataplane/config/edge_config.h). The first input byte picks:
//   even: part 1 is a v1::Snapshot for EdgeConfig::FromSnapshot; a part 2,
//         if any, is a v1::Delta applied to the result;
//   odd:  part 1 is a v1::Delta applied to a fixed, valid config (version
//         10: zones 1 "auth.pizza" and 2 "*.shop.example").
// Parts are separated by kPartSeparator. Whatever arrives must be applied or
// refused, never crash; an applied config must be self-consistent (every
// zone found by id and by name), a delta must keep unchanged zones shared,
// and ToSnapshot (what the state file stores) must build again.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "certgate/v1/edge_config.pb.h"
#include "common/pem.h"
#include "dataplane/config/edge_config.h"
#include "google/protobuf/stubs/logging.h"
#include "openssl/err.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using certgate::edge::EdgeConfig;
using certgate::edge::ZoneConfig;
using certgate::edge::ZoneFailure;

constexpr uint64_t kBaseVersion = 10;

certgate::v1::EdgeZone BaseZone(uint64_t id, const std::string& hostname) {
  const certgate::fuzz::TestPki& pki = certgate::fuzz::GetTestPki();
  certgate::v1::EdgeZone zone;
  zone.set_id(id);
  zone.set_hostname(hostname);
  zone.set_mode(certgate::v1::MODE_ENFORCE);
  zone.set_origin("http://127.0.0.1:8080");
  zone.add_roots_der(certgate::CertificateToDer(pki.ca.get()));
  zone.set_server_chain_pem(certgate::CertificateToPem(pki.server.get()));
  zone.set_server_key_pem(certgate::PrivateKeyToPem(pki.server_key.get()));
  zone.set_trust_version(1);
  auto* mapping = zone.add_header_mappings();
  mapping->set_header("X-Device-Id");
  mapping->set_selector("subject.CN");
  return zone;
}

std::shared_ptr<const EdgeConfig> BaseConfig() {
  static const std::shared_ptr<const EdgeConfig>* const kBase = [] {
    google::protobuf::SetLogHandler(nullptr);  // parse errors are expected here
    certgate::v1::Snapshot snapshot;
    snapshot.set_version(kBaseVersion);
    *snapshot.add_zones() = BaseZone(1, "auth.pizza");
    *snapshot.add_zones() = BaseZone(2, "*.shop.example");
    auto config = EdgeConfig::FromSnapshot(snapshot);
    FUZZ_CHECK(config.ok(), "base config: %s", std::string(config.status().message()).c_str());
    return new std::shared_ptr<const EdgeConfig>(*config);
  }();
  return *kBase;
}

// CheckConfig: the invariants every applied config must hold.
void CheckConfig(const EdgeConfig& config) {
  FUZZ_CHECK(config.Zones().size() == config.zone_count(), "zone count mismatch");
  absl::flat_hash_set<std::string> keys;
  for (const ZoneConfig* zone : config.Zones()) {
    FUZZ_CHECK(config.FindById(zone->id) == zone, "zone %llu not found by id",
               static_cast<unsigned long long>(zone->id));
    FUZZ_CHECK(zone->build_serial != 0 && zone->trust != nullptr, "zone %s half built",
               zone->hostname.c_str());
    std::string key =
        absl::StartsWith(zone->hostname, "*.") ? zone->hostname.substr(1) : zone->hostname;
    FUZZ_CHECK(keys.insert(key).second, "hostname %s held by two zones", zone->hostname.c_str());
    if (absl::StartsWith(zone->hostname, "*.")) {
      std::string probe = absl::StrCat("probe", zone->hostname.substr(1));
      const ZoneConfig* found = config.FindBySni(probe);
      FUZZ_CHECK(found == zone || (found != nullptr && found->hostname == probe),
                 "wildcard %s does not serve %s", zone->hostname.c_str(), probe.c_str());
    } else {
      FUZZ_CHECK(config.FindBySni(zone->hostname) == zone, "zone %s not found by SNI",
                 zone->hostname.c_str());
    }
  }
  // The state file holds ToSnapshot(); the edge starts from it after a
  // restart, so it must build again into the same config.
  certgate::v1::Snapshot saved = config.ToSnapshot();
  std::string bytes = saved.SerializeAsString();
  certgate::v1::Snapshot reloaded;
  FUZZ_CHECK(reloaded.ParseFromString(bytes), "saved snapshot does not parse back");
  auto rebuilt = EdgeConfig::FromStateFile(reloaded);
  FUZZ_CHECK(rebuilt.ok(), "saved snapshot does not build again: %s",
             std::string(rebuilt.status().message()).c_str());
  FUZZ_CHECK((*rebuilt)->version() == config.version() &&
                 (*rebuilt)->zone_count() == config.zone_count() &&
                 (*rebuilt)->failure_count() == config.failure_count(),
             "saved snapshot builds into another config");
}

void CheckDelta(const EdgeConfig& before, const certgate::v1::Delta& delta,
                const EdgeConfig& after) {
  FUZZ_CHECK(after.version() == delta.version(), "version %llu after delta to %llu",
             static_cast<unsigned long long>(after.version()),
             static_cast<unsigned long long>(delta.version()));
  absl::flat_hash_set<uint64_t> touched;
  for (uint64_t id : delta.removed_zone_ids()) {
    touched.insert(id);
  }
  absl::flat_hash_set<uint64_t> failed;
  for (const ZoneFailure& failure : after.Failures()) {
    failed.insert(failure.zone_id);
  }
  absl::flat_hash_set<uint64_t> failed_before;
  for (const ZoneFailure& failure : before.Failures()) {
    failed_before.insert(failure.zone_id);
  }
  for (const certgate::v1::EdgeZone& zone : delta.upserted()) {
    touched.insert(zone.id());
    // Built, or listed as failed (its previous build, if any, serving).
    FUZZ_CHECK(after.FindById(zone.id()) != nullptr || failed.contains(zone.id()),
               "upserted zone %llu neither served nor failed",
               static_cast<unsigned long long>(zone.id()));
  }
  for (uint64_t id : delta.removed_zone_ids()) {
    bool upserted = false;
    for (const certgate::v1::EdgeZone& zone : delta.upserted()) {
      upserted = upserted || zone.id() == id;
    }
    FUZZ_CHECK(upserted || after.FindById(id) == nullptr, "removed zone %llu still there",
               static_cast<unsigned long long>(id));
  }
  for (const ZoneConfig* zone : before.Zones()) {
    // A stale build of a failed zone may give its name to a zone built as sent.
    if (!touched.contains(zone->id) && !failed_before.contains(zone->id)) {
      FUZZ_CHECK(after.FindById(zone->id) == zone, "untouched zone %llu was rebuilt or lost",
                 static_cast<unsigned long long>(zone->id));
    }
  }
}

void ApplyAndCheck(const std::shared_ptr<const EdgeConfig>& base, absl::string_view bytes) {
  certgate::v1::Delta delta;
  if (!delta.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return;
  }
  auto applied = base->ApplyDelta(delta);
  if (!applied.ok()) {
    // A refused delta leaves the config it was applied to as it was.
    CheckConfig(*base);
    return;
  }
  CheckDelta(*base, delta, **applied);
  CheckConfig(**applied);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  std::shared_ptr<const EdgeConfig> base = BaseConfig();
  std::vector<absl::string_view> parts =
      certgate::fuzz::SplitParts(certgate::fuzz::AsView(data + 1, size - 1), 2);
  if (data[0] % 2 == 1) {
    ApplyAndCheck(base, parts[0]);
  } else {
    certgate::v1::Snapshot snapshot;
    if (snapshot.ParseFromArray(parts[0].data(), static_cast<int>(parts[0].size()))) {
      auto config = EdgeConfig::FromSnapshot(snapshot);
      if (config.ok()) {
        // With nothing held before, a zone that fails is simply not served.
        FUZZ_CHECK((*config)->zone_count() + (*config)->failure_count() ==
                       static_cast<size_t>(snapshot.zones_size()),
                   "snapshot with %d zones built %zu and failed %zu", snapshot.zones_size(),
                   (*config)->zone_count(), (*config)->failure_count());
        CheckConfig(**config);
        if (parts.size() > 1) {
          ApplyAndCheck(*config, parts[1]);
        }
      }
    }
  }
  ERR_clear_error();
  return 0;
}
