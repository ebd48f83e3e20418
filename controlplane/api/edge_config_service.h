#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "controlplane/api/auth.h"
#include "controlplane/snapshot/fleet_status.h"
#include "controlplane/snapshot/snapshot_builder.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

class EdgeStream;

// EdgeConfigServiceImpl serves the edge config stream. Each edge gets one
// EdgeStream reactor; a pusher thread sends every stream whatever it lacks,
// never more than one message in flight per stream, so a slow edge gets its
// changes coalesced into one delta when its previous write completes. A
// snapshot goes out as chunks of the version's one shared serialisation
// (SerializedSnapshot), each at most `chunk_bytes`.
class EdgeConfigServiceImpl final : public certgate::v1::EdgeConfigService::CallbackService {
 public:
  EdgeConfigServiceImpl(const Authenticator* auth, SqliteStore* store, SnapshotBuilder* builder,
                        FleetStatus* fleet, uint64_t current_version,
                        int64_t chunk_bytes = kDefaultSnapshotChunkBytes,
                        bool trace_changes = false);
  ~EdgeConfigServiceImpl() override;

  grpc::ServerBidiReactor<certgate::v1::EdgeMessage, certgate::v1::ControlMessage>* Subscribe(
      grpc::CallbackServerContext* context) override;

  // OnCommit: a new config version exists (called by the store).
  void OnCommit(uint64_t version);
  // CloseAllStreams ends every open edge stream with UNAVAILABLE, so the
  // server can shut down without waiting for edges to hang up; edges
  // reconnect to another control plane or retry.
  void CloseAllStreams();
  // Stop ends the pusher thread (after the server has shut down).
  void Stop();

 private:
  friend class EdgeStream;

  struct StreamState {
    std::string node_id;
    bool hello_done = false;
    uint64_t edge_version = 0;  // what the edge holds, or will once the write lands
    bool in_flight = false;
    bool closing = false;
    bool finished = false;
    absl::Status finish_status;
  };

  // Called by EdgeStream.
  void Register(EdgeStream* stream);
  // Closing: the stream is ending (its snapshot stops between chunks).
  bool Closing(EdgeStream* stream);
  absl::Status HandleMessage(EdgeStream* stream, const certgate::v1::EdgeMessage& message);
  void CloseStream(EdgeStream* stream, absl::Status status);
  void WriteDone(EdgeStream* stream, bool ok);
  void Unregister(EdgeStream* stream);
  // MaybeFinishLocked: true when the caller must Finish the stream now.
  bool MaybeFinishLocked(StreamState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void PushLoop();

  // ChangeTrace (--trace-changes): how one config version reached the
  // fleet, from the commit's announcement; logged once every stream sent it
  // has acknowledged it, or when the next version replaces it.
  struct ChangeTrace {
    uint64_t version = 0;
    absl::Time committed;
    absl::Duration built, handed, written, acked;
    bool handing_done = false;
    size_t streams = 0;
    size_t writes_done = 0;
    size_t acks = 0;
    bool reported = false;
  };
  void ReportTraceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Authenticator* auth_;
  SqliteStore* store_;
  SnapshotBuilder* builder_;
  FleetStatus* fleet_;
  const size_t chunk_bytes_;

  absl::Mutex mu_;
  absl::flat_hash_map<EdgeStream*, StreamState> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t current_version_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  const bool trace_changes_;
  ChangeTrace trace_ ABSL_GUARDED_BY(mu_);
  std::thread pusher_;
};

}  // namespace certgate::controlplane
