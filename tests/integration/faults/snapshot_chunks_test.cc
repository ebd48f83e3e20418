// Snapshots in chunks, end to end: a real certgate-control sends every
// snapshot as bounded chunks of one shared serialisation, and a real
// certgate-edge applies it only once whole; a stream cut in the middle of the
// chunks leaves the edge serving what it held until it reconnects.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "certgate/v1/tenant.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/controlplane/edge_client.h"
#include "tests/integration/faults/cutting_proxy.h"
#include "tests/integration/faults/edge_process.h"
#include "tests/integration/faults/test_origin.h"
#include "tests/integration/faults/tls_client.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/process.h"

namespace certgate::faults {
namespace {

using ::certgate::testing::Authorize;
using ::certgate::testing::ControlPlaneProcess;
using ::certgate::testing::EdgeClient;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::NewTenant;
using ::certgate::testing::RunCommand;
using ::certgate::testing::WaitFor;

constexpr int kChunkBytes = 1024;
constexpr char kServed[] = "served.chunks.test";

class SnapshotChunksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-chunks");
    // The token EdgeProcess gives its edges.
    std::string control_dir = MakeTempDir("certgate-chunks-control");
    testing::WriteFile(control_dir + "/edge.token", "fault-test-edge-token\n", 0600);
    control_ = std::make_unique<ControlPlaneProcess>(
        control_dir, std::vector<std::string>{"--insecure", "--snapshot-chunk-bytes",
                                              std::to_string(kChunkBytes)});
    std::string error;
    ASSERT_TRUE(control_->Start(&error)) << error;
    tenant_ = NewTenant(*control_, "chunks");
    auto origin = TestOrigin::Start(TestOrigin::Behavior::kEcho);
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = std::move(*origin);
  }

  // CreateZone: a report-mode zone on the echo origin; the config version.
  uint64_t CreateZone(const std::string& hostname) {
    v1::CreateZoneRequest request;
    request.set_hostname(hostname);
    request.set_origin(absl::StrCat("http://127.0.0.1:", origin_->port()));
    request.set_mode(v1::MODE_REPORT);
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    grpc::Status status = control_->Tenant()->CreateZone(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config_version();
  }

  uint64_t SetMode(v1::TenantService::Stub& stub, const std::string& hostname, v1::Mode mode) {
    v1::UpdateZoneRequest request;
    request.set_hostname(hostname);
    request.set_mode(mode);
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, tenant_);
    grpc::Status status = stub.UpdateZone(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config_version();
  }

  // Status: the edge's answer to a request without a client certificate:
  // 200 in report mode (forwarded to the origin), 403 in enforce mode.
  int Status(EdgeProcess& edge, const std::string& host) {
    auto client = TlsClient::Connect(edge.port(), host, absl::Seconds(10));
    if (!client.ok() ||
        !(*client)->Write(absl::StrCat("GET / HTTP/1.1\r\nHost: ", host, "\r\n\r\n"))) {
      return -1;
    }
    auto response = (*client)->ReadResponse();
    return response.ok() ? StatusCode(*response) : -1;
  }

  std::string dir_;
  std::unique_ptr<ControlPlaneProcess> control_;
  std::string tenant_;
  std::unique_ptr<TestOrigin> origin_;
};

// A snapshot several times the chunk size arrives as chunks no bigger than
// the limit, in order, that add up to the whole config.
TEST_F(SnapshotChunksTest, ASnapshotLargerThanAChunkArrivesAsBoundedChunks) {
  uint64_t version = 0;
  for (int i = 0; i < 4; ++i) {
    version = CreateZone(absl::StrCat("z", i, ".chunks.test"));
  }
  EdgeClient edge(*control_, control_->edge_token());
  ASSERT_TRUE(edge.Hello("chunked-edge", 0));
  auto first = edge.NextRaw();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->has_snapshot_chunk());
  const v1::SnapshotChunk& head = first->snapshot_chunk();
  EXPECT_EQ(head.version(), version);
  EXPECT_EQ(head.index(), 0u);
  EXPECT_EQ(head.sha256().size(), 32u);
  ASSERT_GE(head.count(), 4u) << head.total_bytes() << " bytes";
  EXPECT_EQ(head.count(), (head.total_bytes() + kChunkBytes - 1) / kChunkBytes);
  uint64_t received = head.data().size();
  EXPECT_EQ(received, static_cast<uint64_t>(kChunkBytes));
  for (uint32_t i = 1; i < head.count(); ++i) {
    auto next = edge.NextRaw();
    ASSERT_TRUE(next.has_value());
    ASSERT_TRUE(next->has_snapshot_chunk());
    const v1::SnapshotChunk& chunk = next->snapshot_chunk();
    EXPECT_EQ(chunk.index(), i);
    EXPECT_EQ(chunk.offset(), received);
    EXPECT_LE(chunk.data().size(), static_cast<size_t>(kChunkBytes));
    // The whole message, not just its data, stays near the chunk size.
    EXPECT_LE(next->ByteSizeLong(), static_cast<size_t>(kChunkBytes) + 128);
    received += chunk.data().size();
  }
  EXPECT_EQ(received, head.total_bytes());

