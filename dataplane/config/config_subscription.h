#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "certgate/v1/edge_config.pb.h"
#include "dataplane/config/config_slot.h"

namespace certgate::edge {

// 100,000 zones make a snapshot of about 190 MB: room for 2.5 times that.
inline constexpr int64_t kDefaultMaxConfigMessageBytes = int64_t{512} << 20;

struct ConfigSubscriptionOptions {
  std::string control_address;  // host:port, or several: A,B,C (ControlEndpoints)
  std::string token;            // edge token
  std::string node_id;
  std::string control_ca_file;  // PEM CA for TLS to the control plane
  bool insecure = false;        // plaintext (only with --insecure)
  std::string state_file;       // where every applied config is written (StateLog)
  std::string software_version;
  // Called every few seconds; its counts are sent as a TrafficReport.
  std::function<v1::TrafficReport()> traffic_source;
  int traffic_interval_ms = 5000;  // how often traffic_source is called
  // Called after each applied (true) or refused (false) config, and when
  // writing the state file fails (state_write_ok=false), for metrics and logs.
  std::function<void(uint64_t version, bool applied, bool state_write_ok, const std::string& error)>
      on_config_event;
  // Called with the bytes each state write took (for metrics).
  std::function<void(int64_t bytes)> on_state_written;
  // Called with the zones whose build failed while applying `version`
  // (before its Ack is sent), for metrics and logs; not called when none did.
  std::function<void(uint64_t version, const std::vector<ZoneFailure>& failures)> on_zone_failures;
  // Failures found after a version was applied: a zone whose TLS context
  // failed when first used (ZoneSslContextCache::Failures). Merged into every
  // Ack and Hello with the apply-time ones; when late_failure_generation
  // changes, the current version is acknowledged again with them (checked
  // every traffic_interval_ms) and on_zone_failures is called. Optional.
  std::function<std::vector<ZoneFailure>(const EdgeConfig&)> late_failures;
  std::function<uint64_t()> late_failure_generation;
  // Largest config message taken from the control plane (the gRPC channel's
  // receive limit, 1 to INT32_MAX): a bigger one is refused before it is
  // read, which ends the stream; it is logged and the held config keeps
  // serving. Also the largest snapshot assembled from chunks: a bigger
  // announced size is refused at its first chunk.
  int64_t max_message_bytes = kDefaultMaxConfigMessageBytes;
};

// ConfigSubscription keeps one Subscribe stream to the control plane open on
// its own thread: Hello with the version held, apply each Snapshot (whole or, once its last
// chunk arrived, assembled from SnapshotChunks) or Delta
// atomically (publish to the slot, then write the state file), answer Ack or
// Nack, and reconnect with capped exponential backoff when the stream breaks.
class ConfigSubscription {
 public:
  static absl::StatusOr<std::unique_ptr<ConfigSubscription>> Create(
      ConfigSubscriptionOptions options, ConfigSlot* slot);
  virtual ~ConfigSubscription() = default;
  // Start launches the thread; Stop ends it (cancels the stream) and joins.
  virtual void Start() = 0;
  virtual void Stop() = 0;
  // Connected: the stream is open now.
  virtual bool Connected() const = 0;
};

// LoadStateFile reads a config written by a previous run (StateLog::Load:
// the snapshot and its log); NOT_FOUND when there is none.
absl::StatusOr<std::shared_ptr<const EdgeConfig>> LoadStateFile(const std::string& path);

}  // namespace certgate::edge
