// Fault tests of certgate-edge: a real edge process on loopback, fed by an
// in-process fake control plane, in front of origins that misbehave on
// purpose, with clients that misbehave too. Every test bounds its waits.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dataplane/server/open_file_budget.h"
#include "gtest/gtest.h"
#include "tests/integration/faults/cutting_proxy.h"
#include "tests/integration/faults/edge_process.h"
#include "tests/integration/faults/fake_control_plane.h"
#include "tests/integration/faults/test_origin.h"
#include "tests/integration/faults/tls_client.h"
#include "tests/support/build_flavor.h"
#include "tests/support/process.h"

namespace certgate::faults {
namespace {

using ::certgate::testing::FreePort;
using ::certgate::testing::MakeTempDir;
using ::certgate::testing::WaitFor;

constexpr char kGood[] = "good.auth.pizza";
constexpr char kBad[] = "bad.auth.pizza";
constexpr char kEnforce[] = "enforce.auth.pizza";
constexpr uint64_t kGoodId = 1;
constexpr uint64_t kBadId = 2;
constexpr uint64_t kEnforceId = 3;

std::string Get(const std::string& host, const std::string& path = "/") {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n");
}

class EdgeFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-faults");
    auto good = TestOrigin::Start(TestOrigin::Behavior::kEcho);
    ASSERT_TRUE(good.ok()) << good.status();
    good_origin_ = std::move(*good);
    control_port_ = FreePort();
    ASSERT_TRUE(control_.Start(control_port_));
  }

  void TearDown() override {
    edge_.reset();
    control_.Stop();
  }

  // Snapshot: good (report) and enforce zones on the echo origin, bad
  // (report) on `bad_origin_port`.
  v1::Snapshot MakeSnapshot(uint64_t version, int bad_origin_port) {
    v1::Snapshot snapshot;
    snapshot.set_version(version);
    *snapshot.add_zones() = MakeZone(kGoodId, kGood, v1::MODE_REPORT, good_origin_->port());
    *snapshot.add_zones() = MakeZone(kBadId, kBad, v1::MODE_REPORT, bad_origin_port);
    *snapshot.add_zones() = MakeZone(kEnforceId, kEnforce, v1::MODE_ENFORCE, good_origin_->port());
    return snapshot;
  }

  // StartEdge publishes version 1 and starts an edge that serves it.
  void StartEdge(int bad_origin_port, const std::vector<std::string>& flags,
                 const std::string& control_address = "") {
    control_.Publish(MakeSnapshot(1, bad_origin_port));
    std::string address =
        control_address.empty() ? absl::StrCat("127.0.0.1:", control_port_) : control_address;
    auto edge = EdgeProcess::Start(dir_, address, dir_ + "/state", flags);
    ASSERT_TRUE(edge.ok()) << edge.status();
    edge_ = std::move(*edge);
    ASSERT_TRUE(edge_->WaitForVersion(1)) << edge_->ReadLog();
  }

  // Exchange sends `request` on a new connection to `sni` and reads one
  // response.
  std::string Exchange(const std::string& sni, const std::string& request,
                       absl::Duration timeout = absl::Seconds(10)) {
    auto client = TlsClient::Connect(edge_->port(), sni, timeout);
    if (!client.ok()) {
      return absl::StrCat("connect failed: ", client.status().message());
    }
    if (!(*client)->Write(request)) {
      return "write failed";
    }
    auto response = (*client)->ReadResponse();
    return response.ok() ? *response : absl::StrCat("read failed: ", response.status().message());
  }

  // GoodZoneServes: a request to the healthy zone still reaches its origin.
  void ExpectGoodZoneServes() {
    int before = good_origin_->requests();
    std::string response = Exchange(kGood, Get(kGood, "/still-serving"));
    EXPECT_EQ(StatusCode(response), 200) << response;
    EXPECT_EQ(good_origin_->requests(), before + 1);
  }

  std::string dir_;
  int control_port_ = 0;
  FakeControlPlane control_;
  std::unique_ptr<TestOrigin> good_origin_;
  std::unique_ptr<EdgeProcess> edge_;
};

// --- origins that fail -----------------------------------------------------------

TEST_F(EdgeFaultTest, OriginResetBeforeResponseIs502AndOtherZonesKeepServing) {
  auto bad = TestOrigin::Start(TestOrigin::Behavior::kResetBeforeResponse);
  ASSERT_TRUE(bad.ok());
  ASSERT_NO_FATAL_FAILURE(StartEdge((*bad)->port(), {}));
  std::string response = Exchange(kBad, Get(kBad));
  EXPECT_EQ(StatusCode(response), 502) << response;
  EXPECT_EQ((*bad)->requests(), 1);
  ExpectGoodZoneServes();
  EXPECT_GE(edge_->Metric("certgate_origin_errors_total"), 1);
}

