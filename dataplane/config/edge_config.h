#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/edge_config.pb.h"
#include "dataplane/config/zone_source.h"
#include "dataplane/tls/session_binding.h"
#include "openssl/base.h"

namespace certgate::edge {

class AccessPolicy;      // dataplane/config/access_policy.h: rules, compiled
class OriginTlsContext;  // dataplane/tls/origin_tls_context.h: TLS to an https origin
class ZoneTrust;         // dataplane/tls/zone_trust.h: roots, intermediates, revocations

// OriginUrl is a zone's parsed origin.
struct OriginUrl {
  bool tls = false;  // https
  // h2c://: cleartext HTTP/2 with prior knowledge (gRPC servers behind a
  // proxy usually listen so). An https origin speaks HTTP/2 when it picks
  // h2 by ALPN.
  bool h2c = false;
  std::string host;
  uint16_t port = 80;
};

struct HeaderMappingRule {
  std::string header;    // as configured (case kept)
  std::string selector;  // validated by the control plane; revalidated on apply
};

// ZoneConfig is everything the edge needs for one hostname. Immutable once
// built; shared between EdgeConfig versions while the zone is unchanged.
struct ZoneConfig {
  uint64_t id = 0;
  std::string hostname;  // lowercase; `*.x` for wildcards
  std::string tenant_id;
  v1::Mode mode = v1::MODE_ENFORCE;
  OriginUrl origin;
  // The 403 page and the status header names: empty for ZoneDefaults'
  // (not held by every zone), else as configured.
  std::string error_content_type;  // empty with a body: the default type
  std::string error_body;
  std::vector<HeaderMappingRule> header_mappings;
  std::string status_header;  // empty: X-Client-Cert-Status
  std::string ski_header;     // X-Client-Cert-Ski
  std::string error_header;   // X-Client-Cert-Error
  uint64_t trust_version = 0;
  bool send_ca_names = false;
  // ALPN offers h2 to this zone's clients (else http/1.1 only).
  bool http2 = true;
  std::shared_ptr<const ZoneTrust> trust;
  // Identifies this build of the zone (unique in the process): the TLS
  // server's context cache (ZoneSslContextCache) builds the zone's SSL_CTX
  // from `source` when its name is first seen in SNI and keys it by this,
  // so a changed zone never uses the old build's context. BuildZone checks
  // the server chain and key without building one.
  uint64_t build_serial = 0;
  // Derived once here rather than per ticket issued or presented.
  SessionBinding::TicketKeys ticket_keys;
  // https origins only: verification, SNI, client certificate and session
  // cache towards the origin, built once per zone version.
  std::shared_ptr<const OriginTlsContext> origin_tls;
  // The key of this zone's pooled origin connections, made once here rather
  // than per request. It always holds the zone id: no connection is shared
  // between zones.
  std::string origin_pool_key;
  // Access rules and validation settings, compiled once per build; never
  // null for a built zone.
  std::shared_ptr<const AccessPolicy> access;
  // RequestsCertificate: mode enforce or report, or a rule needing a
  // certificate (then a zone in mode off asks for one too).
  bool RequestsCertificate() const;
  // RuleId: the id of access rule `rule` (RuleVerdict::rule), for metrics.
  absl::string_view RuleId(int rule) const;
  // The zone as received, for the state file, deltas and the zone's SSL_CTX,
  // less what the edge never uses (an http origin's TLS settings); kept
  // compact, source.Zone() gives the proto.
  ZoneSource source;
};

// BuildZone turns one EdgeZone into what the edge serves: origin, header
// rules, trust store, and the server chain and key checked (they parse, the
// key can sign TLS and belongs to the leaf; the SSL_CTX is made on first
// use). The control
// plane runs this same function on every change before committing it, so
// that it refuses what an edge could not build. INVALID_ARGUMENT (or the
// most specific code) with a one-line message about this zone's own content
// only; it does not start with the hostname: callers add that where safe.
absl::StatusOr<std::shared_ptr<const ZoneConfig>> BuildZone(const v1::EdgeZone& source);

// ZoneFailure: a zone of the current version the edge does not serve as
// sent, because its latest version failed to build.
struct ZoneFailure {
  uint64_t zone_id = 0;
  std::string hostname;  // as sent, for the edge's own log
  std::string error;     // BuildZone's message (no hostname)
};

// EdgeConfig is one immutable config version: every zone, indexed by SNI.
// A zone that fails to build breaks only itself: it keeps its previous good
// build (or is left out if it never had one) and is listed in failures();
// every other zone applies.
class EdgeConfig {
 public:
  // FromSnapshot builds every zone. A zone that fails to build is listed in
  // failures() and served from `previous` (the config held before, may be
  // null) if it had a good build there. Refused whole (INVALID_ARGUMENT)
  // only when the message itself is unusable: a zone id twice.
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> FromSnapshot(
      const v1::Snapshot& snapshot, const EdgeConfig* previous = nullptr);
  // The same, the built zones made from `snapshot` without copying it (it
  // is left as it was, for the caller to free whole).
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> FromSnapshot(
      v1::Snapshot&& snapshot, const EdgeConfig* previous = nullptr);

