// Several certgate-control replicas on one real PostgreSQL: a change through
// one reaches edges on another, a replica killed mid-burst loses no
// acknowledged write and its edges move over, and a database restart under
// load loses nothing acknowledged.
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/controlplane/edge_client.h"
#include "tests/integration/faults/edge_process.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/postgres_cluster.h"
#include "tests/support/process.h"

namespace certgate {
namespace {

using ::certgate::faults::EdgeProcess;
using ::certgate::testing::Authorize;
using ::certgate::testing::ControlPlaneProcess;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::NewTenant;
using ::certgate::testing::PostgresCluster;
using ::certgate::testing::WaitFor;
using ::certgate::testing::WriteFile;

constexpr char kZone[] = "replicas.example";
constexpr char kEdgeToken[] = "fault-test-edge-token";

// What the database holds, read directly: every audit row's version.
std::vector<uint64_t> AuditVersions(const std::string& url) {
  std::vector<uint64_t> versions;
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* result = PQexec(conn, "SELECT config_version FROM audit ORDER BY config_version");
  EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(conn);
  for (int row = 0; row < PQntuples(result); ++row) {
    versions.push_back(std::stoull(PQgetvalue(result, row, 0)));
  }
  PQclear(result);
  PQfinish(conn);
  return versions;
}

// ExpectOneGapFreeSequence: versions 1..N, each exactly once.
void ExpectOneGapFreeSequence(const std::vector<uint64_t>& versions) {
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i] != i + 1) {
      ADD_FAILURE() << "audit version " << versions[i] << " at position " << i + 1
                    << ": versions must run 1..N without gaps or repeats";
      return;
    }
  }
}

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PostgresCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto url = cluster_->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    dir_ = MakeTempDir("certgate-replicas");
    // Edges present this token; every replica reads the same file.
    WriteFile(dir_ + "/edge.token", std::string(kEdgeToken) + "\n", 0600);
    for (int i = 0; i < 2; ++i) {
      replicas_.push_back(std::make_unique<ControlPlaneProcess>(
          dir_, std::vector<std::string>{"--insecure", "--edge-ca-dir", dir_ + "/edge-ca"}));
      replicas_.back()->UseDatabase(url_);
    }
  }

  void StartReplica(int i) {
    std::string error;
    ASSERT_TRUE(replicas_[i]->Start(&error)) << error;
  }

  void CreateTenantAndZone() {
    token_ = NewTenant(*replicas_[0], "replicas");
    v1::CreateZoneRequest zone;
    zone.set_hostname(kZone);
    zone.set_origin("http://127.0.0.1:8080");
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = replicas_[0]->Tenant()->CreateZone(&context, zone, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Revoke: one config change through `replica`; its version, 0 on failure.
  uint64_t Revoke(v1::TenantService::Stub& stub, const std::string& serial) {
    v1::RevokeRequest request;
    request.set_hostname(kZone);
    request.set_serial_hex(serial);
    v1::RevokeResponse response;
    grpc::ClientContext context;
    Authorize(&context, token_);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.Revoke(&context, request, &response).ok() ? response.config_version() : 0;
  }

  std::set<std::string> StoredSerials(ControlPlaneProcess& replica) {
    v1::ListRevocationsRequest list;
    list.set_hostname(kZone);
    v1::ListRevocationsResponse listed;
    grpc::ClientContext context;
    Authorize(&context, token_);
    grpc::Status status = replica.Tenant()->ListRevocations(&context, list, &listed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::set<std::string> stored;
    for (const v1::Revocation& revocation : listed.revocations()) {
      stored.insert(revocation.serial_hex());
    }
    return stored;
  }

  std::unique_ptr<EdgeProcess> StartEdge(const std::string& name, const std::string& control) {
    std::string dir = MakeTempDir("certgate-replica-edge");
    auto edge = EdgeProcess::Start(dir, control, dir + "/state", {"--node-id", name});
    EXPECT_TRUE(edge.ok()) << edge.status();
    return edge.ok() ? std::move(*edge) : nullptr;
  }

  // Burst: `writers` threads per live replica revoke serials 1..writes
  // (hex); `during` runs once `trigger_after` are acknowledged. Returns the
  // acknowledged serials with their versions.
  struct Acked {
    absl::Mutex mu;
    std::set<std::string> serials;
    std::set<uint64_t> versions;
    int duplicates = 0;
  };
  void Burst(int writes, int trigger_after, const std::function<void()>& during, Acked* acked) {
    std::atomic<int> next{1};
    std::atomic<int> acks{0};
    std::vector<std::thread> threads;
    for (auto& replica : replicas_) {
      std::shared_ptr<grpc::Channel> channel = replica->Channel();
      for (int w = 0; w < 2; ++w) {
        threads.emplace_back([&, channel] {
          auto stub = v1::TenantService::NewStub(channel);
          int i;
          while ((i = next.fetch_add(1)) <= writes) {
            std::string serial = absl::StrCat(absl::Hex(i));
            uint64_t version = Revoke(*stub, serial);
            if (version == 0) {
              // Not acknowledged: may or may not be stored. Keep the load
              // on without spinning through the serials while a replica or
              // the database is down.
              absl::SleepFor(absl::Milliseconds(50));
              continue;
            }
            absl::MutexLock lock(&acked->mu);
            acked->serials.insert(serial);
            if (!acked->versions.insert(version).second) {
              ++acked->duplicates;
            }
            acks.fetch_add(1);
          }
        });
      }
    }
    bool reached = WaitFor([&] { return acks.load() >= trigger_after; }, absl::Seconds(120));
    EXPECT_TRUE(reached) << "only " << acks.load() << " writes acknowledged";
    during();
    for (std::thread& thread : threads) {
      thread.join();
    }
  }

  void ExpectEveryAcknowledgedWriteStored(Acked& acked, ControlPlaneProcess& reader) {
    std::set<std::string> stored = StoredSerials(reader);
    absl::MutexLock lock(&acked.mu);
    EXPECT_EQ(acked.duplicates, 0) << "two writes acknowledged with the same version";
    int missing = 0;
    for (const std::string& serial : acked.serials) {
      missing += stored.count(serial) == 0 ? 1 : 0;
    }
    EXPECT_EQ(missing, 0) << missing << " acknowledged writes lost";
    std::printf("%zu writes acknowledged, %zu stored\n", acked.serials.size(), stored.size());
  }

  std::unique_ptr<PostgresCluster> cluster_;
  std::string url_;
  std::string dir_;
  std::vector<std::unique_ptr<ControlPlaneProcess>> replicas_;
  std::string token_;
};

TEST_F(ReplicasTest, AChangeThroughOneReplicaReachesAnEdgeOnTheOther) {
  ASSERT_NO_FATAL_FAILURE(StartReplica(0));
  ASSERT_NO_FATAL_FAILURE(StartReplica(1));
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone());
  auto edge = StartEdge("edge-on-b", replicas_[1]->address());
  ASSERT_NE(edge, nullptr);
  uint64_t created = testing::ConfigVersion(*replicas_[0]);
  ASSERT_TRUE(edge->WaitForVersion(created)) << edge->ReadLog();

  auto stub = replicas_[0]->Tenant();
  for (int i = 1; i <= 5; ++i) {
    absl::Time start = absl::Now();
    uint64_t version = Revoke(*stub, absl::StrCat("a", i));
    ASSERT_NE(version, 0u);
    // The bound: served by the edge on the other replica within 1 s.
    bool served = WaitFor(
        [&] { return edge->Metric("certgate_config_version") == static_cast<double>(version); },
        absl::Seconds(1));
    EXPECT_TRUE(served) << "version " << version << " not served by the edge on replica B in 1 s";
    std::printf("write through A to served by an edge on B: %.0f ms\n",
                absl::ToDoubleMilliseconds(absl::Now() - start));
  }
}

// An edge that leaves one replica resumes on the other with a delta from
// its version, not a snapshot.
TEST_F(ReplicasTest, AnEdgeMovingToAnotherReplicaResumesWithADelta) {
  ASSERT_NO_FATAL_FAILURE(StartReplica(0));
  ASSERT_NO_FATAL_FAILURE(StartReplica(1));
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone());
  uint64_t held = 0;
  {
    testing::EdgeClient on_a(*replicas_[0], kEdgeToken);
    ASSERT_TRUE(on_a.Hello("moving-edge", 0));
    auto snapshot = on_a.Next();
    ASSERT_TRUE(snapshot.has_value() && snapshot->has_snapshot());
    held = snapshot->snapshot().version();
    on_a.Ack(held);
  }
  auto stub = replicas_[0]->Tenant();
  uint64_t changed = Revoke(*stub, "abc");
  ASSERT_GT(changed, held);
  testing::EdgeClient on_b(*replicas_[1], kEdgeToken);
  ASSERT_TRUE(on_b.Hello("moving-edge", held));
  auto message = on_b.Next();
  ASSERT_TRUE(message.has_value());
  ASSERT_TRUE(message->has_delta()) << message->DebugString();
  EXPECT_EQ(message->delta().from_version(), held);
  EXPECT_EQ(message->delta().version(), changed);
  ASSERT_EQ(message->delta().upserted_size(), 1);
  EXPECT_EQ(message->delta().upserted(0).hostname(), kZone);
}