// A pooled origin connection that the origin closes as a request arrives:
// an idempotent request without a body is resent once on a new connection
// (the client never sees the race); one with a body, or a POST even without
// one, is not (the origin may have acted on it), and gets 502.
TEST_F(EdgeFaultTest, RequestOnAPooledConnectionTheOriginClosedIsRetriedOnceWithoutABody) {
  auto origin = TestOrigin::Start(TestOrigin::Behavior::kOneResponsePerConnection);
  ASSERT_TRUE(origin.ok());
  ASSERT_NO_FATAL_FAILURE(StartEdge((*origin)->port(), {}));
  auto client = TlsClient::Connect(edge_->port(), kBad);
  ASSERT_TRUE(client.ok()) << client.status();
  auto exchange = [&](const std::string& request) -> std::string {
    if (!(*client)->Write(request)) {
      return "write failed";
    }
    auto response = (*client)->ReadResponse();
    return response.ok() ? *response : std::string(response.status().message());
  };
  std::string first = exchange(Get(kBad, "/first"));
  EXPECT_EQ(StatusCode(first), 200) << first;
  EXPECT_EQ((*origin)->requests(), 1);

  std::string second = exchange(Get(kBad, "/second"));
  EXPECT_EQ(StatusCode(second), 200) << second;
  EXPECT_EQ((*origin)->requests(), 3) << "the pooled attempt and the retry";
  EXPECT_TRUE(absl::StartsWith((*origin)->last_head(), "GET /second ")) << (*origin)->last_head();
  EXPECT_EQ(edge_->Metric("certgate_origin_retries_total"), 1);

  std::string post = exchange(
      absl::StrCat("POST /order HTTP/1.1\r\nHost: ", kBad, "\r\nContent-Length: 5\r\n\r\nhello"));
  EXPECT_EQ(StatusCode(post), 502) << post;
  EXPECT_EQ((*origin)->requests(), 4) << "a request with a body is sent once";
  EXPECT_EQ(edge_->Metric("certgate_origin_retries_total"), 1);

  // A GET on a new origin connection, which then waits in the pool having
  // answered once; the body-less POST after it gets that connection.
  client = TlsClient::Connect(edge_->port(), kBad);
  ASSERT_TRUE(client.ok()) << client.status();
  std::string fresh = exchange(Get(kBad, "/fresh"));
  EXPECT_EQ(StatusCode(fresh), 200) << fresh;
  EXPECT_EQ((*origin)->requests(), 5);
  std::string bodyless_post =
      exchange(absl::StrCat("POST /launch HTTP/1.1\r\nHost: ", kBad, "\r\n\r\n"));
  EXPECT_EQ(StatusCode(bodyless_post), 502) << bodyless_post;
  EXPECT_EQ((*origin)->requests(), 6) << "a POST is sent once, even without a body";
  EXPECT_EQ(edge_->Metric("certgate_origin_retries_total"), 1);
}

// The same race for HTTP/2 streams (curl --http2, one connection): a pooled
// connection is taken without a check for an idempotent request without a
// body, which is resent once on a new connection when the origin closed it;
// a POST with a body is sent once and gets 502.
TEST_F(EdgeFaultTest, Http2StreamOnAPooledConnectionTheOriginClosedIsRetriedOnceWithoutABody) {
  auto origin = TestOrigin::Start(TestOrigin::Behavior::kOneResponsePerConnection);
  ASSERT_TRUE(origin.ok());
  ASSERT_NO_FATAL_FAILURE(StartEdge((*origin)->port(), {}));
  std::string base = absl::StrCat("https://", kBad, ":", edge_->port());
  std::string resolve = absl::StrCat(kBad, ":", edge_->port(), ":127.0.0.1");
  // Two GETs one after the other on one HTTP/2 connection: "%{http_version}
  // %{http_code}" per request.
  ::certgate::testing::CommandResult gets = ::certgate::testing::RunCommand(
      {"/usr/bin/curl", "-sk", "--http2", "--max-time", "20", "--resolve", resolve, "-o",
       "/dev/null", "-w", "%{http_version} %{http_code}\n", base + "/first", "-o", "/dev/null",
       "-w", "%{http_version} %{http_code}\n", base + "/second"});
  EXPECT_EQ(gets.exit_code, 0) << gets.err;
  EXPECT_EQ(gets.out, "2 200\n2 200\n") << gets.err;
  EXPECT_EQ((*origin)->requests(), 3) << "the first, the pooled attempt and the retry";
  EXPECT_TRUE(absl::StartsWith((*origin)->last_head(), "GET /second ")) << (*origin)->last_head();
  EXPECT_EQ(edge_->Metric("certgate_origin_retries_total"), 1);

  // The connection of the retry waits in the pool having answered once: a
  // POST with a body gets it, is sent once and answered 502.
  ::certgate::testing::CommandResult post = ::certgate::testing::RunCommand(
      {"/usr/bin/curl", "-sk", "--http2", "--max-time", "20", "--resolve", resolve, "-o",
       "/dev/null", "-w", "%{http_version} %{http_code}", "--data-binary", "hello",
       base + "/order"});
  EXPECT_EQ(post.out, "2 502") << post.err;
  EXPECT_EQ((*origin)->requests(), 4) << "a request with a body is sent once";
  EXPECT_TRUE(absl::StartsWith((*origin)->last_head(), "POST /order ")) << (*origin)->last_head();
  EXPECT_EQ(edge_->Metric("certgate_origin_retries_total"), 1);
}

