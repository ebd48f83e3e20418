#include "dataplane/config/edge_config.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/field_selector.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/zone_defaults.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/serialized_snapshot.h"
#include "dataplane/tls/origin_tls_context.h"
#include "dataplane/tls/zone_ssl_context.h"
#include "dataplane/tls/zone_trust.h"
#include "openssl/ssl.h"

namespace certgate::edge {

namespace {

absl::StatusOr<OriginUrl> ParseOrigin(absl::string_view text) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeOrigin(text));
  absl::string_view rest = normalized;
  OriginUrl origin;
  if (absl::ConsumePrefix(&rest, "https://")) {
    origin.tls = true;
    origin.port = 443;
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    origin.port = 80;
  } else if (absl::ConsumePrefix(&rest, "h2c://")) {
    origin.h2c = true;
    origin.port = 80;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("origin \"", text, "\": not http://, https:// or h2c://"));
  }
  absl::ConsumeSuffix(&rest, "/");
  absl::string_view host = rest;
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("origin \"", text, "\": bad IPv6 host"));
    }
    host = rest.substr(1, close - 1);
    absl::string_view after = rest.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) {
      port = after;
    }
  } else if (size_t colon = rest.rfind(':'); colon != absl::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("origin \"", text, "\": no host"));
  }
  origin.host = std::string(host);
  if (!port.empty()) {
    uint32_t value = 0;
    if (!absl::SimpleAtoi(port, &value) || value == 0 || value > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("origin \"", text, "\": bad port"));
    }
    origin.port = static_cast<uint16_t>(value);
  }
  return origin;
}

// DropUnused clears what the edge never uses from a zone it keeps: an http
// origin's TLS settings (origin CA, server name, client chain and key:
// about half of a zone as the control plane sends it). Any change of the
// zone comes again whole, so nothing is lost; the state file records the
// zone as kept.
void DropUnused(const OriginUrl& origin, v1::EdgeZone* zone) {
  if (origin.tls) {
    return;
  }
  // Swapped out rather than cleared: a cleared string keeps its buffer.
  for (std::string* field :
       {zone->mutable_origin_ca_pem(), zone->mutable_origin_server_name(),
        zone->mutable_origin_client_chain_pem(), zone->mutable_origin_client_key_pem()}) {
    std::string().swap(*field);
  }
}

// SwapUnused swaps what DropUnused drops between `zone` and `aside` (which
// starts empty): once to set it aside, once more to put it back.
void SwapUnused(const OriginUrl& origin, v1::EdgeZone* zone, v1::EdgeZone* aside) {
  if (origin.tls) {
    return;
  }
  zone->mutable_origin_ca_pem()->swap(*aside->mutable_origin_ca_pem());
  zone->mutable_origin_server_name()->swap(*aside->mutable_origin_server_name());
  zone->mutable_origin_client_chain_pem()->swap(*aside->mutable_origin_client_chain_pem());
  zone->mutable_origin_client_key_pem()->swap(*aside->mutable_origin_client_key_pem());
}

// NonDefault: `value`, or empty when it is the default (or unset).
std::string NonDefault(const std::string& value, absl::string_view default_value) {
  return value == default_value ? std::string() : value;
}

// CheckEachIdOnce: no zone id appears twice in a snapshot's `ids`.
absl::Status CheckEachIdOnce(const std::vector<uint64_t>& ids) {
  absl::flat_hash_set<uint64_t> seen;
  seen.reserve(ids.size());
  for (uint64_t id : ids) {
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot lists zone id ", id, " twice"));
    }
  }
  return absl::OkStatus();
}

// ZoneBuild says where a zone comes from.
enum class ZoneBuild {
  kReceived,  // from the control plane: everything is checked
  // From the edge's own state, where only zones that built are recorded:
  // the server chain and key are not parsed again (at 100,000 zones that
  // was most of a cold start). Were the file damaged there, the zone's
  // context fails at first use, which fails that zone's handshakes only and
  // is reported like any failed build.
  kRecorded,
};

