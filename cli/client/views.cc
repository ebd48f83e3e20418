#include "cli/client/views.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/client/format.h"
#include "cli/client/table.h"
#include "common/zone_defaults.h"

namespace certgate::cli {

namespace {

std::string OrDefault(const std::string& value, absl::string_view fallback) {
  return value.empty() ? std::string(fallback) : value;
}

std::string OrDash(const std::string& value) { return value.empty() ? "-" : value; }

// CountSubstrings: how many times `needle` occurs in `text`.
size_t CountSubstrings(absl::string_view text, absl::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// DescribeCertificate: "subject (issued by edge CA|uploaded, not after T)".
std::string DescribeCertificate(const certgate::v1::ServerCertificateInfo& info) {
  return absl::StrCat(OrDash(info.subject()), " (",
                      info.issued_by_edge_ca() ? "issued by edge CA" : "uploaded", ", not after ",
                      FormatUtc(info.not_after_unix()), ")");
}

std::string StateName(certgate::v1::ZoneState state) {
  switch (state) {
    case certgate::v1::ZONE_STATE_PENDING:
      return "pending";
    case certgate::v1::ZONE_STATE_ACTIVE:
      return "active";
    default:
      return "-";
  }
}

}  // namespace

std::string RenderPendingZones(const certgate::v1::ListPendingZonesResponse& response) {
  if (response.zones().empty()) {
    return "No pending zones.\n";
  }
  Table table({"HOSTNAME", "TENANT", "TENANT ID", "CREATED"});
  for (const auto& zone : response.zones()) {
    table.AddRow({zone.hostname(), OrDash(zone.tenant_name()), zone.tenant_id(),
                  FormatUtc(zone.created_unix())});
  }
  return table.Render();
}

std::string RenderOwnership(const certgate::v1::Zone& zone) {
  if (zone.state() != certgate::v1::ZONE_STATE_PENDING) {
    return "";
  }
  if (zone.challenge().record_name().empty()) {
    return absl::StrCat("Zone ", zone.hostname(),
                        " is pending: edges serve it once an admin approves it.\n");
  }
  return absl::StrCat("Zone ", zone.hostname(),
                      " is pending: edges serve it once DNS proves you control the name.\n"
                      "Add this TXT record, then run: certgate zone verify ",
                      zone.hostname(), "\n",
                      FormatFields({{"Record name", zone.challenge().record_name()},
                                    {"Record type", zone.challenge().record_type()},
                                    {"Value", zone.challenge().value()}}));
}

std::string RenderZoneList(const certgate::v1::ListZonesResponse& response) {
  if (response.zones().empty()) {
    return "No zones.\n";
  }
  Table table({"HOSTNAME", "STATE", "MODE", "ORIGIN", "ROOTS", "SERVER CERT", "CREATED"});
  for (const auto& zone : response.zones()) {
    table.AddRow({zone.hostname(), StateName(zone.state()), ModeName(zone.mode()), zone.origin(),
                  absl::StrCat(zone.roots_size()),
                  zone.state() == certgate::v1::ZONE_STATE_PENDING &&
                          zone.server_certificate().chain_pem().empty()
                      ? "-"
                  : zone.server_certificate().issued_by_edge_ca() ? "edge CA"
                                                                  : "uploaded",
                  FormatUtc(zone.created_unix())});
  }
  return table.Render();
}

std::string RenderServerCertificate(const certgate::v1::ServerCertificateInfo& info) {
  return FormatFields({
      {"Subject", OrDash(info.subject())},
      {"DNS names", OrDash(absl::StrJoin(info.dns_names(), ", "))},
      {"Issued by", info.issued_by_edge_ca() ? "edge CA" : "uploaded by tenant"},
      {"Not after", FormatUtc(info.not_after_unix())},
  });
}

std::string RenderZone(const certgate::v1::Zone& zone) {
  const auto& names = zone.status_header_names();
  std::string error_page = zone.error_response().content_type().empty()
                               ? "default"
                               : absl::StrCat(zone.error_response().content_type(), ", ",
                                              zone.error_response().body().size(), " bytes");
  std::string out = FormatFields({
      {"Hostname", zone.hostname()},
      {"State", zone.state() == certgate::v1::ZONE_STATE_ACTIVE && !zone.verified_by().empty()
                    ? absl::StrCat("active (", zone.verified_by(), ")")
                    : StateName(zone.state())},
      {"Mode", ModeName(zone.mode())},
      {"Origin", zone.origin()},
      {"Send CA names", YesNo(zone.send_ca_names())},
      {"Trust version", absl::StrCat(zone.trust_version())},
      {"Created", FormatUtc(zone.created_unix())},
      {"Server cert",
       zone.state() == certgate::v1::ZONE_STATE_PENDING &&
               zone.server_certificate().chain_pem().empty()
           ? std::string("none yet (the edge CA issues one when the zone becomes active)")
           : DescribeCertificate(zone.server_certificate())},
      {"Origin CA",
       zone.origin_ca_pem().empty()
           ? "system trust store"
           : absl::StrCat("uploaded (", CountSubstrings(zone.origin_ca_pem(), "BEGIN CERTIFICATE"),
                          " certificates)")},
      {"Origin SNI", OrDefault(zone.origin_server_name(), "origin host")},
      {"Origin cert", zone.origin_client_certificate().chain_pem().empty()
                          ? "-"
                          : DescribeCertificate(zone.origin_client_certificate())},
      {"Error page", error_page},
      {"Status header", OrDefault(names.status(), ZoneDefaults::kStatusHeader)},
      {"SKI header", OrDefault(names.ski(), ZoneDefaults::kSkiHeader)},
      {"Error header", OrDefault(names.error(), ZoneDefaults::kErrorHeader)},
      {"Revocations", absl::StrCat(zone.revocations_size(), " (", zone.crls_size(), " CRLs)")},
  });
  if (zone.state() == certgate::v1::ZONE_STATE_PENDING) {
    absl::StrAppend(&out, "\n", RenderOwnership(zone));
  }
  absl::StrAppend(&out, "\nRoots:\n");
  absl::StrAppend(&out, zone.roots().empty() ? "  none\n" : RenderCaCertificates(zone.roots()));
  if (!zone.intermediates().empty()) {
    absl::StrAppend(&out, "\nIntermediates:\n", RenderCaCertificates(zone.intermediates()));
  }
  absl::StrAppend(&out, "\nHeader mappings:\n");
  absl::StrAppend(&out, zone.header_mappings().empty() ? "  none\n" : RenderHeaderMappings(zone));
  return out;
}

std::string RenderZoneFailures(
    const google::protobuf::RepeatedPtrField<certgate::v1::ZoneBuildFailureStatus>& failures) {
  if (failures.empty()) {
    return "";
  }
  Table table({"HOSTNAME", "EDGE", "VERSION", "ERROR"});
  for (const auto& failure : failures) {
    table.AddRow({failure.hostname(), failure.node_id(), absl::StrCat(failure.version()),
                  OneLine(failure.error())});
  }
  return absl::StrCat(
      "\nNot served as last changed (each edge keeps the zone's previous build, if any):\n",
      table.Render());
}

std::string RenderCaCertificates(
    const google::protobuf::RepeatedPtrField<certgate::v1::CaCertificate>& certificates) {
  if (certificates.empty()) {
    return "No certificates.\n";
  }
  Table table({"ID", "SUBJECT", "SKI", "NOT AFTER"});
  for (const auto& cert : certificates) {
    table.AddRow({cert.id(), cert.subject(), OrDash(cert.ski()), FormatUtc(cert.not_after_unix())});
  }
  return table.Render();
}

std::string RenderRevocations(const certgate::v1::ListRevocationsResponse& response) {
  std::string out;
  if (response.revocations().empty()) {
    out = "No revocations.\n";
  } else {
    Table table({"ID", "SERIAL", "ISSUER", "SOURCE", "CREATED"});
    for (const auto& revocation : response.revocations()) {
      table.AddRow({revocation.id(), revocation.serial_hex(),
                    revocation.issuer().empty() ? "(any)" : revocation.issuer(),
                    revocation.source(), FormatUtc(revocation.created_unix())});
    }
    out = table.Render();
  }
  if (!response.crls().empty()) {
    Table crls({"CRL ID", "ISSUER", "THIS UPDATE", "NEXT UPDATE", "REVOKED"});
    for (const auto& crl : response.crls()) {
      crls.AddRow({crl.id(), crl.issuer(), FormatUtc(crl.this_update_unix()),
                   FormatUtc(crl.next_update_unix()), absl::StrCat(crl.revoked_count())});
    }
    absl::StrAppend(&out, "\n", crls.Render());
  }
  return out;
}

std::string RenderHeaderMappings(const certgate::v1::Zone& zone) {
  if (zone.header_mappings().empty()) {
    return "No header mappings.\n";
  }
  Table table({"HEADER", "SELECTOR"});
  for (const auto& mapping : zone.header_mappings()) {
    table.AddRow({mapping.header(), mapping.selector()});
  }
  return table.Render();
}

std::string RenderStatusHeaderNames(const certgate::v1::StatusHeaderNames& names) {
  return FormatFields({
      {"Status", OrDefault(names.status(), ZoneDefaults::kStatusHeader)},
      {"SKI", OrDefault(names.ski(), ZoneDefaults::kSkiHeader)},
      {"Error", OrDefault(names.error(), ZoneDefaults::kErrorHeader)},
  });
}

std::string RenderExpiring(
    const google::protobuf::RepeatedPtrField<certgate::v1::ExpiringItem>& items) {
  std::string out;
  for (const certgate::v1::ExpiringItem& item : items) {
    std::string what = item.kind();
    std::replace(what.begin(), what.end(), '_', ' ');
    absl::StrAppend(&out, "warning: ", what, " \"", OneLine(item.subject()), "\"");
    if (!item.id().empty()) {
      absl::StrAppend(&out, " (id ", item.id(), ")");
    }
    absl::StrAppend(&out, " of ", item.hostname());
    int64_t days = (item.seconds_left() < 0 ? -item.seconds_left() : item.seconds_left()) / 86400;
    std::string span = days == 0 ? std::string("less than a day")
                                 : absl::StrCat(days, days == 1 ? " day" : " days");
    if (item.expired()) {
      absl::StrAppend(&out, " expired ", span, " ago");
    } else {
      absl::StrAppend(&out, " expires in ", span);
    }
    absl::StrAppend(&out, " (", FormatUtc(item.expires_unix()), ")\n");
  }
  return out;
}

std::string RenderStatus(const certgate::v1::StatusResponse& response) {
  int holding = 0;
  for (const auto& edge : response.edges()) {
    if (edge.acked_version() >= response.config_version()) {
      ++holding;
    }
  }
  std::string out = absl::StrCat("Config version ", response.config_version(), " on ", holding,
                                 " of ", response.edges_size(), " edges\n");
  if (!response.edges().empty()) {
    Table table({"NODE", "ACKED", "LAST SEEN", "CONNECTED", "LAST ERROR"});
    for (const auto& edge : response.edges()) {
      std::string error =
          edge.last_error().empty()
              ? "-"
              : absl::StrCat("NACK ", edge.nacked_version(), ": ", OneLine(edge.last_error()));
      table.AddRow({edge.node_id(), absl::StrCat(edge.acked_version()),
                    FormatUtc(edge.last_seen_unix()), YesNo(edge.connected()), error});
    }
    absl::StrAppend(&out, "\n", table.Render());
  }
  google::protobuf::RepeatedPtrField<certgate::v1::ZoneBuildFailureStatus> failures;
  for (const auto& edge : response.edges()) {
    for (const auto& failure : edge.zone_failures()) {
      *failures.Add() = failure;
    }
  }
  absl::StrAppend(&out, RenderZoneFailures(failures));
  if (response.has_traffic()) {
    const auto& traffic = response.traffic();
    absl::StrAppend(&out, "\nRequests to ", traffic.hostname(), " in the last ",
                    traffic.window_seconds(), "s:\n");
    Table table({"STATUS", "REQUESTS"});
    table.AddRow({"none", absl::StrCat(traffic.none())});
    table.AddRow({"valid", absl::StrCat(traffic.valid())});
    table.AddRow({"invalid", absl::StrCat(traffic.invalid())});
    absl::StrAppend(&out, table.Render());
    if (!traffic.rules().empty()) {
      absl::StrAppend(&out,
                      "\nBy access rule (refused: refused by enforce, or would be by report):\n");
      Table rules({"RULE", "REQUESTS", "REFUSED"});
      for (const certgate::v1::RuleTraffic& rule : traffic.rules()) {
        rules.AddRow({rule.rule_id(), absl::StrCat(rule.requests()), absl::StrCat(rule.refused())});
      }
      absl::StrAppend(&out, rules.Render());
    }
  }
  if (!response.expiring().empty()) {
    absl::StrAppend(&out, "\n", RenderExpiring(response.expiring()));
  }
  return out;
}

std::string RenderTenants(const certgate::v1::ListTenantsResponse& response) {
  if (response.tenants().empty()) {
    return "No tenants.\n";
  }
  Table table({"ID", "NAME", "ZONES", "TOKENS", "CREATED"});
  for (const auto& tenant : response.tenants()) {
    table.AddRow({tenant.id(), tenant.name(), absl::StrCat(tenant.zone_count()),
                  OrDash(absl::StrJoin(tenant.token_ids(), ",")),
                  FormatUtc(tenant.created_unix())});
  }
  return table.Render();
}

}  // namespace certgate::cli