TEST_F(ReplicasTest, Kill9OfAReplicaMidBurstLosesNoAcknowledgedWriteAndEdgesMoveOver) {
  ASSERT_NO_FATAL_FAILURE(StartReplica(0));
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone());
  replicas_[1]->ReservePort();
  std::string both = absl::StrCat(replicas_[0]->address(), ",", replicas_[1]->address());
  // Started while only A runs, both edges are on A when it is killed.
  std::vector<std::unique_ptr<EdgeProcess>> edges;
  for (int i = 0; i < 2; ++i) {
    edges.push_back(StartEdge(absl::StrCat("edge-", i), both));
    ASSERT_NE(edges.back(), nullptr);
  }
  uint64_t created = testing::ConfigVersion(*replicas_[0]);
  for (auto& edge : edges) {
    ASSERT_TRUE(edge->WaitForVersion(created)) << edge->ReadLog();
  }
  ASSERT_NO_FATAL_FAILURE(StartReplica(1));

  Acked acked;
  Burst(
      1000, 300, [&] { EXPECT_EQ(replicas_[0]->Stop(SIGKILL), 128 + SIGKILL); }, &acked);

  ExpectEveryAcknowledgedWriteStored(acked, *replicas_[1]);
  std::vector<uint64_t> versions = AuditVersions(url_);
  ExpectOneGapFreeSequence(versions);
  uint64_t final_version = testing::ConfigVersion(*replicas_[1]);
  EXPECT_EQ(final_version, versions.size());
  // The edges that were on A resume from B and reach the same version.
  for (auto& edge : edges) {
    EXPECT_TRUE(edge->WaitForVersion(final_version))
        << "serves " << edge->Metric("certgate_config_version") << ", want " << final_version;
  }
}