// BuildZoneConfig builds `source`; when `take` is given (the same zone,
// owned by the caller) the zone's source is made from it without a copy.
absl::StatusOr<std::shared_ptr<const ZoneConfig>> BuildZoneConfig(const v1::EdgeZone& source,
                                                                  v1::EdgeZone* take,
                                                                  ZoneBuild build) {
  auto zone = std::make_shared<ZoneConfig>();
  zone->id = source.id();
  ASSIGN_OR_RETURN(zone->hostname, NormalizeHostname(source.hostname()));
  zone->tenant_id = source.tenant_id();
  zone->mode = ZoneDefaults::EffectiveMode(source.mode());
  if (!v1::Mode_IsValid(zone->mode)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown mode ", static_cast<int>(zone->mode)));
  }
  ASSIGN_OR_RETURN(zone->origin, ParseOrigin(source.origin()));
  if (zone->origin.tls) {
    ASSIGN_OR_RETURN(zone->origin_tls, OriginTlsContext::Create(source, zone->origin.host));
  }
  // '/' appears in no host name, so two zones never share a key; an https key
  // also names the zone's origin TLS settings, so a connection made under old
  // settings is not reused under new ones.
  zone->origin_pool_key = zone->origin_tls != nullptr
                              ? absl::StrCat(zone->id, "/https/", zone->origin_tls->serial(), "/",
                                             zone->origin.host, ":", zone->origin.port)
                              : absl::StrCat(zone->id, zone->origin.h2c ? "/h2c/" : "/",
                                             zone->origin.host, ":", zone->origin.port);
  // The default error page and header names are left empty (what the
  // request path reads as the default) rather than copied into every zone.
  const v1::ErrorResponse& error = source.error_response();
  if (!(error.content_type() == ZoneDefaults::kErrorContentType &&
        error.body() == ZoneDefaults::kErrorBody)) {
    zone->error_content_type = error.content_type();
    zone->error_body = error.body();
  }
  for (const v1::HeaderMapping& mapping : source.header_mappings()) {
    RETURN_IF_ERROR(ValidateHeaderName(mapping.header()));
    RETURN_IF_ERROR(ValidateFieldSelector(mapping.selector()));
    zone->header_mappings.push_back(HeaderMappingRule{mapping.header(), mapping.selector()});
  }
  const v1::StatusHeaderNames& names = source.status_header_names();
  zone->status_header = NonDefault(names.status(), ZoneDefaults::kStatusHeader);
  zone->ski_header = NonDefault(names.ski(), ZoneDefaults::kSkiHeader);
  zone->error_header = NonDefault(names.error(), ZoneDefaults::kErrorHeader);
  for (const std::string* header : {&zone->status_header, &zone->ski_header, &zone->error_header}) {
    if (!header->empty()) {
      RETURN_IF_ERROR(ValidateHeaderName(*header));
    }
  }
  zone->trust_version = source.trust_version();
  zone->send_ca_names = source.send_ca_names();
  zone->http2 = !source.http2_disabled();
  ASSIGN_OR_RETURN(zone->access, AccessPolicy::Create(source));
  ASSIGN_OR_RETURN(zone->trust, ZoneTrust::Create(source));
  if (build == ZoneBuild::kReceived) {
    RETURN_IF_ERROR(CheckZoneServerIdentity(source));
  }
  static std::atomic<uint64_t> next_build_serial{1};
  zone->build_serial = next_build_serial.fetch_add(1, std::memory_order_relaxed);
  zone->ticket_keys = SessionBinding::TicketKeysFor(zone->id, zone->trust_version, zone->mode);
  if (take != nullptr) {
    // Made from the caller's zone in place, what the edge drops set aside
    // meanwhile: the caller frees every zone at once, as one free block of
    // the heap that malloc_trim can return (zones freed one by one would
    // leave holes among the built zones).
    v1::EdgeZone unused;
    SwapUnused(zone->origin, take, &unused);
    zone->source = ZoneSource::From(take);
    SwapUnused(zone->origin, take, &unused);
  } else {
    v1::EdgeZone kept = source;
    DropUnused(zone->origin, &kept);
    zone->source = ZoneSource::From(&kept);
  }
  return std::shared_ptr<const ZoneConfig>(std::move(zone));
}

