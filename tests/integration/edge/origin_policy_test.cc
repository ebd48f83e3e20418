// The edge's origin address policy against real processes: the address a
// host name resolves to is judged at every connect, and the edge never
// connects to its own listen or metrics sockets.
#include "common/origin_policy.h"

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"

namespace certgate::testing {
namespace {

// FirstAddressOf: what getaddrinfo gives first for `host` (the edge connects
// to that one), or "" when it does not resolve.
std::string FirstAddressOf(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), "80", &hints, &result) != 0 || result == nullptr) {
    return "";
  }
  std::optional<IpAddress> address = IpAddress::FromSockaddr(result->ai_addr);
  freeaddrinfo(result);
  return address ? address->ToString() : "";
}

class EdgeOriginPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-edge-origin-policy");
    env_ = std::make_unique<EdgeEnvironment>(dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartOrigin(&error)) << error;
    tenant_ = env_->NewTenant("acme");
  }
  void TearDown() override {
    if (HasFailure() && env_ != nullptr) {
      std::cerr << "--- edge log ---\n" << env_->edge_log() << "\n";
    }
  }

  std::string dir_;
  std::unique_ptr<EdgeEnvironment> env_;
  std::string tenant_;
};

// DNS rebinding in miniature: the control plane accepts a host name (it
// cannot know what it will resolve to); the edge judges the address it gets
// at connect time. localhost -> 127.0.0.1 is refused unless 127.0.0.0/8 is
// allowed.
TEST_F(EdgeOriginPolicyTest, HostNameResolvingToLoopbackIs502UnlessAllowed) {
  if (FirstAddressOf("localhost") != "127.0.0.1") {
    GTEST_SKIP() << "localhost resolves to " << FirstAddressOf("localhost")
                 << " first here, and the echo origin listens on 127.0.0.1";
  }
  std::string error;
  // A policy that allows something, but not loopback.
  ASSERT_TRUE(env_->StartEdge(&error, {"--origin-allow", "192.0.2.0/24"})) << error;
  uint64_t v = env_->CreateZone(tenant_, "named.pizza", v1::MODE_REPORT,
                                absl::StrCat("http://localhost:", env_->origin_port()));
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(env_->WaitForVersion(v));

  HttpResult refused = env_->Curl("named.pizza", "/secret", nullptr);
  EXPECT_EQ(refused.status, 502) << refused.body;
  EXPECT_FALSE(absl::StrContains(refused.body, "\"method\"")) << refused.body;
  EXPECT_TRUE(absl::StrContains(refused.body, "origin address refused")) << refused.body;
  // The log names the zone and the reason; the client's body does not say
  // where the origin is.
  EXPECT_FALSE(absl::StrContains(refused.body, "127.0.0.1")) << refused.body;
  std::string log = env_->edge_log();
  EXPECT_TRUE(absl::StrContains(log, "\"event\":\"origin_refused\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"zone\":\"named.pizza\"")) << log;
  EXPECT_TRUE(absl::StrContains(log,
                                "\"reason\":\"origin address 127.0.0.1 is loopback; no "
                                "--origin-allow range covers it\""))
      << log;
  EXPECT_EQ(env_->Metric("certgate_origin_refused_total{zone=\"named.pizza\",reason=\"loopback\"}"),
            1);
  // The same for an HTTP/2 stream, which reaches an HTTP/1.1 origin through
  // its own upstream.
  HttpResult refused_h2 = env_->Curl("named.pizza", "/secret", nullptr, {"--http2", "-v"});
  EXPECT_EQ(refused_h2.status, 502) << refused_h2.body;
  EXPECT_TRUE(absl::StrContains(refused_h2.stderr_text, "< HTTP/2 502")) << refused_h2.stderr_text;
  EXPECT_FALSE(absl::StrContains(refused_h2.body, "\"method\"")) << refused_h2.body;
  EXPECT_FALSE(absl::StrContains(refused_h2.body, "127.0.0.1")) << refused_h2.body;
  EXPECT_EQ(env_->Metric("certgate_origin_refused_total{zone=\"named.pizza\",reason=\"loopback\"}"),
            2);

  // The same zone works on an edge that allows loopback.
  ASSERT_EQ(env_->StopEdge(SIGTERM), 0);
  ASSERT_TRUE(env_->StartEdge(&error, {"--origin-allow", "127.0.0.0/8"})) << error;
  ASSERT_TRUE(env_->WaitForVersion(v));
  HttpResult allowed = env_->Curl("named.pizza", "/secret", nullptr);
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_TRUE(absl::StrContains(allowed.body, "\"method\"")) << allowed.body;
}

