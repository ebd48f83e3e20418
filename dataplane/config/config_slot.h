#pragma once

#include <atomic>
#include <memory>

#include "dataplane/config/edge_config.h"

namespace certgate::edge {

// ConfigSlot holds the current config. Workers read it without a lock (an
// atomic shared_ptr load) at the start of each handshake and keep that
// pointer for the connection's life, so a swap never disturbs work in flight.
class ConfigSlot {
 public:
  // Get returns the current config (null before the first one).
  std::shared_ptr<const EdgeConfig> Get() const { return std::atomic_load(&current_); }
  void Publish(std::shared_ptr<const EdgeConfig> config) {
    const EdgeConfig* raw = config.get();
    std::atomic_store(&current_, std::move(config));
    current_raw_.store(raw, std::memory_order_release);
  }
  // Peek returns the current config's address without taking a reference:
  // a lock-free "has it changed" test for a holder of a config (which, held,
  // cannot be freed and its address reused). Never dereference it.
  const EdgeConfig* Peek() const { return current_raw_.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<const EdgeConfig> current_;
  std::atomic<const EdgeConfig*> current_raw_{nullptr};
};

}  // namespace certgate::edge
