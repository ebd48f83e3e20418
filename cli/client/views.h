#pragma once

#include <string>

#include "certgate/v1/admin.pb.h"
#include "certgate/v1/common.pb.h"
#include "certgate/v1/tenant.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace certgate::cli {

// Human-readable renderings of API messages. Pure: they only format.

// RenderZoneList: one row per zone.
std::string RenderZoneList(const certgate::v1::ListZonesResponse& response);
// RenderPendingZones: one row per pending claim (admin).
std::string RenderPendingZones(const certgate::v1::ListPendingZonesResponse& response);
// RenderOwnership: the zone's state and, while pending, how to prove control.
std::string RenderOwnership(const certgate::v1::Zone& zone);
// RenderZone: everything set for one zone.
std::string RenderZone(const certgate::v1::Zone& zone);
// RenderZoneFailures: the zones edges could not build, with why; "" if none.
std::string RenderZoneFailures(
    const google::protobuf::RepeatedPtrField<certgate::v1::ZoneBuildFailureStatus>& failures);
// RenderCaCertificates: id, subject, SKI, not after.
std::string RenderCaCertificates(
    const google::protobuf::RepeatedPtrField<certgate::v1::CaCertificate>& certificates);
// RenderRevocations: revocations, then uploaded CRLs.
std::string RenderRevocations(const certgate::v1::ListRevocationsResponse& response);
// RenderHeaderMappings: header name and selector.
std::string RenderHeaderMappings(const certgate::v1::Zone& zone);
// RenderStatusHeaderNames: the effective names (defaults filled in).
std::string RenderStatusHeaderNames(const certgate::v1::StatusHeaderNames& names);
// RenderStatus: config version, one row per edge, and the zone's traffic.
std::string RenderStatus(const certgate::v1::StatusResponse& response);
// RenderExpiring: one "warning: ..." line per certificate or CRL that
// expires within the window or has expired; "" if none.
std::string RenderExpiring(
    const google::protobuf::RepeatedPtrField<certgate::v1::ExpiringItem>& items);
// RenderTenants: one row per tenant.
std::string RenderTenants(const certgate::v1::ListTenantsResponse& response);
// RenderServerCertificate: the certificate edges present for a zone.
std::string RenderServerCertificate(const certgate::v1::ServerCertificateInfo& info);

}  // namespace certgate::cli
