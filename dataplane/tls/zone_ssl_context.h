#pragma once

#include "absl/status/statusor.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"

namespace certgate::edge {

class ZoneTrust;

// NewZoneSslContext builds a zone's SSL_CTX: its server chain and key, TLS
// 1.2 and 1.3, the root names in the CertificateRequest only when the zone
// asks (capped), and the session id context bound to the zone and its trust
// version. Whether a client certificate is requested is set per SSL by the
// handshake layer (TlsServer), which switches each SSL to this context.
absl::StatusOr<bssl::UniquePtr<SSL_CTX>> NewZoneSslContext(const v1::EdgeZone& zone,
                                                           const ZoneTrust& trust);

// CheckZoneServerIdentity is the apply-time part of NewZoneSslContext,
// without making an SSL_CTX: the chain and key parse, the key is of a type
// TLS can sign with, and it belongs to the leaf. Same messages as
// NewZoneSslContext for the same faults.
absl::Status CheckZoneServerIdentity(const v1::EdgeZone& zone);

}  // namespace certgate::edge