  // A second edge gets the same bytes, assembled into every zone.
  EdgeClient other(*control_, control_->edge_token());
  ASSERT_TRUE(other.Hello("other-edge", 0));
  auto whole = other.Next();
  ASSERT_TRUE(whole.has_value());
  ASSERT_TRUE(whole->has_snapshot());
  EXPECT_EQ(whole->snapshot().version(), version);
  EXPECT_EQ(whole->snapshot().zones_size(), 4);
  EXPECT_EQ(other.last_chunk_sizes().size(), head.count());
}

TEST_F(SnapshotChunksTest, AChunkSizeOutsideItsRangeIsRefusedWithOneLine) {
  for (const std::string& bad : {std::string("63"), std::string("4194305")}) {
    auto result =
        RunCommand({testing::BinPath("certgate-control"), "--db", dir_ + "/unused.db", "--listen",
                    "127.0.0.1:0", "--insecure", "--snapshot-chunk-bytes", bad});
    EXPECT_NE(result.exit_code, 0);
    // CLI11's one line naming the flag and the range (then its --help hint).
    std::string first_line = result.err.substr(0, result.err.find('\n'));
    EXPECT_TRUE(absl::StrContains(first_line, "--snapshot-chunk-bytes")) << result.err;
    EXPECT_TRUE(absl::StrContains(first_line, "not in range")) << result.err;
  }
}

// An edge that was away past the change history needs a snapshot; the stream
// is cut halfway through its chunks. The edge keeps serving the version it
// held, says so in one line, and takes the whole snapshot after reconnecting.
TEST_F(SnapshotChunksTest, AStreamCutMidSnapshotKeepsTheHeldConfigUntilTheWholeOneArrives) {
  uint64_t held = 0;
  for (int i = 0; i < 4; ++i) {
    held = CreateZone(i == 0 ? std::string(kServed) : absl::StrCat("z", i, ".chunks.test"));
  }
  auto proxy = CuttingProxy::Start(control_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  std::string edge_dir = dir_ + "/edge";
  ASSERT_EQ(RunCommand({"mkdir", "-p", edge_dir}).exit_code, 0);
  std::vector<std::string> flags = {"--origin-allow", "127.0.0.0/8"};
  std::string via_proxy = absl::StrCat("127.0.0.1:", (*proxy)->port());
  {
    auto edge = EdgeProcess::Start(edge_dir, via_proxy, edge_dir + "/state", flags);
    ASSERT_TRUE(edge.ok()) << edge.status();
    ASSERT_TRUE((*edge)->WaitForVersion(held)) << (*edge)->ReadLog();
    // Logged once the state file holds it (the version metric comes first).
    ASSERT_TRUE(WaitFor(
        [&] {
          return absl::StrContains((*edge)->ReadLog(),
                                   absl::StrCat("applied config version ", held, "\n"));
        },
        absl::Seconds(10)))
        << (*edge)->ReadLog();
    EXPECT_EQ(Status(**edge, kServed), 200);
  }
  // While the edge is down, more changes than the control plane keeps as
  // deltas (1,000), the last one making the served zone enforce.
  std::atomic<uint64_t> last{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    std::string churn = absl::StrCat("churn", w, ".chunks.test");
    CreateZone(churn);
    writers.emplace_back([&, churn] {
      auto stub = control_->Tenant();
      for (int i = 0; i < 260; ++i) {
        SetMode(*stub, churn, i % 2 == 0 ? v1::MODE_ENFORCE : v1::MODE_REPORT);
      }
    });
  }
  for (std::thread& writer : writers) {
    writer.join();
  }
  auto stub = control_->Tenant();
  uint64_t latest = SetMode(*stub, kServed, v1::MODE_ENFORCE);
  ASSERT_GT(latest, held + 1000);

  // The edge restarts from its state file; its snapshot is cut halfway.
  EdgeClient probe(*control_, control_->edge_token());
  ASSERT_TRUE(probe.Hello("probe", 0));
  auto first = probe.NextRaw();
  ASSERT_TRUE(first.has_value() && first->has_snapshot_chunk());
  uint64_t snapshot_bytes = first->snapshot_chunk().total_bytes();
  ASSERT_GE(first->snapshot_chunk().count(), 8u);
  (*proxy)->CutAfter(snapshot_bytes / 2);
  auto edge = EdgeProcess::Start(edge_dir, via_proxy, edge_dir + "/state", flags);
  ASSERT_TRUE(edge.ok()) << edge.status();
  ASSERT_TRUE(WaitFor([&] { return (*proxy)->cut(); }, absl::Seconds(20))) << (*edge)->ReadLog();
  (*proxy)->SetRefusing(true);
  std::string expected =
      absl::StrCat("of snapshot version ", latest, "; discarded it, keeping config version ", held);
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains((*edge)->ReadLog(), expected); }, absl::Seconds(20)))
      << (*edge)->ReadLog();
  EXPECT_EQ((*edge)->Metric("certgate_config_version"), static_cast<double>(held));
  EXPECT_EQ((*edge)->Metric("certgate_configs_refused_total"), 0);
  EXPECT_EQ(Status(**edge, kServed), 200);

  // Back again: the whole snapshot is taken and served.
  (*proxy)->SetRefusing(false);
  ASSERT_TRUE((*edge)->WaitForVersion(latest)) << (*edge)->ReadLog();
  EXPECT_EQ(Status(**edge, kServed), 403);
}

}  // namespace
}  // namespace certgate::faults
