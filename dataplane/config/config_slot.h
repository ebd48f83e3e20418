#pragma once

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
    std::atomic_store(&current_, std::move(config));
  }

 private:
  std::shared_ptr<const EdgeConfig> current_;
};

}  // namespace certgate::edge
