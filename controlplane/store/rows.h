#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// Plain rows as stored; StoreTransaction reads and writes them.

struct TenantRow {
  std::string id;
  std::string name;
  int64_t created_unix = 0;
};

// TenantQuotaRow: the limits an admin set for one tenant; an unset one is
// the control plane's default.
struct TenantQuotaRow {
  std::optional<int64_t> max_zones;
  std::optional<int64_t> max_cas_per_zone;
  std::optional<int64_t> max_revocations_per_zone;
  std::optional<int64_t> max_config_bytes;
};

// TenantSettingsRow: a tenant's notification settings.
struct TenantSettingsRow {
  std::string webhook_url;       // empty: no webhook
  std::optional<int> warn_days;  // unset: the control plane's default
};

struct TokenRow {
  std::string id;
  std::string tenant_id;
  std::string hash;  // SHA-256 of the whole token, raw bytes
  int64_t created_unix = 0;
};

// ZoneState: pending zones wait for proof of control and never reach edges.
enum class ZoneState { kPending, kActive };

struct ZoneRow {
  int64_t id = 0;
  std::string tenant_id;
  std::string hostname;
  certgate::v1::Zone zone;     // everything a tenant may see
  std::string server_key_pem;  // only ever sent to edges
  // Key of zone.origin_client_certificate(); only ever sent to edges.
  std::string origin_client_key_pem;
  ZoneState state = ZoneState::kActive;
  std::string challenge_token;  // the DNS TXT value that proves control
  int64_t verified_unix = 0;    // when it became active (0: before verification existed)
  std::string verified_by;      // dns, admin, off, upgrade; empty while pending
};

struct EdgeRow {
  std::string node_id;
  uint64_t acked_version = 0;
  int64_t last_seen_unix = 0;
  uint64_t nacked_version = 0;
  std::string last_error;
  std::string software_version;
};

struct AuditRow {
  uint64_t config_version = 0;
  int64_t time_unix = 0;
  std::string actor;
  std::string action;
  std::string detail;
};

}  // namespace certgate::controlplane