TEST_F(EdgeFaultTest, OriginResetMidResponseClosesTheClientConnection) {
  auto bad = TestOrigin::Start(TestOrigin::Behavior::kResetMidResponse);
  ASSERT_TRUE(bad.ok());
  ASSERT_NO_FATAL_FAILURE(StartEdge((*bad)->port(), {}));
  auto client = TlsClient::Connect(edge_->port(), kBad);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Write(Get(kBad)));
  // The 200 head and part of the body were relayed; the rest never comes, so
  // the edge must close (the client sees a short body), not hang or pad.
  auto received = (*client)->ReadUntilClosed(absl::Seconds(10));
  ASSERT_TRUE(received.ok()) << "edge kept the connection open: " << received.status();
  if (StatusCode(*received) == 200) {
    size_t body = received->size() - received->find("\r\n\r\n") - 4;
    EXPECT_LT(body, 100000u) << "a truncated response must not look complete";
  } else {
    EXPECT_EQ(StatusCode(*received), 502) << *received;
  }
  ExpectGoodZoneServes();
}

TEST_F(EdgeFaultTest, OriginThatNeverAnswersIs504WithinTheOriginTimeout) {
  auto bad = TestOrigin::Start(TestOrigin::Behavior::kNeverAnswer);
  ASSERT_TRUE(bad.ok());
  ASSERT_NO_FATAL_FAILURE(StartEdge((*bad)->port(), {"--origin-timeout-ms", "1000"}));
  absl::Time start = absl::Now();
  std::string response = Exchange(kBad, Get(kBad), absl::Seconds(15));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(StatusCode(response), 504) << response;
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(8));
  ExpectGoodZoneServes();
}

TEST_F(EdgeFaultTest, OriginRefusingConnectionsIs502) {
  int closed_port = FreePort();  // nothing listens there
  ASSERT_NO_FATAL_FAILURE(StartEdge(closed_port, {}));
  std::string response = Exchange(kBad, Get(kBad));
  EXPECT_EQ(StatusCode(response), 502) << response;
  ExpectGoodZoneServes();
}

// --- clients that misbehave ------------------------------------------------------

TEST_F(EdgeFaultTest, HeadersDribbledPastTheHeaderTimeoutAreCutOff) {
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {"--header-timeout-ms", "1000"}));
  auto client = TlsClient::Connect(edge_->port(), kGood);
  ASSERT_TRUE(client.ok()) << client.status();
  // One byte every 100 ms: each byte is progress, but the whole head is not
  // there after a second, so the edge must give up on it.
  std::string head = absl::StrCat("GET / HTTP/1.1\r\nHost: ", kGood,
                                  "\r\nX-Slow: ", std::string(200, 'a'), "\r\n\r\n");
  absl::Time start = absl::Now();
  size_t sent = 0;
  bool cut = false;
  while (sent < head.size() && absl::Now() - start < absl::Seconds(10)) {
    if (!(*client)->Write(head.substr(sent, 1))) {
      cut = true;
      break;
    }
    ++sent;
    if ((*client)->ReadableWithin(absl::Milliseconds(100))) {
      cut = true;  // a 408 or the close
      break;
    }
  }
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(cut) << "still reading headers after " << took << " and " << sent << " bytes";
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(4));
  EXPECT_LT(sent, head.size());
  auto rest = (*client)->ReadUntilClosed(absl::Seconds(5));
  ASSERT_TRUE(rest.ok()) << "connection not closed after the header timeout";
  if (!rest->empty()) {
    EXPECT_EQ(StatusCode(*rest), 408) << *rest;
  }
  EXPECT_EQ(good_origin_->requests(), 0);
  // Not even a partial head may have been relayed before the cut-off.
  EXPECT_EQ(good_origin_->bytes_received(), 0u);
  ExpectGoodZoneServes();
}

// Memory bound documented here and in the design: an idle keep-alive
// connection costs the edge less than 64 KiB.
constexpr int kIdleConnections = 5000;
constexpr int kWarmupConnections = 100;
constexpr int64_t kMaxKiBPerIdleConnection = 64;

