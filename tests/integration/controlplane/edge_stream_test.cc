// The edge config stream against a real certgate-control: snapshot first,
// then one delta per change with only the changed zones; ACK/NACK recorded;
// a one-zone delta costs the same bytes with 10 or 10,000 zones.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "controlplane/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/integration/controlplane/edge_client.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/test_pki.h"

namespace certgate::testing {
namespace {

using controlplane::SqliteStore;
using controlplane::SqliteStoreOptions;
using controlplane::StoreTransaction;
using controlplane::ZoneRow;

class EdgeStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ControlPlaneProcess>(MakeTempDir("cp-edge"));
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
    tenant_ = NewTenant(*server_, "edge-tenant");
    stub_ = server_->Tenant();
  }

  v1::ZoneResponse CreateZone(const std::string& hostname) {
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    v1::CreateZoneRequest request;
    request.set_hostname(hostname);
    request.set_origin("http://127.0.0.1:9000");
    v1::ZoneResponse response;
    grpc::Status status = stub_->CreateZone(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  uint64_t SetMode(const std::string& hostname, v1::Mode mode) {
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    v1::UpdateZoneRequest request;
    request.set_hostname(hostname);
    request.set_mode(mode);
    v1::ZoneResponse response;
    grpc::Status status = stub_->UpdateZone(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config_version();
  }

  v1::StatusResponse FleetStatus() {
    grpc::ClientContext context;
    Authorize(&context, server_->admin_token());
    v1::StatusResponse response;
    EXPECT_TRUE(
        server_->Admin()->GetFleetStatus(&context, v1::GetFleetStatusRequest(), &response).ok());
    return response;
  }

  static const v1::EdgeStatus* FindEdge(const v1::StatusResponse& status, const std::string& node) {
    for (const v1::EdgeStatus& edge : status.edges()) {
      if (edge.node_id() == node) {
        return &edge;
      }
    }
    return nullptr;
  }

  std::unique_ptr<ControlPlaneProcess> server_;
  std::string tenant_;
  std::unique_ptr<v1::TenantService::Stub> stub_;
};

TEST_F(EdgeStreamTest, RefusesEdgesWithoutTheEdgeToken) {
  for (const std::string& token : {std::string("cgt_bad_token"), tenant_, server_->admin_token()}) {
    EdgeClient edge(*server_, token);
    edge.Hello("intruder", 0);
    EXPECT_FALSE(edge.Next(absl::Seconds(5)).has_value());
    grpc::Status status = edge.Close();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  EXPECT_EQ(FleetStatus().edges_size(), 0);
}

// --trace-changes logs, per change sent to edges, each stage's time after
// the commit; without it nothing is logged. A version no stream was sent
// (zone creation before any edge) is not traced.
TEST_F(EdgeStreamTest, TraceChangesLogsEachStageOfAChangeSentToEdges) {
  ControlPlaneProcess traced(MakeTempDir("cp-trace"), {"--insecure", "--trace-changes"});
  std::string error;
  ASSERT_TRUE(traced.Start(&error)) << error;
  std::string tenant = NewTenant(traced, "trace-tenant");
  auto stub = traced.Tenant();
  auto version_of = [](const grpc::Status& status, const v1::ZoneResponse& response) {
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config_version();
  };
  v1::CreateZoneRequest create;
  create.set_hostname("traced.example.test");
  create.set_origin("http://127.0.0.1:9000");
  uint64_t version = 0;
  {
    grpc::ClientContext context;
    Authorize(&context, tenant);
    v1::ZoneResponse response;
    version = version_of(stub->CreateZone(&context, create, &response), response);
  }

  EdgeClient edge(traced, traced.edge_token());
  ASSERT_TRUE(edge.Hello("edge-traced", 0));
  auto snapshot = edge.Next();
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_TRUE(edge.Ack(version));
  v1::UpdateZoneRequest update;
  update.set_hostname("traced.example.test");
  update.set_mode(v1::MODE_REPORT);
  uint64_t changed = 0;
  {
    grpc::ClientContext context;
    Authorize(&context, tenant);
    v1::ZoneResponse response;
    changed = version_of(stub->UpdateZone(&context, update, &response), response);
  }
  auto delta = edge.Next();
  ASSERT_TRUE(delta.has_value());
  ASSERT_TRUE(delta->has_delta());
  ASSERT_TRUE(edge.Ack(changed));

  std::string line = absl::StrCat("trace version ", changed, ": delta built ");
  absl::Time limit = absl::Now() + absl::Seconds(10);
  while (traced.log().find(line) == std::string::npos && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::string log = traced.log();
  size_t at = log.find(line);
  ASSERT_NE(at, std::string::npos) << log;
  std::string traced_line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(traced_line.find("(1 streams), written "), std::string::npos) << traced_line;
  EXPECT_NE(traced_line.find("acknowledged "), std::string::npos) << traced_line;
  EXPECT_NE(traced_line.find(" ms (1) after the commit"), std::string::npos) << traced_line;
  EXPECT_EQ(log.find(absl::StrCat("trace version ", version, ":")), std::string::npos) << log;
  EXPECT_EQ(server_->log().find("trace version"), std::string::npos);
}

TEST_F(EdgeStreamTest, TwoEdgesGetASnapshotThenOneDeltaPerChange) {
  auto ca = MakeCa("Edge Root");
  v1::ZoneResponse first = CreateZone("first.example.test");
  uint64_t version = first.config_version();

  EdgeClient edge1(*server_, server_->edge_token());
  EdgeClient edge2(*server_, server_->edge_token());
  ASSERT_TRUE(edge1.Hello("edge-1", 0));
  ASSERT_TRUE(edge2.Hello("edge-2", 0));
  uint64_t first_id = 0;
  for (EdgeClient* edge : {&edge1, &edge2}) {
    auto message = edge->Next();
    ASSERT_TRUE(message.has_value());
    ASSERT_TRUE(message->has_snapshot());
    EXPECT_EQ(message->snapshot().version(), version);
    ASSERT_EQ(message->snapshot().zones_size(), 1);
    const v1::EdgeZone& zone = message->snapshot().zones(0);
    first_id = zone.id();
    EXPECT_EQ(zone.hostname(), "first.example.test");
    EXPECT_EQ(zone.mode(), v1::MODE_ENFORCE);
    EXPECT_EQ(zone.origin(), "http://127.0.0.1:9000");
    EXPECT_NE(zone.server_chain_pem().find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_NE(zone.server_key_pem().find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(zone.status_header_names().status(), "X-Client-Cert-Status");
    EXPECT_EQ(zone.error_response().content_type(), "application/json");
    EXPECT_EQ(zone.trust_version(), version);
    EXPECT_FALSE(zone.tenant_id().empty());
    ASSERT_TRUE(edge->Ack(version));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::StatusResponse status = FleetStatus();
        const v1::EdgeStatus* e1 = FindEdge(status, "edge-1");
        const v1::EdgeStatus* e2 = FindEdge(status, "edge-2");
        return e1 && e2 && e1->acked_version() == version && e2->acked_version() == version &&
               e1->connected() && e2->connected();
      },
      absl::Seconds(10)));

  // Change 1: a new zone arrives as a delta holding only it.
  v1::ZoneResponse second = CreateZone("second.example.test");
  ASSERT_EQ(second.config_version(), version + 1);
  uint64_t second_id = 0;
  for (EdgeClient* edge : {&edge1, &edge2}) {
    auto message = edge->Next();
    ASSERT_TRUE(message.has_value());
    ASSERT_TRUE(message->has_delta()) << message->DebugString();
    EXPECT_EQ(message->delta().from_version(), version);
    EXPECT_EQ(message->delta().version(), version + 1);
    ASSERT_EQ(message->delta().upserted_size(), 1);
    EXPECT_EQ(message->delta().upserted(0).hostname(), "second.example.test");
    EXPECT_EQ(message->delta().removed_zone_ids_size(), 0);
    second_id = message->delta().upserted(0).id();
    ASSERT_TRUE(edge->Ack(version + 1));
  }
  EXPECT_NE(first_id, second_id);

  // Change 2: a root on the first zone; its trust version moves.
  {
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    v1::AddCaCertificatesRequest request;
    request.set_hostname("first.example.test");
    request.set_data(ca.cert_pem());
    v1::AddCaCertificatesResponse response;
    ASSERT_TRUE(stub_->AddRoots(&context, request, &response).ok());
    ASSERT_EQ(response.config_version(), version + 2);
  }
  for (EdgeClient* edge : {&edge1, &edge2}) {
    auto message = edge->Next();
    ASSERT_TRUE(message.has_value());
    ASSERT_TRUE(message->has_delta());
    EXPECT_EQ(message->delta().from_version(), version + 1);
    ASSERT_EQ(message->delta().upserted_size(), 1);
    const v1::EdgeZone& zone = message->delta().upserted(0);
    EXPECT_EQ(zone.id(), first_id);
    ASSERT_EQ(zone.roots_der_size(), 1);
    EXPECT_EQ(zone.trust_version(), version + 2);
  }
  ASSERT_TRUE(edge1.Ack(version + 2));
  ASSERT_TRUE(edge2.Ack(version + 2));

  // Change 3: deleting a zone sends its id only.
  {
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    v1::DeleteZoneRequest request;
    request.set_hostname("second.example.test");
    v1::ChangeResponse response;
    ASSERT_TRUE(stub_->DeleteZone(&context, request, &response).ok());
  }
  for (EdgeClient* edge : {&edge1, &edge2}) {
    auto message = edge->Next();
    ASSERT_TRUE(message.has_value());
    ASSERT_TRUE(message->has_delta());
    EXPECT_EQ(message->delta().version(), version + 3);
    EXPECT_EQ(message->delta().upserted_size(), 0);
    ASSERT_EQ(message->delta().removed_zone_ids_size(), 1);
    EXPECT_EQ(message->delta().removed_zone_ids(0), second_id);
  }
  ASSERT_TRUE(edge1.Ack(version + 3));
  ASSERT_TRUE(edge2.Nack(version + 3, "cannot write state file: disk full"));
  // Exactly one message per change: nothing else is queued.
  EXPECT_FALSE(edge1.Next(absl::Milliseconds(300)).has_value());
  EXPECT_FALSE(edge2.Next(absl::Milliseconds(10)).has_value());

  ASSERT_TRUE(WaitFor(
      [&] {
        v1::StatusResponse status = FleetStatus();
        const v1::EdgeStatus* e1 = FindEdge(status, "edge-1");
        const v1::EdgeStatus* e2 = FindEdge(status, "edge-2");
        return status.config_version() == version + 3 && e1 && e2 &&
               e1->acked_version() == version + 3 && e2->nacked_version() == version + 3;
      },
      absl::Seconds(10)));
  v1::StatusResponse status = FleetStatus();
  const v1::EdgeStatus* e2 = FindEdge(status, "edge-2");
  EXPECT_EQ(e2->acked_version(), version + 2);
  EXPECT_EQ(e2->last_error(), "cannot write state file: disk full");
  EXPECT_GT(e2->last_seen_unix(), 0);

  // The tenant's status call shows the same fleet.
  {
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    v1::StatusResponse tenant_status;
    ASSERT_TRUE(stub_->GetStatus(&context, v1::GetStatusRequest(), &tenant_status).ok());
    EXPECT_EQ(tenant_status.config_version(), version + 3);
    EXPECT_EQ(tenant_status.edges_size(), 2);
  }

  // A closed stream shows as disconnected; its ACK stays.
  EXPECT_TRUE(edge1.Close().ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::StatusResponse fleet = FleetStatus();
        const v1::EdgeStatus* e1 = FindEdge(fleet, "edge-1");
        return e1 != nullptr && !e1->connected();
      },
      absl::Seconds(10)));
  v1::StatusResponse fleet = FleetStatus();
  ASSERT_NE(FindEdge(fleet, "edge-1"), nullptr);
  EXPECT_EQ(FindEdge(fleet, "edge-1")->acked_version(), version + 3);
}

TEST_F(EdgeStreamTest, AnEdgeThatIsBehindGetsOnlyWhatChanged) {
  CreateZone("a.example.test");
  CreateZone("b.example.test");
  uint64_t held = CreateZone("c.example.test").config_version();
  SetMode("b.example.test", v1::MODE_REPORT);
  uint64_t current = SetMode("b.example.test", v1::MODE_OFF);

  EdgeClient behind(*server_, server_->edge_token());
  ASSERT_TRUE(behind.Hello("behind", held));
  auto message = behind.Next();
  ASSERT_TRUE(message.has_value());
  ASSERT_TRUE(message->has_delta());
  EXPECT_EQ(message->delta().from_version(), held);
  EXPECT_EQ(message->delta().version(), current);
  ASSERT_EQ(message->delta().upserted_size(), 1);
  EXPECT_EQ(message->delta().upserted(0).hostname(), "b.example.test");
  EXPECT_EQ(message->delta().upserted(0).mode(), v1::MODE_OFF);

  // An edge that holds the current version gets nothing until a change.
  EdgeClient current_edge(*server_, server_->edge_token());
  ASSERT_TRUE(current_edge.Hello("current", current));
  EXPECT_FALSE(current_edge.Next(absl::Milliseconds(500)).has_value());
  uint64_t next = SetMode("a.example.test", v1::MODE_REPORT);
  message = current_edge.Next();
  ASSERT_TRUE(message.has_value());
  ASSERT_TRUE(message->has_delta());
  EXPECT_EQ(message->delta().from_version(), current);
  EXPECT_EQ(message->delta().version(), next);

  // An edge claiming a version the control plane never made gets a snapshot.
  EdgeClient ahead(*server_, server_->edge_token());
  ASSERT_TRUE(ahead.Hello("ahead", next + 100));
  message = ahead.Next();
  ASSERT_TRUE(message.has_value());
  ASSERT_TRUE(message->has_snapshot());
  EXPECT_EQ(message->snapshot().version(), next);
  EXPECT_EQ(message->snapshot().zones_size(), 3);
}

TEST_F(EdgeStreamTest, RapidChangesArriveAsAnUnbrokenChainOfDeltas) {
  CreateZone("rapid.example.test");
  EdgeClient edge(*server_, server_->edge_token());
  ASSERT_TRUE(edge.Hello("rapid", 0));
  auto snapshot = edge.Next();
  ASSERT_TRUE(snapshot.has_value());
  uint64_t held = snapshot->snapshot().version();
  uint64_t last = 0;
  for (int i = 0; i < 20; ++i) {
    last = SetMode("rapid.example.test", i % 2 == 0 ? v1::MODE_REPORT : v1::MODE_ENFORCE);
  }
  // However the pushes were coalesced, each delta starts where the previous
  // one ended and the last one reaches the final version.
  int messages = 0;
  while (held != last) {
    auto message = edge.Next();
    ASSERT_TRUE(message.has_value()) << "stuck at " << held << " of " << last;
    ASSERT_TRUE(message->has_delta());
    EXPECT_EQ(message->delta().from_version(), held);
    EXPECT_EQ(message->delta().upserted_size(), 1);
    held = message->delta().version();
    ++messages;
  }
  EXPECT_LE(messages, 20);
  EXPECT_EQ(edge.Next(absl::Milliseconds(300)).has_value(), false);
  std::printf("20 rapid changes arrived in %d deltas\n", messages);
}

TEST_F(EdgeStreamTest, ProtocolErrorsEndTheStream) {
  EdgeClient no_hello(*server_, server_->edge_token());
  ASSERT_TRUE(no_hello.Ack(1));
  EXPECT_FALSE(no_hello.Next(absl::Seconds(5)).has_value());
  grpc::Status status = no_hello.Close();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "the first message must be hello");

  EdgeClient no_node(*server_, server_->edge_token());
  ASSERT_TRUE(no_node.Hello("", 0));
  EXPECT_FALSE(no_node.Next(absl::Seconds(5)).has_value());
  status = no_node.Close();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(EdgeStreamTest, TrafficReportsShowInZoneStatus) {
  CreateZone("busy.example.test");
  EdgeClient edge(*server_, server_->edge_token());
  ASSERT_TRUE(edge.Hello("reporter", 0));
  auto snapshot = edge.Next();
  ASSERT_TRUE(snapshot.has_value());
  uint64_t zone_id = snapshot->snapshot().zones(0).id();
  for (int i = 0; i < 2; ++i) {
    v1::EdgeMessage report;
    v1::ZoneCounts* counts = report.mutable_traffic()->add_zones();
    counts->set_zone_id(zone_id);
    counts->set_none(1);
    counts->set_valid(10);
    counts->set_invalid(3);
    ASSERT_TRUE(edge.Send(report));
  }
  v1::ZoneTraffic traffic;
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext context;
        Authorize(&context, tenant_);
        v1::GetStatusRequest request;
        request.set_hostname("busy.example.test");
        v1::StatusResponse response;
        if (!stub_->GetStatus(&context, request, &response).ok()) {
          return false;
        }
        traffic = response.traffic();
        return traffic.valid() == 20;
      },
      absl::Seconds(10)));
  EXPECT_EQ(traffic.hostname(), "busy.example.test");
  EXPECT_EQ(traffic.none(), 2u);
  EXPECT_EQ(traffic.invalid(), 6u);
  EXPECT_EQ(traffic.window_seconds(), 900);
}

