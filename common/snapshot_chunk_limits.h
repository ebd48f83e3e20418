#pragma once

#include <cstdint>

namespace certgate {

// The most data one SnapshotChunk carries: the control plane never sends
// more (its --snapshot-chunk-bytes is capped here) and the edge refuses a
// chunk above it, so no config message grows with the number of zones.
inline constexpr int64_t kMaxSnapshotChunkBytes = int64_t{4} << 20;

}  // namespace certgate