using ::certgate::testing::kSanitizedBuild;

TEST_F(EdgeFaultTest, FiveThousandIdleConnectionsStayCheapAndNewOnesAreServed) {
  rlimit limit{65536, 65536};
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 2 * kIdleConnections + 100) {
      GTEST_SKIP() << "RLIMIT_NOFILE " << limit.rlim_cur << " is too low for this test";
    }
  }
  ASSERT_NO_FATAL_FAILURE(StartEdge(
      good_origin_->port(), {"--idle-timeout-ms", "600000", "--handshake-timeout-ms", "60000"}));
  std::vector<std::unique_ptr<TlsClient>> idle;
  idle.reserve(kIdleConnections);
  auto open_idle = [&](int count) {
    for (int i = 0; i < count; ++i) {
      // An enforce zone answers a certificate-less client itself (403) and
      // keeps the connection alive: no origin traffic, a truly idle socket.
      auto client = TlsClient::Connect(edge_->port(), kEnforce);
      ASSERT_TRUE(client.ok()) << "connection " << idle.size() << ": " << client.status();
      ASSERT_TRUE((*client)->Write(Get(kEnforce)));
      auto response = (*client)->ReadResponse();
      ASSERT_TRUE(response.ok() && StatusCode(*response) == 403)
          << "connection " << idle.size() << ": "
          << (response.ok() ? *response : std::string(response.status().message()));
      idle.push_back(std::move(*client));
    }
  };
  ASSERT_NO_FATAL_FAILURE(open_idle(kWarmupConnections));
  int64_t before = edge_->RssKiB();
  ASSERT_NO_FATAL_FAILURE(open_idle(kIdleConnections - kWarmupConnections));
  int64_t after = edge_->RssKiB();
  ASSERT_GT(before, 0);
  int64_t per_connection = (after - before) / (kIdleConnections - kWarmupConnections);
  RecordProperty("rss_before_kib", static_cast<int>(before));
  RecordProperty("rss_after_kib", static_cast<int>(after));
  std::printf("edge RSS %lld KiB with %d connections, %lld KiB with %d: %lld KiB each\n",
              static_cast<long long>(before), kWarmupConnections, static_cast<long long>(after),
              kIdleConnections, static_cast<long long>(per_connection));
  if (!kSanitizedBuild) {
    EXPECT_LT(per_connection, kMaxKiBPerIdleConnection);
  }
  EXPECT_GE(edge_->Metric("certgate_connections_open"), kIdleConnections);
  ExpectGoodZoneServes();
  // And the idle ones are still alive: the first one answers again.
  ASSERT_TRUE(idle.front()->Write(Get(kEnforce)));
  auto again = idle.front()->ReadResponse();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(StatusCode(*again), 403) << *again;
}

// A connection that never finishes its TLS handshake (here: never starts
// it) is closed after the handshake timeout.
TEST_F(EdgeFaultTest, SilentConnectionIsClosedAfterTheHandshakeTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {"--handshake-timeout-ms", "1000"}));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(edge_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  absl::Time start = absl::Now();
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  absl::Duration took = absl::Now() - start;
  close(fd);
  EXPECT_LE(n, 0) << "the edge sent something to a silent client";
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(5)) << "silent connection held open";
  ExpectGoodZoneServes();
}

// --max-connections-per-worker: past the limit new connections are closed
// at once; when some close, new ones are served again.
TEST_F(EdgeFaultTest, ConnectionsPastTheLimitAreRefusedUntilSomeClose) {
  constexpr int kLimit = 20;
  ASSERT_NO_FATAL_FAILURE(
      StartEdge(good_origin_->port(), {"--max-connections-per-worker", absl::StrCat(kLimit)}));
  std::vector<std::unique_ptr<TlsClient>> held;
  for (int i = 0; i < kLimit; ++i) {
    auto client = TlsClient::Connect(edge_->port(), kEnforce);
    ASSERT_TRUE(client.ok()) << "connection " << i << ": " << client.status();
    held.push_back(std::move(*client));
  }
  auto refused = TlsClient::Connect(edge_->port(), kGood, absl::Seconds(5));
  EXPECT_FALSE(refused.ok()) << "connection " << kLimit + 1 << " was accepted";
  held.resize(kLimit - 5);
  ASSERT_TRUE(
      WaitFor([&] { return TlsClient::Connect(edge_->port(), kGood).ok(); }, absl::Seconds(10)));
  ExpectGoodZoneServes();
}

