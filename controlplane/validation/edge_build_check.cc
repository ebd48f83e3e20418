#include "controlplane/validation/edge_build_check.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "controlplane/snapshot/snapshot_builder.h"
#include "dataplane/config/edge_config.h"

namespace certgate::controlplane {

absl::Status CheckEdgeCanBuild(const ZoneRow& row) {
  absl::StatusOr<std::shared_ptr<const edge::ZoneConfig>> built =
      edge::BuildZone(SnapshotBuilder::ToEdgeZone(row));
  if (!built.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zone ", row.hostname, ": edges cannot serve it: ", built.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