// An uploaded origin client certificate as a zone stores it.
v1::ServerCertificateInfo UploadedOriginCert(const KeyAndCert& cert) {
  v1::ServerCertificateInfo info;
  info.set_chain_pem(cert.cert_pem());
  info.set_issued_by_edge_ca(false);
  info.set_not_after_unix(absl::ToUnixSeconds(absl::Now()) + 365 * 86400);
  return info;
}

// DeltaBytesWithZones builds a control plane holding `zone_count` zones, one
// of them created through the API with a fixed server certificate, changes
// that zone and returns the size of the delta an edge receives. The other
// zones are written straight into the database with the store library
// (creating 10,000 through the API would take minutes of fsyncs).
size_t DeltaBytesWithZones(int zone_count, const KeyAndCert& server_cert, const KeyAndCert& ca,
                           const KeyAndCert& origin_client) {
  ControlPlaneProcess server(MakeTempDir("cp-delta-size"));
  std::string error;
  EXPECT_TRUE(server.Start(&error)) << error;
  grpc::ClientContext admin_context;
  Authorize(&admin_context, server.admin_token());
  v1::CreateTenantRequest tenant_request;
  tenant_request.set_name("bulk");
  v1::CreateTenantResponse tenant;
  EXPECT_TRUE(server.Admin()->CreateTenant(&admin_context, tenant_request, &tenant).ok());
  {
    auto stub = server.Tenant();
    grpc::ClientContext context;
    Authorize(&context, tenant.token());
    v1::CreateZoneRequest request;
    request.set_hostname("target.example.test");
    request.set_origin("http://127.0.0.1:9000");
    v1::ZoneResponse response;
    EXPECT_TRUE(stub->CreateZone(&context, request, &response).ok());
  }
  {
    auto stub = server.Tenant();
    grpc::ClientContext context;
    Authorize(&context, tenant.token());
    v1::SetServerCertificateRequest request;
    request.set_hostname("target.example.test");
    request.set_chain_pem(server_cert.cert_pem() + ca.cert_pem());
    request.set_key_pem(server_cert.key_pem());
    v1::ZoneResponse response;
    grpc::Status status = stub->SetServerCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // A fixed origin client certificate too: an issued one is fresh (and its
  // signature's length varies) on every run.
  {
    auto stub = server.Tenant();
    grpc::ClientContext context;
    Authorize(&context, tenant.token());
    v1::SetOriginClientCertificateRequest request;
    request.set_hostname("target.example.test");
    request.set_chain_pem(origin_client.cert_pem());
    request.set_key_pem(origin_client.key_pem());
    v1::ZoneResponse response;
    grpc::Status status = stub->SetOriginClientCertificate(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0);

  {
    SqliteStoreOptions options;
    options.path = server.db_path();
    auto store = SqliteStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    auto loaded =
        (*store)->Mutate("test", "load zones", [&](StoreTransaction& txn) -> absl::Status {
          for (int i = 1; i < zone_count; ++i) {
            ZoneRow row;
            row.tenant_id = tenant.tenant().id();
            row.hostname = absl::StrFormat("z%05d.bulk.example.test", i);
            row.zone.set_hostname(row.hostname);
            row.zone.set_mode(v1::MODE_ENFORCE);
            row.zone.set_origin("http://127.0.0.1:9000");
            row.zone.set_trust_version(txn.new_version());
            // Not due for renewal: the control plane must not rewrite these
            // zones (a new config version) when it starts.
            *row.zone.mutable_origin_client_certificate() = UploadedOriginCert(origin_client);
            row.origin_client_key_pem = origin_client.key_pem();
            absl::StatusOr<int64_t> id = txn.InsertZone(row);
            if (!id.ok()) {
              return id.status();
            }
          }
          return absl::OkStatus();
        });
    EXPECT_TRUE(loaded.ok()) << loaded.status();
  }

  EXPECT_TRUE(server.Start(&error)) << error;
  uint64_t loaded_version = ConfigVersion(server);
  size_t delta_bytes = 0;
  {
    EdgeClient edge(server, server.edge_token());
    EXPECT_TRUE(edge.Hello("sizer", loaded_version));
    {
      grpc::ClientContext context;
      Authorize(&context, tenant.token());
      v1::UpdateZoneRequest request;
      request.set_hostname("target.example.test");
      request.set_mode(v1::MODE_REPORT);
      v1::ZoneResponse response;
      EXPECT_TRUE(server.Tenant()->UpdateZone(&context, request, &response).ok());
    }
    auto message = edge.Next();
    EXPECT_TRUE(message.has_value());
    if (message.has_value()) {
      EXPECT_TRUE(message->has_delta());
      EXPECT_EQ(message->delta().upserted_size(), 1);
      EXPECT_EQ(message->delta().from_version(), loaded_version);
      delta_bytes = message->ByteSizeLong();
    }

    // A new edge still gets every zone.
    EdgeClient fresh(server, server.edge_token());
    EXPECT_TRUE(fresh.Hello("fresh", 0));
    auto snapshot = fresh.Next(absl::Seconds(60));
    EXPECT_TRUE(snapshot.has_value());
    if (snapshot.has_value()) {
      EXPECT_EQ(snapshot->snapshot().zones_size(), zone_count);
    }
  }
  server.Stop(SIGTERM);
  return delta_bytes;
}

TEST(EdgeStreamScaleTest, OneZoneDeltaCostsTheSameWith10Or10000Zones) {
  auto ca = MakeCa("Sizer CA");
  auto server_cert = MakeServerCert("target.example.test", ca);
  auto origin_client = MakeLeaf("target.example.test", ca);
  size_t small = DeltaBytesWithZones(10, server_cert, ca, origin_client);
  absl::Time start = absl::Now();
  size_t large = DeltaBytesWithZones(10000, server_cert, ca, origin_client);
  std::printf("one-zone delta: %zu bytes with 10 zones, %zu bytes with 10000 zones (%s)\n", small,
              large, absl::FormatDuration(absl::Now() - start).c_str());
  ::testing::Test::RecordProperty("delta_bytes_10_zones", static_cast<int>(small));
  ::testing::Test::RecordProperty("delta_bytes_10000_zones", static_cast<int>(large));
  EXPECT_GT(small, 0u);
  EXPECT_EQ(small, large);
}

}  // namespace
}  // namespace certgate::testing
