#include "cli/client/views.h"

#include "gtest/gtest.h"

namespace certgate::cli {
namespace {

TEST(ViewsTest, ZoneListIsATableWithModeAndUtcDates) {
  certgate::v1::ListZonesResponse response;
  auto* zone = response.add_zones();
  zone->set_hostname("auth.pizza");
  zone->set_mode(certgate::v1::MODE_REPORT);
  zone->set_origin("http://127.0.0.1:8080");
  zone->set_created_unix(1795780800);
  zone->add_roots();
  zone->mutable_server_certificate()->set_issued_by_edge_ca(true);
  zone->set_state(certgate::v1::ZONE_STATE_ACTIVE);
  auto* pending = response.add_zones();
  pending->set_hostname("new.pizza");
  pending->set_mode(certgate::v1::MODE_ENFORCE);
  pending->set_origin("http://127.0.0.1:8080");
  pending->set_created_unix(1795780800);
  pending->set_state(certgate::v1::ZONE_STATE_PENDING);
  EXPECT_EQ(RenderZoneList(response),
            "HOSTNAME    STATE    MODE     ORIGIN                 ROOTS  SERVER CERT  CREATED\n"
            "auth.pizza  active   report   http://127.0.0.1:8080  1      edge CA      "
            "2026-11-27 12:00:00 UTC\n"
            "new.pizza   pending  enforce  http://127.0.0.1:8080  0      -            "
            "2026-11-27 12:00:00 UTC\n");
  EXPECT_EQ(RenderZoneList({}), "No zones.\n");
}

TEST(ViewsTest, CaCertificatesShowIdSubjectSkiNotAfter) {
  certgate::v1::ListCaCertificatesResponse response;
  auto* cert = response.add_certificates();
  cert->set_id("0123456789abcdef");
  cert->set_subject("CN=Acme Devices CA");
  cert->set_ski("36628abc");
  cert->set_not_after_unix(1795780800);
  EXPECT_EQ(RenderCaCertificates(response.certificates()),
            "ID                SUBJECT             SKI       NOT AFTER\n"
            "0123456789abcdef  CN=Acme Devices CA  36628abc  2026-11-27 12:00:00 UTC\n");
}

TEST(ViewsTest, StatusCountsEdgesHoldingTheVersionAndShowsTraffic) {
  certgate::v1::StatusResponse response;
  response.set_config_version(42);
  auto* a = response.add_edges();
  a->set_node_id("edge-1");
  a->set_acked_version(42);
  a->set_last_seen_unix(1795780800);
  a->set_connected(true);
  auto* b = response.add_edges();
  b->set_node_id("edge-2");
  b->set_acked_version(41);
  b->set_nacked_version(42);
  b->set_last_error("bad\nthing");
  response.mutable_traffic()->set_hostname("auth.pizza");
  response.mutable_traffic()->set_none(3);
  response.mutable_traffic()->set_valid(10);
  response.mutable_traffic()->set_invalid(1);
  response.mutable_traffic()->set_window_seconds(300);
  std::string out = RenderStatus(response);
  EXPECT_EQ(out,
            "Config version 42 on 1 of 2 edges\n"
            "\n"
            "NODE    ACKED  LAST SEEN                CONNECTED  LAST ERROR\n"
            "edge-1  42     2026-11-27 12:00:00 UTC  yes        -\n"
            "edge-2  41     -                        no         NACK 42: bad thing\n"
            "\n"
            "Requests to auth.pizza in the last 300s:\n"
            "STATUS   REQUESTS\n"
            "none     3\n"
            "valid    10\n"
            "invalid  1\n");
}

TEST(ViewsTest, StatusListsZoneBuildFailuresPerEdge) {
  certgate::v1::StatusResponse response;
  response.set_config_version(7);
  auto* edge = response.add_edges();
  edge->set_node_id("edge-1");
  edge->set_acked_version(7);
  auto* failure = edge->add_zone_failures();
  failure->set_hostname("x.evil.test");
  failure->set_node_id("edge-1");
  failure->set_version(7);
  failure->set_error("server key: DSA keys\ncannot be used");
  std::string out = RenderStatus(response);
  EXPECT_NE(out.find("Not served as last changed"), std::string::npos) << out;
  EXPECT_NE(out.find("x.evil.test  edge-1  7        server key: DSA keys cannot be used"),
            std::string::npos)
      << out;
  edge->clear_zone_failures();
  EXPECT_EQ(RenderStatus(response).find("Not served"), std::string::npos);
}

TEST(ViewsTest, StatusHeaderNamesFillInDefaults) {
  certgate::v1::StatusHeaderNames names;
  names.set_ski("X-Ski");
  EXPECT_EQ(RenderStatusHeaderNames(names),
            "Status:  X-Client-Cert-Status\n"
            "SKI:     X-Ski\n"
            "Error:   X-Client-Cert-Error\n");
}

TEST(ViewsTest, RevocationsWithAnyIssuerAndCrls) {
  certgate::v1::ListRevocationsResponse response;
  auto* revocation = response.add_revocations();
  revocation->set_id("r1");
  revocation->set_serial_hex("1f");
  revocation->set_source("serial");
  revocation->set_created_unix(1795780800);
  auto* crl = response.add_crls();
  crl->set_id("c1");
  crl->set_issuer("CN=CA");
  crl->set_revoked_count(2);
  std::string out = RenderRevocations(response);
  EXPECT_NE(out.find("r1  1f      (any)   serial  2026-11-27 12:00:00 UTC"), std::string::npos)
      << out;
  EXPECT_NE(out.find("c1      CN=CA   -            -            2"), std::string::npos) << out;
  EXPECT_EQ(RenderRevocations({}), "No revocations.\n");
}

TEST(ViewsTest, TenantsAndHeaderMappings) {
  certgate::v1::ListTenantsResponse tenants;
  auto* tenant = tenants.add_tenants();
  tenant->set_id("t1");
  tenant->set_name("acme");
  tenant->set_zone_count(2);
  tenant->add_token_ids("k1");
  EXPECT_EQ(RenderTenants(tenants),
            "ID  NAME  ZONES  TOKENS  CREATED\n"
            "t1  acme  2      k1      -\n");

  certgate::v1::Zone zone;
  auto* mapping = zone.add_header_mappings();
  mapping->set_header("X-Device-Id");
  mapping->set_selector("subject.CN");
  EXPECT_EQ(RenderHeaderMappings(zone), "HEADER       SELECTOR\nX-Device-Id  subject.CN\n");
  EXPECT_EQ(RenderHeaderMappings({}), "No header mappings.\n");
}

TEST(ViewsTest, ZoneShowsEverythingSet) {
  certgate::v1::Zone zone;
  zone.set_hostname("*.auth.pizza");
  zone.set_mode(certgate::v1::MODE_ENFORCE);
  zone.set_origin("https://origin:443");
  zone.mutable_error_response()->set_content_type("application/json");
  zone.mutable_error_response()->set_body("{}");
  std::string out = RenderZone(zone);
  EXPECT_NE(out.find("Hostname:       *.auth.pizza\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Mode:           enforce\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Error page:     application/json, 2 bytes\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Roots:\n  none\n"), std::string::npos) << out;
}

TEST(ViewsTest, PendingZoneShowsTheRecordToPublish) {
  certgate::v1::Zone zone;
  zone.set_hostname("*.auth.pizza");
  zone.set_state(certgate::v1::ZONE_STATE_PENDING);
  zone.mutable_challenge()->set_record_name("_certgate-challenge.auth.pizza");
  zone.mutable_challenge()->set_record_type("TXT");
  zone.mutable_challenge()->set_value("0123abcd");
  std::string out = RenderZone(zone);
  EXPECT_NE(out.find("State:          pending\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Record name:  _certgate-challenge.auth.pizza\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Value:        0123abcd\n"), std::string::npos) << out;
  EXPECT_NE(out.find("certgate zone verify *.auth.pizza"), std::string::npos) << out;
  EXPECT_NE(out.find("none yet"), std::string::npos) << out;

  // Admin mode: no record, an admin approves.
  zone.clear_challenge();
  EXPECT_NE(RenderOwnership(zone).find("admin approves"), std::string::npos);
  zone.set_state(certgate::v1::ZONE_STATE_ACTIVE);
  zone.set_verified_by("dns");
  EXPECT_EQ(RenderOwnership(zone), "");
  EXPECT_NE(RenderZone(zone).find("State:          active (dns)\n"), std::string::npos);
}

TEST(ViewsTest, ExpiringItemsAreOneWarningLineEach) {
  google::protobuf::RepeatedPtrField<certgate::v1::ExpiringItem> items;
  certgate::v1::ExpiringItem* crl = items.Add();
  crl->set_hostname("a.example");
  crl->set_kind("crl");
  crl->set_subject("CN=Issuing\nCA");  // a newline in a subject stays on one line
  crl->set_id("c1");
  crl->set_expires_unix(1'800'000'000);
  crl->set_seconds_left(-2 * 86400 - 5);
  crl->set_expired(true);
  certgate::v1::ExpiringItem* server = items.Add();
  server->set_hostname("a.example");
  server->set_kind("server_certificate");
  server->set_subject("CN=a.example");
  server->set_expires_unix(1'800'000'000);
  server->set_seconds_left(3600);
  certgate::v1::ExpiringItem* root = items.Add();
  root->set_hostname("b.example");
  root->set_kind("root");
  root->set_subject("CN=Root");
  root->set_id("r1");
  root->set_expires_unix(1'800'000'000);
  root->set_seconds_left(86400 + 10);
  EXPECT_EQ(RenderExpiring(items),
            "warning: crl \"CN=Issuing CA\" (id c1) of a.example expired 2 days ago "
            "(2027-01-15 08:00:00 UTC)\n"
            "warning: server certificate \"CN=a.example\" of a.example expires in less than a "
            "day (2027-01-15 08:00:00 UTC)\n"
            "warning: root \"CN=Root\" (id r1) of b.example expires in 1 day "
            "(2027-01-15 08:00:00 UTC)\n");
  EXPECT_EQ(RenderExpiring({}), "");
}

}  // namespace
}  // namespace certgate::cli