// Without the flag, each worker's limit is what the open-file limit allows:
// the edge raises its soft limit to the hard one and says what it chose.
TEST_F(EdgeFaultTest, DefaultConnectionLimitFollowsTheOpenFileLimit) {
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_NE(limit.rlim_max, RLIM_INFINITY);
  size_t hard = static_cast<size_t>(limit.rlim_max);
  std::string expected =
      absl::StrCat("at most ", edge::ConnectionsPerWorker(hard, 1),
                   " connections per worker (1 workers, open-file limit ", hard, ")");
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), expected)) << edge_->ReadLog();
}

// Each request must be refused with `status` before anything is forwarded.
struct BadRequest {
  const char* name;
  std::string request;
  int status;
};

TEST_F(EdgeFaultTest, MalformedAndSmugglingRequestsAreRefusedAndNothingIsForwarded) {
  ASSERT_NO_FATAL_FAILURE(
      StartEdge(good_origin_->port(), {"--max-header-bytes", "4096", "--max-headers", "20"}));
  std::string many_headers = absl::StrCat("GET / HTTP/1.1\r\nHost: ", kGood, "\r\n");
  for (int i = 0; i < 30; ++i) {
    absl::StrAppend(&many_headers, "X-H", i, ": v\r\n");
  }
  many_headers += "\r\n";
  std::vector<BadRequest> cases = {
      {"oversized header",
       absl::StrCat("GET / HTTP/1.1\r\nHost: ", kGood, "\r\nX-Big: ", std::string(8000, 'b'),
                    "\r\n\r\n"),
       431},
      {"too many headers", many_headers, 431},
      {"invalid Content-Length",
       absl::StrCat("POST / HTTP/1.1\r\nHost: ", kGood, "\r\nContent-Length: 12abc\r\n\r\nhello"),
       400},
      {"negative Content-Length",
       absl::StrCat("POST / HTTP/1.1\r\nHost: ", kGood, "\r\nContent-Length: -5\r\n\r\nhello"),
       400},
      {"two different Content-Lengths",
       absl::StrCat("POST / HTTP/1.1\r\nHost: ", kGood,
                    "\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
       400},
      {"Content-Length and Transfer-Encoding",
       absl::StrCat("POST / HTTP/1.1\r\nHost: ", kGood,
                    "\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    "GET /smuggled HTTP/1.1\r\nHost: ",
                    kGood, "\r\n\r\n"),
       400},
      {"Transfer-Encoding not ending in chunked",
       absl::StrCat("POST / HTTP/1.1\r\nHost: ", kGood,
                    "\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
       400},
  };
  for (const BadRequest& c : cases) {
    SCOPED_TRACE(c.name);
    auto client = TlsClient::Connect(edge_->port(), kGood);
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)->Write(c.request));
    auto response = (*client)->ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(StatusCode(*response), c.status) << *response;
    // Refused requests end the connection: nothing after them is parsed.
    EXPECT_TRUE((*client)->ClosedWithin(absl::Seconds(5)));
    EXPECT_EQ(good_origin_->requests(), 0) << "forwarded: " << good_origin_->last_head();
    // requests() counts complete heads only: a refused request must not
    // leak even a fragment (a smuggled prefix) to the origin.
    EXPECT_EQ(good_origin_->bytes_received(), 0u);
  }
  // The origin counts what arrives: a good request is counted.
  ExpectGoodZoneServes();
}