TEST_F(ReplicasTest, ADatabaseRestartUnderLoadLosesNothingAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(StartReplica(0));
  ASSERT_NO_FATAL_FAILURE(StartReplica(1));
  ASSERT_NO_FATAL_FAILURE(CreateTenantAndZone());
  auto edge = StartEdge("edge-on-b", replicas_[1]->address());
  ASSERT_NE(edge, nullptr);

  Acked acked;
  Burst(
      600, 150,
      [&] {
        cluster_->Crash();
        absl::SleepFor(absl::Milliseconds(300));
        ASSERT_TRUE(cluster_->Restart().ok());
      },
      &acked);
  // Both replicas serve again: a write through each succeeds.
  for (auto& replica : replicas_) {
    auto stub = replica->Tenant();
    EXPECT_TRUE(WaitFor([&] { return Revoke(*stub, absl::StrCat("ffff", replica->port())) != 0; },
                        absl::Seconds(10)));
  }
  ExpectEveryAcknowledgedWriteStored(acked, *replicas_[0]);
  std::vector<uint64_t> versions = AuditVersions(url_);
  ExpectOneGapFreeSequence(versions);
  uint64_t final_version = testing::ConfigVersion(*replicas_[1]);
  EXPECT_EQ(final_version, versions.size());
  EXPECT_TRUE(edge->WaitForVersion(final_version));
}

}  // namespace
}  // namespace certgate