  // FromSerializedSnapshot: FromSnapshot of a serialised Snapshot, each zone
  // parsed and built in turn, so the whole parsed message never exists:
  // memory is the bytes and the built zones (the bytes are freed on
  // return). DATA_LOSS when `bytes` is not a readable Snapshot.
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> FromSerializedSnapshot(
      std::string bytes, const EdgeConfig* previous = nullptr);

  // FromStateFile: FromSnapshot of what ToSnapshot wrote, with the failures
  // recorded in it restored, so a restarted edge serves and reports exactly
  // what it did before. Only zones that built are recorded, so their server
  // chain and key are not checked again (their SSL_CTX, made at first use,
  // still is; a failure there is reported like a failed build).
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> FromStateFile(v1::Snapshot snapshot);

  // RecordedZones: an edge's state as StateLog::Load found it: the zones of
  // its state file (serialised, views into the file's bytes) and those its
  // log replaced or added (parsed), in the order they are built, and the
  // failures recorded.
  struct RecordedZones {
    uint64_t version = 0;
    std::vector<absl::string_view> serialized;
    std::vector<v1::EdgeZone> replayed;
    // (from the log?, index into `replayed` or `serialized`), each once.
    std::vector<std::pair<bool, size_t>> order;
    google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure> failures;
  };
  // FromRecordedZones: what FromStateFile makes of the same zones, each
  // parsed in turn from its bytes (the file is never parsed whole). Zones of
  // `zones.replayed` are used in place. DATA_LOSS when a zone is unreadable.
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> FromRecordedZones(RecordedZones& zones);

  // ApplyDelta returns a new config: this one with `delta` applied. Unchanged
  // zones are shared, so the cost grows with the delta, not the zone count.
  // A zone that fails to build keeps its build from this config (or stays
  // out) and is listed in failures(). FAILED_PRECONDITION when
  // delta.from_version() != version(); INVALID_ARGUMENT when a zone id is
  // upserted twice.
  absl::StatusOr<std::shared_ptr<const EdgeConfig>> ApplyDelta(const v1::Delta& delta) const;

  uint64_t version() const { return version_; }
  size_t zone_count() const { return zone_count_; }

  // Failures: every zone whose latest version is not served, by zone id.
  std::vector<ZoneFailure> Failures() const;
  size_t failure_count() const { return failures_.size(); }
  // FindFailure: the zone's failure, null when its latest version serves.
  const ZoneFailure* FindFailure(uint64_t id) const;
  // new_failures: the zones whose build failed while making this version
  // (each build attempt counts; failures carried over from before do not).
  const std::vector<ZoneFailure>& new_failures() const { return new_failures_; }

  // FindBySni: exact hostname first, then the one-level wildcard (`*.x` for
  // `a.x`, never for `a.b.x`). `sni` is matched case-insensitively.
  // Returns null when no zone matches.
  const ZoneConfig* FindBySni(absl::string_view sni) const;

