// Origin hostnames resolve without blocking the edge's worker: a DNS server
// that never answers (a UDP socket this test holds and never reads, given
// to the edge with --dns-server) stalls only the requests for its zone,
// which end in 502/504; another zone on the same single worker keeps
// answering meanwhile. localhost still resolves (hosts file first).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"

namespace certgate::testing {
namespace {

// SilentDnsServer: a bound UDP socket that receives queries and answers none.
class SilentDnsServer {
 public:
  SilentDnsServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentDnsServer() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int port() const { return port_; }
  // QueryArrived: a datagram came within `timeout` (left unread).
  bool QueryArrived(absl::Duration timeout) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(OriginDnsTest, AnUnansweringDnsServerBlocksOnlyItsOwnZone) {
  std::string dir = MakeTempDir("certgate-origin-dns");
  EdgeEnvironment env(dir);
  std::string error;
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartOrigin(&error)) << error;
  SilentDnsServer dns;
  ASSERT_GT(dns.port(), 0);
  // One worker: a blocking lookup would stall every connection. Each DNS
  // try waits 4 s (two tries), longer than the fast requests need by far.
  ASSERT_TRUE(env.StartEdge(
      &error, {"--workers", "1", "--dns-server", absl::StrCat("127.0.0.1:", dns.port()),
               "--dns-timeout-ms", "4000", "--origin-connect-timeout-ms", "30000"}))
      << error;
  std::string token = env.NewTenant("dns");
  std::string port = absl::StrCat(":", env.origin_port());
  env.CreateZone(token, "slow.dns.pizza", v1::MODE_OFF, "http://origin.never-answers.pizza" + port);
  env.CreateZone(token, "local.dns.pizza", v1::MODE_OFF, "http://localhost" + port);
  uint64_t v = env.CreateZone(token, "fast.dns.pizza", v1::MODE_OFF, "http://127.0.0.1" + port);
  ASSERT_TRUE(env.WaitForVersion(v)) << env.edge_log();

  // localhost comes from the hosts file, never from the silent server.
  HttpResult local = env.Curl("local.dns.pizza", "/local", nullptr);
  EXPECT_EQ(local.status, 200) << local.body << local.stderr_text;
  EXPECT_FALSE(dns.QueryArrived(absl::ZeroDuration()));

  std::string edge_port = std::to_string(env.edge_port());
  auto slow =
      Subprocess::Start({"/usr/bin/curl", "-sk", "--max-time", "60", "--resolve",
                         "slow.dns.pizza:" + edge_port + ":127.0.0.1", "-w", "\ncode=%{http_code}",
                         "https://slow.dns.pizza:" + edge_port + "/slow"},
                        dir + "/slow_curl.log");
  ASSERT_TRUE(slow.ok()) << slow.status();
  // The edge has asked the silent server: from now on it waits for it.
  ASSERT_TRUE(dns.QueryArrived(absl::Seconds(20))) << env.edge_log();
  for (int i = 0; i < 5; ++i) {
    HttpResult fast = env.Curl("fast.dns.pizza", "/fast", nullptr);
    EXPECT_EQ(fast.status, 200) << fast.body << fast.stderr_text;
  }
  // All five were answered while the lookup was still pending.
  EXPECT_TRUE((*slow)->Running()) << (*slow)->ReadLog();

  // The stuck one ends with a gateway error once the resolver gives up.
  EXPECT_EQ((*slow)->Wait(absl::Seconds(60)), 0) << (*slow)->ReadLog();
  std::string out = (*slow)->ReadLog();
  EXPECT_TRUE(absl::StrContains(out, "code=504") || absl::StrContains(out, "code=502")) << out;
  EXPECT_TRUE(absl::StrContains(out, "origin.never-answers.pizza")) << out;
}

}  // namespace
}  // namespace certgate::testing
