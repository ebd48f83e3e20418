#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace certgate::edge {

// SessionBinding ties TLS sessions to one zone, one trust version of that
// zone and its mode: the session id context and the ticket keys are both
// derived from (zone id, trust version, mode), so a session made for one
// hostname never resumes on another, and a trust change (root removed,
// serial revoked) or a mode change (a session of mode off carries no client
// certificate) ends resumption of every older session of that zone only.
class SessionBinding {
 public:
  static constexpr size_t kSessionIdContextLength = 32;
  struct TicketKeys {
    std::array<uint8_t, 16> name;
    std::array<uint8_t, 16> aes_key;
    std::array<uint8_t, 32> hmac_key;
  };

  // SessionIdContext: SHA-256 of the zone id, trust version and mode.
  static std::array<uint8_t, kSessionIdContextLength> SessionIdContext(uint64_t zone_id,
                                                                       uint64_t trust_version,
                                                                       int mode);

  // TicketKeysFor derives the zone's ticket keys from a random secret made
  // once per process, so tickets never outlive the process that issued them.
  static TicketKeys TicketKeysFor(uint64_t zone_id, uint64_t trust_version, int mode);
};

}  // namespace certgate::edge
