#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"

namespace certgate::edge {

// SerializedSnapshot: where the parts of a serialised v1::Snapshot are in
// its bytes, found without parsing it (its zones are then parsed one at a
// time, so the whole parsed message never exists). The views point into the
// scanned bytes.
struct SerializedSnapshot {
  uint64_t version = 0;
  uint64_t state_log_id = 0;
  std::vector<absl::string_view> zones;     // each a serialised EdgeZone
  std::vector<absl::string_view> failures;  // each a serialised ZoneBuildFailure

  // Scan: nullopt when `bytes` are not a Snapshot's wire format.
  static std::optional<SerializedSnapshot> Scan(absl::string_view bytes);
  // ZoneId: the id of a serialised EdgeZone, without parsing the rest;
  // nullopt when it cannot be read.
  static std::optional<uint64_t> ZoneId(absl::string_view zone);
};

}  // namespace certgate::edge