// --max-body-bytes: a declared Content-Length above the limit is refused
// with 413 before the origin is contacted; a chunked body that grows past it
// gets 413 too, and the origin never sees more than the limit nor a complete
// request. Bodies within the limit pass.
TEST_F(EdgeFaultTest, RequestBodiesAboveTheLimitAre413AndNeverReachTheOrigin) {
  constexpr size_t kLimit = 65536;
  ASSERT_NO_FATAL_FAILURE(
      StartEdge(good_origin_->port(), {"--max-body-bytes", absl::StrCat(kLimit)}));
  auto post = [](size_t length) {
    return absl::StrCat("POST /upload HTTP/1.1\r\nHost: ", kGood, "\r\nContent-Length: ", length,
                        "\r\n\r\n");
  };

  // Exactly the limit passes.
  std::string response = Exchange(kGood, post(kLimit) + std::string(kLimit, 'a'));
  EXPECT_EQ(StatusCode(response), 200) << response;
  ASSERT_EQ(good_origin_->requests(), 1);
  uint64_t origin_bytes = good_origin_->bytes_received();

  // One byte more is refused on the head alone; the body is never sent.
  auto client = TlsClient::Connect(edge_->port(), kGood);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Write(post(kLimit + 1)));
  auto refused = (*client)->ReadResponse();
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(StatusCode(*refused), 413) << *refused;
  EXPECT_TRUE(absl::StrContains(*refused, "larger than the limit of 65536 bytes")) << *refused;
  EXPECT_TRUE((*client)->ClosedWithin(absl::Seconds(5)));
  EXPECT_EQ(good_origin_->requests(), 1);
  EXPECT_EQ(good_origin_->bytes_received(), origin_bytes);

  // A chunked body: the head goes to the origin at once, then 16 KiB chunks,
  // 160 KiB in all, and no last chunk.
  client = TlsClient::Connect(edge_->port(), kGood);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Write(absl::StrCat("POST /stream HTTP/1.1\r\nHost: ", kGood,
                                            "\r\nTransfer-Encoding: chunked\r\n\r\n")));
  std::string chunk = absl::StrCat("4000\r\n", std::string(0x4000, 'c'), "\r\n");
  for (int i = 0; i < 10; ++i) {
    if (!(*client)->Write(chunk)) {
      break;  // the edge may have answered and closed already
    }
  }
  auto cut = (*client)->ReadResponse();
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(StatusCode(*cut), 413) << *cut;
  EXPECT_TRUE((*client)->ClosedWithin(absl::Seconds(5)));
  // The origin got the head and at most the limit of body (plus chunk
  // framing), never a whole request.
  EXPECT_EQ(good_origin_->requests(), 1);
  uint64_t streamed = good_origin_->bytes_received() - origin_bytes;
  EXPECT_LE(streamed, kLimit + 4096) << "the edge forwarded past the limit";
  // Both refusals are counted (and logged), though neither body was read.
  EXPECT_EQ(edge_->Metric("certgate_requests_total{zone=\"good.auth.pizza\",code=\"413\"}"), 2);

  // A chunked body within the limit passes.
  response =
      Exchange(kGood, absl::StrCat("POST /small HTTP/1.1\r\nHost: ", kGood,
                                   "\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, "0\r\n\r\n"));
  EXPECT_EQ(StatusCode(response), 200) << response;
  EXPECT_EQ(good_origin_->requests(), 2);
}

// The request target may carry its own authority (absolute form). RFC 9112
// 3.2.2 makes that authority, not Host, the target of the request, so an
// origin (or proxy behind the edge) may route by it: the edge checks Host
// against the zone and refuses (421) an absolute-form target whose authority
// is not the zone's; one inside the zone reaches the origin in origin form.
TEST_F(EdgeFaultTest, AbsoluteFormTargetOutsideTheZoneIsNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  std::string response = Exchange(
      kGood, absl::StrCat("GET http://evil.example/admin HTTP/1.1\r\nHost: ", kGood, "\r\n\r\n"));
  EXPECT_EQ(StatusCode(response), 421) << response;
  EXPECT_EQ(good_origin_->requests(), 0) << "forwarded: " << good_origin_->last_head();
  EXPECT_EQ(good_origin_->bytes_received(), 0u);

  response = Exchange(kGood, absl::StrCat("GET https://", kGood,
                                          "/inside?q=1 HTTP/1.1\r\nHost: ", kGood, "\r\n\r\n"));
  EXPECT_EQ(StatusCode(response), 200) << response;
  EXPECT_TRUE(absl::StartsWith(good_origin_->last_head(), "GET /inside?q=1 HTTP/1.1\r\n"))
      << good_origin_->last_head();
}

// --- the control plane stream ----------------------------------------------------

// A snapshot large enough that a cut lands in its middle.
v1::Snapshot BigSnapshot(uint64_t version, int origin_port) {
  v1::Snapshot snapshot;
  snapshot.set_version(version);
  for (int i = 0; i < 300; ++i) {
    *snapshot.add_zones() =
        MakeZone(100 + i, absl::StrCat("z", i, ".auth.pizza"), v1::MODE_REPORT, origin_port);
  }
  // The good zone turns enforce in this version: observable by a client.
  *snapshot.add_zones() = MakeZone(kGoodId, kGood, v1::MODE_ENFORCE, origin_port);
  return snapshot;
}

TEST_F(EdgeFaultTest, StreamCutInTheMiddleOfASnapshotKeepsTheOldConfig) {
  auto proxy = CuttingProxy::Start(control_port_);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  ASSERT_NO_FATAL_FAILURE(
      StartEdge(good_origin_->port(), {}, absl::StrCat("127.0.0.1:", (*proxy)->port())));
  ASSERT_TRUE(WaitFor([&] { return !control_.acks().empty(); }, absl::Seconds(10)));

  v1::Snapshot big = BigSnapshot(2, good_origin_->port());
  ASSERT_GT(big.ByteSizeLong(), 200000u);
  (*proxy)->CutAfter(big.ByteSizeLong() / 3);
  (*proxy)->SetRefusing(true);  // after the cut, the control plane stays away
  int connections_before_cut = (*proxy)->attempts();
  control_.Publish(big);
  ASSERT_TRUE(WaitFor([&] { return (*proxy)->cut(); }, absl::Seconds(10)));
  // A refused reconnect proves the edge saw the stream end and is done with
  // the half-received version 2, so the checks below are not just early.
  ASSERT_TRUE(
      WaitFor([&] { return (*proxy)->attempts() > connections_before_cut; }, absl::Seconds(10)))
      << edge_->ReadLog();
  // Version 1 is still what the edge serves: report mode, 200 without a
  // certificate; no ACK or NACK for the half-received version 2, and the
  // truncated bytes were not taken for a malformed config either.
  EXPECT_EQ(edge_->Metric("certgate_config_version"), 1);
  EXPECT_EQ(edge_->Metric("certgate_configs_refused_total"), 0);
  EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 200);
  for (uint64_t acked : control_.acks()) {
    EXPECT_NE(acked, 2u);
  }
  EXPECT_TRUE(control_.nacks().empty());

  // The control plane returns: the edge reconnects and takes version 2 whole.
  (*proxy)->SetRefusing(false);
  ASSERT_TRUE(edge_->WaitForVersion(2)) << edge_->ReadLog();
  ASSERT_TRUE(WaitFor([&] { return control_.acks().back() == 2; }, absl::Seconds(10)));
  EXPECT_TRUE(control_.nacks().empty());
  EXPECT_EQ(edge_->Metric("certgate_configs_refused_total"), 0);
  EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 403);
}