// SameAsKept: `source` is the zone `kept` was built from (as it is kept).
bool SameAsKept(const ZoneConfig& kept, const v1::EdgeZone& source) {
  if (kept.origin.tls) {
    return kept.source.Is(source);
  }
  v1::EdgeZone received = source;
  DropUnused(kept.origin, &received);
  return kept.source.Is(received);
}

}  // namespace

bool ZoneConfig::RequestsCertificate() const {
  return mode != v1::MODE_OFF || (access != nullptr && access->requests_certificate());
}

absl::string_view ZoneConfig::RuleId(int rule) const {
  return access != nullptr ? access->rule_id(rule) : absl::string_view();
}

namespace {

// IndexKey: exact names as they are, `*.x` as ".x".
std::string IndexKey(absl::string_view hostname) {
  if (absl::StartsWith(hostname, "*.")) {
    return std::string(hostname.substr(1));
  }
  return std::string(hostname);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ZoneConfig>> BuildZone(const v1::EdgeZone& source) {
  return BuildZoneConfig(source, nullptr, ZoneBuild::kReceived);
}

const std::shared_ptr<const ZoneConfig>* EdgeConfig::LookupId(uint64_t id) const {
  if (auto it = id_overlay_.find(id); it != id_overlay_.end()) {
    return it->second != nullptr ? &it->second : nullptr;
  }
  if (index_ == nullptr) {
    return nullptr;
  }
  auto it = index_->zones_by_id.find(id);
  return it != index_->zones_by_id.end() ? &it->second : nullptr;
}

const ZoneConfig* EdgeConfig::LookupName(absl::string_view key) const {
  if (auto it = name_overlay_.find(key); it != name_overlay_.end()) {
    return it->second;
  }
  if (index_ == nullptr) {
    return nullptr;
  }
  auto it = index_->by_name.find(key);
  return it != index_->by_name.end() ? it->second : nullptr;
}

void EdgeConfig::SetId(uint64_t id, std::shared_ptr<const ZoneConfig> zone) {
  bool had = LookupId(id) != nullptr;
  zone_count_ += (zone != nullptr ? 1 : 0);
  zone_count_ -= (had ? 1 : 0);
  bool in_index = index_ != nullptr && index_->zones_by_id.contains(id);
  if (zone == nullptr && !in_index) {
    id_overlay_.erase(id);
  } else {
    id_overlay_[id] = std::move(zone);
  }
}

void EdgeConfig::SetName(const std::string& key, const ZoneConfig* zone) {
  bool in_index = index_ != nullptr && index_->by_name.contains(key);
  if (zone == nullptr && !in_index) {
    name_overlay_.erase(key);
  } else {
    name_overlay_[key] = zone;
  }
}

void EdgeConfig::MaybeFold() {
  size_t index_size = index_ != nullptr ? index_->zones_by_id.size() : 0;
  if (overlay_size() <= std::max<size_t>(1024, index_size / 8)) {
    return;
  }
  auto index = std::make_shared<Index>();
  index->zones_by_id.reserve(zone_count_);
  index->by_name.reserve(zone_count_);
  if (index_ != nullptr) {
    for (const auto& [id, zone] : index_->zones_by_id) {
      if (!id_overlay_.contains(id)) {
        index->zones_by_id.emplace(id, zone);
      }
    }
    for (const auto& [name, zone] : index_->by_name) {
      if (!name_overlay_.contains(name)) {
        index->by_name.emplace(name, zone);
      }
    }
  }
  for (auto& [id, zone] : id_overlay_) {
    if (zone != nullptr) {
      index->zones_by_id.emplace(id, std::move(zone));
    }
  }
  for (const auto& [name, zone] : name_overlay_) {
    if (zone != nullptr) {
      index->by_name.emplace(name, zone);
    }
  }
  id_overlay_.clear();
  name_overlay_.clear();
  index_ = std::move(index);
}

std::optional<uint64_t> EdgeConfig::Insert(std::shared_ptr<const ZoneConfig> zone) {
  std::string key = IndexKey(zone->hostname);
  if (const ZoneConfig* owner = LookupName(key); owner != nullptr) {
    return owner->id;
  }
  SetName(key, zone.get());
  uint64_t id = zone->id;
  SetId(id, std::move(zone));
  return std::nullopt;
}

void EdgeConfig::Remove(uint64_t id) {
  const std::shared_ptr<const ZoneConfig>* zone = LookupId(id);
  if (zone == nullptr) {
    return;
  }
  std::string key = IndexKey((*zone)->hostname);
  if (LookupName(key) == zone->get()) {
    SetName(key, nullptr);
  }
  SetId(id, nullptr);
}

void EdgeConfig::Fail(uint64_t id, const std::string& hostname, std::string error) {
  ZoneFailure failure{id, hostname, std::move(error)};
  new_failures_.push_back(failure);
  failures_[id] = std::move(failure);
}

const ZoneFailure* EdgeConfig::FindFailure(uint64_t id) const {
  auto it = failures_.find(id);
  return it != failures_.end() ? &it->second : nullptr;
}

std::vector<ZoneFailure> EdgeConfig::Failures() const {
  std::vector<ZoneFailure> failures;
  failures.reserve(failures_.size());
  for (const auto& [id, failure] : failures_) {
    failures.push_back(failure);
  }
  std::sort(failures.begin(), failures.end(),
            [](const ZoneFailure& a, const ZoneFailure& b) { return a.zone_id < b.zone_id; });
  return failures;
}

namespace {

using Built = absl::StatusOr<std::shared_ptr<const ZoneConfig>>;

// BuildAll builds zones 0 to count - 1 with `build_one` (given the zone's
// index and a message of its thread to parse into, reused from zone to zone
// so that parsing allocates little), on as many threads as there are cores
// for a large snapshot (zones are independent; a cold start builds them
// all).
std::vector<Built> BuildAll(size_t count,
                            absl::FunctionRef<Built(size_t, v1::EdgeZone* scratch)> build_one) {
  std::vector<Built> built(count, absl::UnknownError("not built"));
  size_t threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  threads = std::min(threads, count / 512 + 1);
  std::atomic<size_t> next{0};
  auto work = [&] {
    constexpr size_t kBatch = 64;
    v1::EdgeZone scratch;
    for (size_t begin = next.fetch_add(kBatch); begin < count; begin = next.fetch_add(kBatch)) {
      for (size_t i = begin; i < std::min(count, begin + kBatch); ++i) {
        built[i] = build_one(i, &scratch);
      }
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) {
    helpers.emplace_back(work);
  }
  work();
  for (std::thread& helper : helpers) {
    helper.join();
  }
  return built;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::FromSnapshot(
    const v1::Snapshot& snapshot, const EdgeConfig* previous) {
  return Build(snapshot, nullptr, false, previous);
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::FromSnapshot(
    v1::Snapshot&& snapshot, const EdgeConfig* previous) {
  return Build(snapshot, &snapshot, false, previous);
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::FromSerializedSnapshot(
    std::string bytes, const EdgeConfig* previous) {
  std::optional<SerializedSnapshot> scanned = SerializedSnapshot::Scan(bytes);
  if (!scanned.has_value()) {
    return absl::DataLossError("not a readable Snapshot message");
  }
  const size_t count = scanned->zones.size();
  std::vector<uint64_t> ids(count, 0);
  std::atomic<bool> unreadable{false};
  std::vector<Built> built = BuildAll(count, [&](size_t i, v1::EdgeZone* scratch) -> Built {
    absl::string_view zone_bytes = scanned->zones[i];
    if (!scratch->ParseFromArray(zone_bytes.data(), static_cast<int>(zone_bytes.size()))) {
      unreadable.store(true);
      return absl::DataLossError("unreadable zone");
    }
    ids[i] = scratch->id();
    return BuildZoneConfig(*scratch, scratch, ZoneBuild::kReceived);
  });
  if (unreadable.load()) {
    return absl::DataLossError("not a readable Snapshot message");
  }
  RETURN_IF_ERROR(CheckEachIdOnce(ids));
  // Only a failed zone is read again, for the name its failure is logged with.
  auto failed_hostname = [&](size_t i) {
    v1::EdgeZone zone;
    zone.ParseFromArray(scanned->zones[i].data(), static_cast<int>(scanned->zones[i].size()));
    return zone.hostname();
  };
  return Assemble(scanned->version, built, ids, failed_hostname, previous);
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::Build(const v1::Snapshot& snapshot,
                                                                    v1::Snapshot* take,
                                                                    bool recorded,
                                                                    const EdgeConfig* previous) {
  std::vector<uint64_t> ids;
  ids.reserve(snapshot.zones_size());
  absl::flat_hash_set<uint64_t> seen;
  seen.reserve(snapshot.zones_size());
  for (const v1::EdgeZone& source : snapshot.zones()) {
    if (!seen.insert(source.id()).second) {
      // The message contradicts itself: which of the two is the zone?
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot lists zone id ", source.id(), " twice"));
    }
    ids.push_back(source.id());
  }
  ZoneBuild build = recorded ? ZoneBuild::kRecorded : ZoneBuild::kReceived;
  std::vector<Built> built = BuildAll(ids.size(), [&](size_t i, v1::EdgeZone*) {
    int index = static_cast<int>(i);
    return BuildZoneConfig(snapshot.zones(index),
                           take != nullptr ? take->mutable_zones(index) : nullptr, build);
  });
  return Assemble(
      snapshot.version(), built, ids,
      [&](size_t i) { return snapshot.zones(static_cast<int>(i)).hostname(); }, previous);
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::Assemble(
    uint64_t version, std::vector<Built>& built, const std::vector<uint64_t>& ids,
    absl::FunctionRef<std::string(size_t)> failed_hostname, const EdgeConfig* previous) {
  auto config = std::shared_ptr<EdgeConfig>(new EdgeConfig());
  config->version_ = version;
  // Built straight into the overlay, then folded into one index.
  config->id_overlay_.reserve(built.size());
  config->name_overlay_.reserve(built.size());
  // Fresh builds first, then the last good builds of zones that failed now:
  // a stale build never takes a name from a zone built as sent.
  std::vector<std::shared_ptr<const ZoneConfig>> kept;
  for (size_t i = 0; i < built.size(); ++i) {
    Built& zone = built[i];
    if (!zone.ok()) {
      config->Fail(ids[i], failed_hostname(i), std::string(zone.status().message()));
      const ZoneConfig* good = previous != nullptr ? previous->FindById(ids[i]) : nullptr;
      if (good != nullptr) {
        kept.push_back(*previous->LookupId(ids[i]));
      }
      continue;
    }
    if (std::optional<uint64_t> owner = config->Insert(*zone)) {
      config->Fail((*zone)->id, failed_hostname(i),
                   absl::StrCat("hostname is already served by zone ", *owner));
    }
  }
  for (auto& zone : kept) {
    config->Insert(std::move(zone));  // left out if its old name is taken now
  }
  config->MaybeFold();
  return std::shared_ptr<const EdgeConfig>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::FromStateFile(v1::Snapshot snapshot) {
  ASSIGN_OR_RETURN(std::shared_ptr<const EdgeConfig> built,
                   Build(snapshot, &snapshot, true, nullptr));
  return RestoreFailures(std::move(built), snapshot.zone_failures());
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::FromRecordedZones(
    RecordedZones& zones) {
  const size_t count = zones.order.size();
  std::vector<uint64_t> ids(count, 0);
  std::atomic<bool> unreadable{false};
  std::vector<Built> built = BuildAll(count, [&](size_t i, v1::EdgeZone* scratch) -> Built {
    auto [replayed, k] = zones.order[i];
    v1::EdgeZone* zone = replayed ? &zones.replayed[k] : scratch;
    if (!replayed && !scratch->ParseFromArray(zones.serialized[k].data(),
                                              static_cast<int>(zones.serialized[k].size()))) {
      unreadable.store(true);
      return absl::DataLossError("unreadable zone");
    }
    ids[i] = zone->id();
    return BuildZoneConfig(*zone, zone, ZoneBuild::kRecorded);
  });
  if (unreadable.load()) {
    return absl::DataLossError("a recorded zone is unreadable");
  }
  RETURN_IF_ERROR(CheckEachIdOnce(ids));
  auto failed_hostname = [&](size_t i) {
    auto [replayed, k] = zones.order[i];
    if (replayed) {
      return zones.replayed[k].hostname();
    }
    v1::EdgeZone zone;
    zone.ParseFromArray(zones.serialized[k].data(), static_cast<int>(zones.serialized[k].size()));
    return zone.hostname();
  };
  ASSIGN_OR_RETURN(std::shared_ptr<const EdgeConfig> config,
                   Assemble(zones.version, built, ids, failed_hostname, nullptr));
  return RestoreFailures(std::move(config), zones.failures);
}

std::shared_ptr<const EdgeConfig> EdgeConfig::RestoreFailures(
    std::shared_ptr<const EdgeConfig> built,
    const google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure>& failures) {
  if (failures.empty()) {
    return built;
  }
  auto config = std::make_shared<EdgeConfig>(*built);
  for (const v1::ZoneBuildFailure& failure : failures) {
    if (config->failures_.contains(failure.zone_id())) {
      continue;  // failed again on this start: that error is the current one
    }
    const ZoneConfig* zone = config->FindById(failure.zone_id());
    config->failures_[failure.zone_id()] =
        ZoneFailure{failure.zone_id(), zone != nullptr ? zone->hostname : "", failure.error()};
  }
  return config;
}

absl::StatusOr<std::shared_ptr<const EdgeConfig>> EdgeConfig::ApplyDelta(
    const v1::Delta& delta) const {
  if (delta.from_version() != version_) {
    return absl::FailedPreconditionError(absl::StrCat("delta from version ", delta.from_version(),
                                                      " does not apply to version ", version_));
  }
  absl::flat_hash_set<uint64_t> upserted_ids;
  for (const v1::EdgeZone& source : delta.upserted()) {
    if (!upserted_ids.insert(source.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("delta upserts zone id ", source.id(), " twice"));
    }
  }
  auto config = std::shared_ptr<EdgeConfig>(new EdgeConfig());
  config->version_ = delta.version();
  config->from_version_ = version_;
  // Unchanged zones are shared: the index is, and only this version's
  // overlay (bounded, see MaybeFold) is copied.
  config->index_ = index_;
  config->id_overlay_ = id_overlay_;
  config->name_overlay_ = name_overlay_;
  config->zone_count_ = zone_count_;
  config->failures_ = failures_;
  absl::flat_hash_set<uint64_t> touched;
  for (uint64_t id : delta.removed_zone_ids()) {
    touched.insert(id);
    config->Remove(id);
    config->failures_.erase(id);
  }
  // Build every changed zone first, then swap them in, so that zones trading
  // hostnames within one delta do not collide with their old selves.
  std::vector<std::shared_ptr<const ZoneConfig>> built;
  for (const v1::EdgeZone& source : delta.upserted()) {
    touched.insert(source.id());
    const std::shared_ptr<const ZoneConfig>* existing = config->LookupId(source.id());
    if (existing != nullptr && SameAsKept(**existing, source)) {
      // Unchanged (or back to its last good version): keep the built zone.
      config->failures_.erase(source.id());
      continue;
    }
    absl::StatusOr<std::shared_ptr<const ZoneConfig>> zone = BuildZone(source);
    if (!zone.ok()) {
      // The zone's previous build, if any, keeps serving.
      config->Fail(source.id(), source.hostname(), std::string(zone.status().message()));
      continue;
    }
    built.push_back(*std::move(zone));
  }
  std::vector<std::shared_ptr<const ZoneConfig>> replaced;
  for (const auto& zone : built) {
    if (const std::shared_ptr<const ZoneConfig>* old = config->LookupId(zone->id)) {
      replaced.push_back(*old);
    }
    config->Remove(zone->id);
  }
  for (auto& zone : built) {
    uint64_t id = zone->id;
    std::string hostname = zone->hostname;
    std::optional<uint64_t> owner = config->Insert(zone);
    if (owner.has_value() && config->failures_.contains(*owner)) {
      // The name is held by a stale build of a zone that failed since: the
      // zone built as sent wins.
      touched.insert(*owner);
      config->Remove(*owner);
      owner = config->Insert(zone);
    }
    if (owner.has_value()) {
      config->Fail(id, hostname, absl::StrCat("hostname is already served by zone ", *owner));
    } else {
      config->failures_.erase(id);
    }
  }
  // A zone refused for its name keeps its previous build where that is free.
  for (auto& zone : replaced) {
    if (config->failures_.contains(zone->id) && config->LookupId(zone->id) == nullptr) {
      config->Insert(std::move(zone));
    }
  }
  config->touched_ids_.assign(touched.begin(), touched.end());
  std::sort(config->touched_ids_.begin(), config->touched_ids_.end());
  config->MaybeFold();
  return std::shared_ptr<const EdgeConfig>(std::move(config));
}

const ZoneConfig* EdgeConfig::FindBySni(absl::string_view sni) const {
  // Never a key of the index itself (".x" or "*.x"), never an empty label.
  if (sni.empty() || sni.front() == '.' || absl::StrContains(sni, '*') ||
      absl::StrContains(sni, "..")) {
    return nullptr;
  }
  std::string name = absl::AsciiStrToLower(sni);
  if (const ZoneConfig* exact = LookupName(name)) {
    return exact;
  }
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) {
    return nullptr;
  }
  // `a.x` -> ".x": one label only, so `a.b.x` looks up ".b.x", never ".x".
  return LookupName(absl::string_view(name).substr(dot));
}

const ZoneConfig* EdgeConfig::FindById(uint64_t id) const {
  const std::shared_ptr<const ZoneConfig>* zone = LookupId(id);
  return zone != nullptr ? zone->get() : nullptr;
}

v1::Snapshot EdgeConfig::ToSnapshot() const {
  v1::Snapshot snapshot;
  snapshot.set_version(version_);
  std::vector<const ZoneConfig*> zones = Zones();
  std::sort(zones.begin(), zones.end(),
            [](const ZoneConfig* a, const ZoneConfig* b) { return a->id < b->id; });
  for (const ZoneConfig* zone : zones) {
    *snapshot.add_zones() = zone->source.Zone();
  }
  for (const ZoneFailure& failure : Failures()) {
    v1::ZoneBuildFailure* recorded = snapshot.add_zone_failures();
    recorded->set_zone_id(failure.zone_id);
    recorded->set_error(failure.error);
  }
  return snapshot;
}

std::vector<const ZoneConfig*> EdgeConfig::Zones() const {
  std::vector<const ZoneConfig*> zones;
  zones.reserve(zone_count_);
  if (index_ != nullptr) {
    for (const auto& [id, zone] : index_->zones_by_id) {
      if (!id_overlay_.contains(id)) {
        zones.push_back(zone.get());
      }
    }
  }
  for (const auto& [id, zone] : id_overlay_) {
    if (zone != nullptr) {
      zones.push_back(zone.get());
    }
  }
  return zones;
}

}  // namespace certgate::edge