// A zone pointed at the edge's own metrics port would show every tenant's
// zone names and traffic; one pointed at its own listen port would loop.
// Both are 502 even though 127.0.0.0/8 is allowed.
TEST_F(EdgeOriginPolicyTest, OwnMetricsAndListenSocketsAre502) {
  std::string error;
  ASSERT_TRUE(env_->StartEdge(&error)) << error;  // --origin-allow 127.0.0.0/8
  std::string metrics = absl::StrCat(":", env_->metrics_port());
  env_->CreateZone(tenant_, "peek.pizza", v1::MODE_REPORT, "http://127.0.0.1" + metrics);
  env_->CreateZone(tenant_, "peek-by-name.pizza", v1::MODE_REPORT, "http://localhost" + metrics);
  uint64_t v = env_->CreateZone(tenant_, "loop.pizza", v1::MODE_REPORT,
                                absl::StrCat("http://127.0.0.1:", env_->edge_port()));
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(env_->WaitForVersion(v));
  // The metrics page is really there, and names zones.
  ASSERT_TRUE(absl::StrContains(env_->Metrics(), "certgate_")) << env_->Metrics();

  for (const std::string host : {"peek.pizza", "peek-by-name.pizza"}) {
    SCOPED_TRACE(host);
    HttpResult r = env_->Curl(host, "/metrics", nullptr);
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, "certgate_")) << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, "# HELP")) << r.body;
    EXPECT_FALSE(absl::StrContains(r.body, ".pizza")) << r.body;
  }
  HttpResult loop = env_->Curl("loop.pizza", "/", nullptr);
  EXPECT_EQ(loop.status, 502) << loop.body;

  std::string log = env_->edge_log();
  EXPECT_TRUE(absl::StrContains(log, "this edge's own --metrics-listen socket")) << log;
  EXPECT_TRUE(absl::StrContains(log, "this edge's own --listen socket")) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"zone\":\"peek.pizza\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, "\"zone\":\"loop.pizza\"")) << log;
  EXPECT_EQ(
      env_->Metric("certgate_origin_refused_total{zone=\"peek.pizza\",reason=\"own-listener\"}"),
      1);
  EXPECT_EQ(
      env_->Metric("certgate_origin_refused_total{zone=\"loop.pizza\",reason=\"own-listener\"}"),
      1);
  // The echo origin on another loopback port still works.
  uint64_t ok = env_->CreateZone(tenant_, "fine.pizza", v1::MODE_REPORT);
  ASSERT_TRUE(env_->WaitForVersion(ok));
  EXPECT_EQ(env_->Curl("fine.pizza", "/", nullptr).status, 200);
}

// A wildcard listen address: any local address on that port is the edge.
TEST_F(EdgeOriginPolicyTest, WildcardListenerRefusesEveryLocalAddressOnItsPort) {
  std::string error;
  // A second listener on 0.0.0.0 (curl keeps using the one on 127.0.0.1).
  int port = FreePort();
  ASSERT_TRUE(env_->StartEdge(
      &error, {"--origin-allow", "127.0.0.0/8", "--listen", absl::StrCat("0.0.0.0:", port)}))
      << error;
  uint64_t v = env_->CreateZone(tenant_, "wild.pizza", v1::MODE_REPORT,
                                absl::StrCat("http://127.0.0.9:", port));
  ASSERT_TRUE(env_->WaitForVersion(v));
  HttpResult r = env_->Curl("wild.pizza", "/", nullptr);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(absl::StrContains(
      env_->edge_log(),
      absl::StrCat("origin address 127.0.0.9 port ", port, " is this edge's own --listen socket")))
      << env_->edge_log();
  EXPECT_EQ(
      env_->Metric("certgate_origin_refused_total{zone=\"wild.pizza\",reason=\"own-listener\"}"),
      1);
}

}  // namespace
}  // namespace certgate::testing