  // FindById: null when absent.
  const ZoneConfig* FindById(uint64_t id) const;

  // ToSnapshot re-creates the snapshot this config holds (for the state file).
  v1::Snapshot ToSnapshot() const;

  // Zones in no particular order.
  std::vector<const ZoneConfig*> Zones() const;

  // touched_ids: the zones whose served build may differ from the version
  // this one was made from by ApplyDelta (every upserted and removed id, and
  // any zone displaced from its name); empty for FromSnapshot. The state log
  // records only these.
  const std::vector<uint64_t>& touched_ids() const { return touched_ids_; }
  // from_version: the version ApplyDelta made this one from (nullopt when
  // made from a snapshot or a state file).
  std::optional<uint64_t> from_version() const { return from_version_; }

  // overlay_size: entries this version holds over its shared index (for
  // tests and the benchmark: it stays small, then folds back into the index).
  size_t overlay_size() const { return id_overlay_.size() + name_overlay_.size(); }

 private:
  // Index: the zones of some version, shared read-only by every later version
  // made by ApplyDelta, which records its changes in a small overlay instead
  // of copying the index; when the overlay grows past a fraction of the
  // index, a new index is made (amortised O(1) per changed zone).
  struct Index {
    absl::flat_hash_map<uint64_t, std::shared_ptr<const ZoneConfig>> zones_by_id;
    // Exact names as is; wildcards `*.x` stored under ".x" (as Envoy does).
    absl::flat_hash_map<std::string, const ZoneConfig*> by_name;
  };

  uint64_t version_ = 0;
  std::shared_ptr<const Index> index_;
  // Changes over index_: a null entry is a removal.
  absl::flat_hash_map<uint64_t, std::shared_ptr<const ZoneConfig>> id_overlay_;
  absl::flat_hash_map<std::string, const ZoneConfig*> name_overlay_;
  size_t zone_count_ = 0;
  absl::flat_hash_map<uint64_t, ZoneFailure> failures_;
  std::vector<ZoneFailure> new_failures_;
  std::vector<uint64_t> touched_ids_;
  std::optional<uint64_t> from_version_;

  // Build: FromSnapshot and FromStateFile (`recorded`); the zones' sources
  // are made from `take` in place (`snapshot` itself, or null to copy).
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> Build(const v1::Snapshot& snapshot,
                                                                 v1::Snapshot* take, bool recorded,
                                                                 const EdgeConfig* previous);

  // Assemble indexes the zones built for `version` (`ids`: every zone's id,
  // in the same order; `failed_hostname`: the name of zone i as sent).
  static absl::StatusOr<std::shared_ptr<const EdgeConfig>> Assemble(
      uint64_t version, std::vector<absl::StatusOr<std::shared_ptr<const ZoneConfig>>>& built,
      const std::vector<uint64_t>& ids, absl::FunctionRef<std::string(size_t)> failed_hostname,
      const EdgeConfig* previous);

  // RestoreFailures: `built` with the failures recorded in a state file that
  // did not fail again on this start.
  static std::shared_ptr<const EdgeConfig> RestoreFailures(
      std::shared_ptr<const EdgeConfig> built,
      const google::protobuf::RepeatedPtrField<v1::ZoneBuildFailure>& failures);

  const std::shared_ptr<const ZoneConfig>* LookupId(uint64_t id) const;
  const ZoneConfig* LookupName(absl::string_view key) const;
  void SetId(uint64_t id, std::shared_ptr<const ZoneConfig> zone);
  void SetName(const std::string& key, const ZoneConfig* zone);
  // Fold merges the overlay into a new index when it has grown large.
  void MaybeFold();

  // Insert indexes `zone` unless another zone already serves its name; then
  // it returns the id of that zone.
  std::optional<uint64_t> Insert(std::shared_ptr<const ZoneConfig> zone);
  void Remove(uint64_t id);
  void Fail(uint64_t id, const std::string& hostname, std::string error);
};

}  // namespace certgate::edge
