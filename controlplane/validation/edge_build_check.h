#pragma once

#include "absl/status/status.h"
#include "controlplane/store/rows.h"

namespace certgate::controlplane {

// CheckEdgeCanBuild runs the edge's own zone building (edge::BuildZone, the
// function every certgate-edge runs on what it receives) on the EdgeZone the
// snapshot builder would send for `row`: server chain and key, roots,
// intermediates, revocations, origin, header mappings. A zone an edge could
// not build is refused here, before it is stored, with INVALID_ARGUMENT
// naming the zone and what is wrong.
absl::Status CheckEdgeCanBuild(const ZoneRow& row);

}  // namespace certgate::controlplane
