#include "common/zone_defaults.h"

namespace certgate {

v1::Mode ZoneDefaults::EffectiveMode(v1::Mode mode) {
  return mode == v1::MODE_UNSPECIFIED ? kMode : mode;
}

}  // namespace certgate
