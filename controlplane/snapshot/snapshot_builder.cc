#include "controlplane/snapshot/snapshot_builder.h"

#include <optional>
#include <vector>

#include "common/status_macros.h"

namespace certgate::controlplane {

namespace v1 = certgate::v1;

v1::EdgeZone SnapshotBuilder::ToEdgeZone(const ZoneRow& row) {
  const v1::Zone& zone = row.zone;
  v1::EdgeZone edge;
  edge.set_id(static_cast<uint64_t>(row.id));
  edge.set_hostname(row.hostname);
  edge.set_mode(zone.mode());
  edge.set_origin(zone.origin());
  for (const v1::CaCertificate& root : zone.roots()) {
    edge.add_roots_der(root.der());
  }
  for (const v1::CaCertificate& intermediate : zone.intermediates()) {
    edge.add_intermediates_der(intermediate.der());
  }
  for (const v1::Revocation& revocation : zone.revocations()) {
    v1::RevokedSerial* revoked = edge.add_revoked();
    revoked->set_issuer_name_der(revocation.issuer_name_der());
    revoked->set_serial_hex(revocation.serial_hex());
  }
  *edge.mutable_error_response() = zone.error_response();
  *edge.mutable_header_mappings() = zone.header_mappings();
  *edge.mutable_status_header_names() = zone.status_header_names();
  edge.set_server_chain_pem(zone.server_certificate().chain_pem());
  edge.set_server_key_pem(row.server_key_pem);
  edge.set_trust_version(zone.trust_version());
  edge.set_send_ca_names(zone.send_ca_names());
  edge.set_http2_disabled(zone.http2_disabled());
  edge.set_tenant_id(row.tenant_id);
  edge.set_origin_ca_pem(zone.origin_ca_pem());
  edge.set_origin_server_name(zone.origin_server_name());
  edge.set_origin_client_chain_pem(zone.origin_client_certificate().chain_pem());
  edge.set_origin_client_key_pem(row.origin_client_key_pem);
  *edge.mutable_access_rules() = zone.access_rules();
  *edge.mutable_validation() = zone.validation();
  return edge;
}

absl::StatusOr<EdgeUpdate> SnapshotBuilder::Build(uint64_t from_version) {
  EdgeUpdate result;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t current, txn.ConfigVersion());
    ASSIGN_OR_RETURN(uint64_t floor, txn.DeltaFloor());
    if (from_version == current && from_version != 0) {
      return absl::OkStatus();
    }
    absl::MutexLock lock(&mu_);
    if (from_version == 0 || from_version < floor || from_version > current) {
      if (snapshot_ == nullptr || snapshot_->version() != current) {
        // Dropping the older version here frees it once no stream sends it.
        snapshot_ = nullptr;
        RETURN_IF_ERROR(RefreshPiecesLocked(txn, current, floor));
        ASSIGN_OR_RETURN(snapshot_,
                         SerializedSnapshot::FromPieces(
                             current, [&](const std::function<void(const absl::Cord&)>& add) {
                               for (const auto& [zone_id, piece] : pieces_) {
                                 add(piece);
                               }
                             }));
      }
      result.snapshot = snapshot_;
      return absl::OkStatus();
    }
    if (deltas_version_ != current) {
      deltas_.clear();
      deltas_version_ = current;
    }
    auto cached = deltas_.find(from_version);
    if (cached != deltas_.end()) {
      result.delta = cached->second;
      return absl::OkStatus();
    }
    auto message = std::make_shared<v1::ControlMessage>();
    v1::Delta* delta = message->mutable_delta();
    delta->set_from_version(from_version);
    delta->set_version(current);
    ASSIGN_OR_RETURN(std::vector<int64_t> changed, txn.ZonesChangedSince(from_version));
    for (int64_t zone_id : changed) {
      ASSIGN_OR_RETURN(std::optional<ZoneRow> row, txn.FindZoneById(zone_id));
      if (row.has_value() && row->state == ZoneState::kActive) {
        *delta->add_upserted() = ToEdgeZone(*row);
      } else {
        delta->add_removed_zone_ids(static_cast<uint64_t>(zone_id));
      }
    }
    deltas_[from_version] = message;
    result.delta = std::move(message);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status SnapshotBuilder::Refresh() {
  {
    absl::MutexLock lock(&mu_);
    if (pieces_version_ == 0) {
      return absl::OkStatus();  // loaded by the first snapshot, if any is ever needed
    }
  }
  return store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(uint64_t current, txn.ConfigVersion());
    ASSIGN_OR_RETURN(uint64_t floor, txn.DeltaFloor());
    absl::MutexLock lock(&mu_);
    if (pieces_version_ == 0 || pieces_version_ < floor) {
      return absl::OkStatus();  // left for the next snapshot rather than reloaded here
    }
    return RefreshPiecesLocked(txn, current, floor);
  });
}

absl::Status SnapshotBuilder::RefreshPiecesLocked(StoreTransaction& txn, uint64_t current,
                                                  uint64_t floor) {
  if (pieces_version_ == current && current != 0) {
    return absl::OkStatus();
  }
  if (pieces_version_ != 0 && pieces_version_ >= floor && pieces_version_ < current) {
    // Only the zones changed since: the same lists deltas are built from.
    ASSIGN_OR_RETURN(std::vector<int64_t> changed, txn.ZonesChangedSince(pieces_version_));
    for (int64_t zone_id : changed) {
      ASSIGN_OR_RETURN(std::optional<ZoneRow> row, txn.FindZoneById(zone_id));
      if (row.has_value() && row->state == ZoneState::kActive) {
        ASSIGN_OR_RETURN(pieces_[zone_id], SerializedSnapshot::ZonePiece(ToEdgeZone(*row)));
      } else {
        pieces_.erase(zone_id);
      }
    }
    pieces_version_ = current;
    return absl::OkStatus();
  }
  // Not loaded, or too far behind (or ahead of) the lists: every zone.
  pieces_.clear();
  pieces_version_ = 0;
  absl::Status pieced;
  RETURN_IF_ERROR(txn.ForEachActiveZone([&](ZoneRow&& row) {
    if (!pieced.ok()) {
      return;
    }
    absl::StatusOr<absl::Cord> piece = SerializedSnapshot::ZonePiece(ToEdgeZone(row));
    if (!piece.ok()) {
      pieced = piece.status();
      return;
    }
    pieces_.emplace(row.id, *std::move(piece));
  }));
  if (!pieced.ok()) {
    pieces_.clear();
    return pieced;
  }
  pieces_version_ = current;
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