TEST_F(EdgeFaultTest, ZonesThatFailToBuildAreAckedAsFailuresAndKeepTheirLastGoodBuild) {
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  ASSERT_TRUE(WaitFor([&] { return !control_.acks().empty(); }, absl::Seconds(10)));

  struct Malformed {
    const char* what;
    v1::Snapshot snapshot;
    uint64_t failed_zone;
    const char* error_mentions;
  };
  std::vector<Malformed> cases;
  {
    v1::Snapshot s = MakeSnapshot(2, good_origin_->port());
    *s.add_zones() = MakeZone(9, kGood, v1::MODE_OFF, good_origin_->port());
    cases.push_back({"hostname twice", s, 9, "already served by zone 1"});
  }
  {
    v1::Snapshot s = MakeSnapshot(3, good_origin_->port());
    s.mutable_zones(0)->set_server_key_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n");
    cases.push_back({"bad server key", s, kGoodId, "server key"});
  }
  {
    v1::Snapshot s = MakeSnapshot(4, good_origin_->port());
    s.mutable_zones(1)->add_roots_der(std::string("\x30\x82\x01", 3));
    cases.push_back({"truncated root DER", s, kBadId, "root"});
  }
  {
    v1::Snapshot s = MakeSnapshot(5, good_origin_->port());
    s.mutable_zones(2)->set_origin("gopher://127.0.0.1:70");
    cases.push_back({"bad origin", s, kEnforceId, "gopher"});
  }
  {
    v1::Snapshot s = MakeSnapshot(6, good_origin_->port());
    auto* mapping = s.mutable_zones(0)->add_header_mappings();
    mapping->set_header("X-Bad\r\nInjected");
    mapping->set_selector("subject.CN");
    cases.push_back({"header name with CRLF", s, kGoodId, "header"});
  }
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    control_.Publish(c.snapshot);
    ASSERT_TRUE(edge_->WaitForVersion(c.snapshot.version())) << edge_->ReadLog();
    ASSERT_TRUE(
        WaitFor([&] { return control_.acks().back() == c.snapshot.version(); }, absl::Seconds(10)));
    v1::Ack ack = control_.ack_messages().back();
    ASSERT_EQ(ack.failures_size(), 1) << ack.DebugString();
    EXPECT_EQ(ack.failures(0).zone_id(), c.failed_zone);
    EXPECT_TRUE(absl::StrContains(ack.failures(0).error(), c.error_mentions))
        << ack.failures(0).error();
    // The failed zone keeps its version-1 build; the others serve as sent.
    EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 200);
    EXPECT_EQ(StatusCode(Exchange(kEnforce, Get(kEnforce))), 403);
    EXPECT_EQ(edge_->Metric("certgate_zones_failed"), 1);
  }
  EXPECT_TRUE(control_.nacks().empty());
  EXPECT_EQ(edge_->Metric("certgate_configs_refused_total"), 0);
  EXPECT_EQ(edge_->Metric("certgate_zone_build_failures_total"), static_cast<double>(cases.size()));
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "failed to build"));

  // A snapshot that contradicts itself cannot be read at all: that is a NACK.
  v1::Snapshot twice = MakeSnapshot(7, good_origin_->port());
  *twice.add_zones() = MakeZone(kGoodId, "other.auth.pizza", v1::MODE_OFF, good_origin_->port());
  control_.Publish(twice);
  ASSERT_TRUE(WaitFor([&] { return !control_.nacks().empty(); }, absl::Seconds(10)))
      << edge_->ReadLog();
  EXPECT_EQ(control_.nacks().back().version(), 7u);
  EXPECT_EQ(control_.nacks().back().error(), "snapshot lists zone id 1 twice");
  EXPECT_EQ(edge_->Metric("certgate_config_version"), 6);
  EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 200);
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "refused config version"));
}

