#pragma once

#include "certgate/v1/common.pb.h"

namespace certgate {

// ZoneDefaults: what a zone gets for each setting its tenant never set. The
// control plane stores them when it creates a zone, the edge applies them to
// fields a config leaves empty, and the CLI shows them; none keeps a copy.
struct ZoneDefaults {
  static constexpr v1::Mode kMode = v1::MODE_ENFORCE;
  static constexpr char kStatusHeader[] = "X-Client-Cert-Status";
  static constexpr char kSkiHeader[] = "X-Client-Cert-Ski";
  static constexpr char kErrorHeader[] = "X-Client-Cert-Error";
  // The enforce-mode 403 response.
  static constexpr char kErrorContentType[] = "application/json";
  static constexpr char kErrorBody[] = R"({"error":"client certificate required"})";

  // EffectiveMode: the mode a zone runs in (MODE_UNSPECIFIED is kMode).
  static v1::Mode EffectiveMode(v1::Mode mode);
};

}  // namespace certgate
