#pragma once

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.pb.h"
#include "controlplane/snapshot/serialized_snapshot.h"
#include "controlplane/store/sqlite_store.h"

namespace certgate::controlplane {

// EdgeUpdate: what brings one edge to the current version; both null when
// it is current.
struct EdgeUpdate {
  // A Delta, whole (deltas follow the size of the change).
  std::shared_ptr<const certgate::v1::ControlMessage> delta;
  // Or the whole config, sent in chunks.
  std::shared_ptr<const SerializedSnapshot> snapshot;
};

// SnapshotBuilder turns the store into what an edge needs. A delta loads only
// the zones changed since the edge's version, so its cost follows the size of
// the change, not the number of zones. Built messages are immutable and
// shared between edges at the same version: the snapshot of the current
// version is serialised once and kept until a newer version replaces it (a
// stream still sending the older one holds it until its last chunk).
// Each active zone's serialised piece is kept too, and brought up to date
// from the changed-zone lists, so a new version's snapshot is the pieces
// concatenated (shared, not copied) rather than every zone read from the
// store and serialised again (seconds at 100,000 zones).
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(SqliteStore* store) : store_(store) {}

  // Build returns what brings an edge holding `from_version` to the current
  // version: a Snapshot when it holds nothing (0), is further behind than
  // the change history or ahead of the store; else a Delta. Neither when the
  // edge is current.
  absl::StatusOr<EdgeUpdate> Build(uint64_t from_version);

  // Refresh brings the kept zone pieces, once a snapshot has loaded them, to
  // the current version (O(change)), so the next snapshot needs no read of
  // every zone however many changes come first. The pusher calls it after
  // commits.
  absl::Status Refresh();

  // ToEdgeZone: everything an edge needs for one zone, key included.
  static certgate::v1::EdgeZone ToEdgeZone(const ZoneRow& row);

 private:
  // RefreshPiecesLocked: see Refresh; `floor` is the oldest version the
  // changed-zone lists reach back to.
  absl::Status RefreshPiecesLocked(StoreTransaction& txn, uint64_t current, uint64_t floor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SqliteStore* store_;
  absl::Mutex mu_;
  // Every active zone's piece (SerializedSnapshot::ZonePiece) by zone id,
  // as of pieces_version_ (0: not loaded).
  absl::btree_map<int64_t, absl::Cord> pieces_ ABSL_GUARDED_BY(mu_);
  uint64_t pieces_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const SerializedSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  uint64_t deltas_version_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, std::shared_ptr<const certgate::v1::ControlMessage>> deltas_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace certgate::controlplane