// --- the state directory ---------------------------------------------------------

TEST_F(EdgeFaultTest, UnwritableStateFileKeepsServingAndSaysSo) {
  // Tests run as root, where file modes stop nothing: make the state file's
  // path a directory, which no rename can replace.
  std::string state_dir = dir_ + "/state";
  ASSERT_EQ(mkdir(state_dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((state_dir + "/config.pb").c_str(), 0700), 0);
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  std::string first = Exchange(kGood, Get(kGood));
  EXPECT_EQ(StatusCode(first), 200) << first << edge_->ReadLog();
  ASSERT_TRUE(
      WaitFor([&] { return edge_->Metric("certgate_config_state_write_errors_total") >= 1; },
              absl::Seconds(10)))
      << edge_->ReadLog();
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "writing the state file failed"))
      << edge_->ReadLog();

  // A new version is still applied and served from memory.
  v1::Snapshot next = MakeSnapshot(2, good_origin_->port());
  next.mutable_zones(0)->set_mode(v1::MODE_ENFORCE);
  control_.Publish(next);
  ASSERT_TRUE(edge_->WaitForVersion(2)) << edge_->ReadLog();
  EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 403);
  // The slot is published before the state write: the counter follows.
  EXPECT_TRUE(
      WaitFor([&] { return edge_->Metric("certgate_config_state_write_errors_total") >= 2; },
              absl::Seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return !control_.acks().empty() && control_.acks().back() == 2; },
                      absl::Seconds(10)));
}

// StateDirEntries lists the names in `dir` (without "." and "..").
std::vector<std::string> StateDirEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    ADD_FAILURE() << "cannot list " << dir << ": " << strerror(errno);
    return names;
  }
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  closedir(d);
  return names;
}

// A full disk: a 64 KiB tmpfs as the state dir, filled up before the edge
// starts. Needs the right to mount (root with CAP_SYS_ADMIN); skipped without.
TEST_F(EdgeFaultTest, FullStateDirKeepsServingAndSaysSo) {
  std::string state_dir = dir_ + "/state";
  ASSERT_EQ(mkdir(state_dir.c_str(), 0700), 0);
  if (mount("tmpfs", state_dir.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here: " << strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{state_dir};
  {
    int fd = open((state_dir + "/filler").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::string block(4096, 'f');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    EXPECT_EQ(errno, ENOSPC);
    close(fd);
  }
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  std::string first = Exchange(kGood, Get(kGood));
  EXPECT_EQ(StatusCode(first), 200) << first;
  ASSERT_TRUE(
      WaitFor([&] { return edge_->Metric("certgate_config_state_write_errors_total") >= 1; },
              absl::Seconds(10)))
      << edge_->ReadLog();
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "writing the state file failed"))
      << edge_->ReadLog();
  // No half-written state file (or temp file) is left to be read at restart.
  struct stat st;
  EXPECT_NE(stat((state_dir + "/config.pb").c_str(), &st), 0);
  for (const std::string& name : StateDirEntries(state_dir)) {
    EXPECT_FALSE(absl::StartsWith(name, "config.pb.tmp")) << "temp file left behind: " << name;
  }
  v1::Snapshot next = MakeSnapshot(2, good_origin_->port());
  next.mutable_zones(0)->set_mode(v1::MODE_ENFORCE);
  control_.Publish(next);
  ASSERT_TRUE(edge_->WaitForVersion(2)) << edge_->ReadLog();
  EXPECT_EQ(StatusCode(Exchange(kGood, Get(kGood))), 403);
  edge_.reset();  // before the tmpfs goes
}

// A version applied while its state write fails is still an applied version:
// certgate_configs_applied_total and the "applied config version" log line
// should count it.
TEST_F(EdgeFaultTest, VersionsAppliedWithAFailedStateWriteAreCounted) {
  std::string state_dir = dir_ + "/state";
  ASSERT_EQ(mkdir(state_dir.c_str(), 0700), 0);
  ASSERT_EQ(mkdir((state_dir + "/config.pb").c_str(), 0700), 0);
  ASSERT_NO_FATAL_FAILURE(StartEdge(good_origin_->port(), {}));
  ASSERT_TRUE(WaitFor([&] { return !control_.acks().empty(); }, absl::Seconds(10)));
  EXPECT_EQ(edge_->Metric("certgate_configs_applied_total"), 1);
  EXPECT_TRUE(absl::StrContains(edge_->ReadLog(), "applied config version 1")) << edge_->ReadLog();
}

}  // namespace
}  // namespace certgate::faults
