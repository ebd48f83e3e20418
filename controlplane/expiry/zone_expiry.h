#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "certgate/v1/common.pb.h"

namespace certgate::controlplane {

// ZoneExpiry is one dated item of a zone: a root, an intermediate, the server
// certificate, the origin client certificate or a CRL's nextUpdate. The dates
// were read once, when the item was uploaded or issued (CaCertificate,
// ServerCertificateInfo and Crl carry them), so listing costs no parsing.
struct ZoneExpiry {
  std::string kind;     // root, intermediate, server_certificate, origin_client_certificate, crl
  std::string subject;  // the certificate's subject, or the CRL's issuer
  std::string id;       // the item's id in its list; empty for the zone's own certificates
  int64_t expires_unix = 0;
};

// ZoneExpiries lists every dated item of `zone`; items without a date (no
// server certificate yet, a CRL with no nextUpdate) are left out.
std::vector<ZoneExpiry> ZoneExpiries(const certgate::v1::Zone& zone);

// ExpiringItems: the zone's items that expire before `now + warn_days` days,
// expired ones included, soonest first.
std::vector<certgate::v1::ExpiringItem> ExpiringItems(const certgate::v1::Zone& zone,
                                                      absl::Time now, int warn_days);

// SortExpiring orders items soonest first (ties by hostname, kind, id) so a
// list merged from several zones reads the same way every time.
void SortExpiring(std::vector<certgate::v1::ExpiringItem>& items);

// ExpiryEventKey names one item's crossing of one threshold (`warn` or
// `expired`): a webhook event is sent once per key. A replaced certificate
// has another date, hence another key.
std::string ExpiryEventKey(const certgate::v1::ExpiringItem& item);

}  // namespace certgate::controlplane
