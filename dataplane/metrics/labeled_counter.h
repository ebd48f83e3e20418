#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace certgate::edge {

// LabeledCounter is a family of counters keyed by a label string, written by
// one thread (its worker) and read by any thread (the metrics scrape).
//
// The owner increments an existing key without any lock: only the owner ever
// mutates the map, so its own lookups cannot race with a mutation, and the
// values are atomics. A new key is inserted under the mutex, which the
// scraper also takes to iterate; so the per-request path locks only the
// first time a label combination appears on this worker.
class LabeledCounter {
 public:
  // Increment adds `delta` to `key`. Owner thread only.
  void Increment(absl::string_view key, uint64_t delta = 1);
  // Slot: the counter of `key` (created at 0), for an owner that counts the
  // same key often; it stays valid as long as this family (keys are never
  // removed). Owner thread only.
  std::atomic<uint64_t>* Slot(absl::string_view key);
  // ForEach calls `fn` with every key and its value. Any thread.
  void ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const;

 private:
  mutable absl::Mutex mu_;
  // Mutated only by the owner, under mu_; read by the owner without it.
  absl::node_hash_map<std::string, std::atomic<uint64_t>> values_;
};

// LabelKey joins label values into one key (unit separator between them);
// SplitLabelKey undoes it.
std::string LabelKey(absl::string_view a, absl::string_view b);
std::pair<std::string, std::string> SplitLabelKey(absl::string_view key);

}  // namespace certgate::edge
