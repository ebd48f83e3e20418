// OriginResolver against a small DNS server on a loopback UDP socket, run
// by the same libevent loop as the resolver: answers are cached for their
// TTL (no query inside it, a new one after), the cache is bounded, literals
// and the hosts file never reach the server, a silent server times out.
#include "dataplane/http/origin_resolver.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

// DnsServer answers every A query with 127.0.0.42 and `ttl`, every other
// query with no records; when `silent`, it answers nothing.
class DnsServer {
 public:
  DnsServer(event_base* base, uint32_t ttl, bool silent) : ttl_(ttl), silent_(silent) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ev_ = event_new(base, fd_, EV_READ | EV_PERSIST, &DnsServer::OnRead, this);
    event_add(ev_, nullptr);
  }
  ~DnsServer() {
    event_free(ev_);
    close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int a_queries() const { return a_queries_; }

 private:
  static void OnRead(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<DnsServer*>(arg);
    unsigned char buf[512];
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 12) {
      return;
    }
    // The question: the name's labels, then type and class.
    size_t at = 12;
    while (at < static_cast<size_t>(n) && buf[at] != 0) {
      at += buf[at] + 1;
    }
    if (at + 5 > static_cast<size_t>(n)) {
      return;
    }
    size_t question_end = at + 5;
    bool a = buf[at + 1] == 0 && buf[at + 2] == 1;
    if (a) {
      ++self->a_queries_;
    }
    if (self->silent_) {
      return;
    }
    std::string out(reinterpret_cast<char*>(buf), question_end);
    out[2] = static_cast<char>(0x81);  // response, recursion desired
    out[3] = static_cast<char>(0x80);  // recursion available, NOERROR
    out[6] = 0;
    out[7] = a ? 1 : 0;  // answers
    out[8] = out[9] = out[10] = out[11] = 0;
    if (a) {
      const unsigned char answer[] = {0xc0,
                                      0x0c,  // the question's name
                                      0,
                                      1,
                                      0,
                                      1,  // A, IN
                                      static_cast<unsigned char>(self->ttl_ >> 24),
                                      static_cast<unsigned char>(self->ttl_ >> 16),
                                      static_cast<unsigned char>(self->ttl_ >> 8),
                                      static_cast<unsigned char>(self->ttl_),
                                      0,
                                      4,
                                      127,
                                      0,
                                      0,
                                      42};
      out.append(reinterpret_cast<const char*>(answer), sizeof(answer));
    }
    sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }

  uint32_t ttl_;
  bool silent_;
  int fd_ = -1;
  int port_ = 0;
  event* ev_ = nullptr;
  int a_queries_ = 0;
};

class OriginResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { base_ = event_base_new(); }
  void TearDown() override {
    resolver_.reset();
    server_.reset();
    event_base_free(base_);
  }

  void Make(uint32_t ttl, bool silent, OriginResolver::Options options = {}) {
    server_ = std::make_unique<DnsServer>(base_, ttl, silent);
    options.servers = server_->address();
    auto resolver = OriginResolver::Create(base_, options);
    ASSERT_TRUE(resolver.ok()) << resolver.status();
    resolver_ = std::move(*resolver);
  }

  // Lookup resolves `host` and runs the loop until the answer (or 20 s).
  // `inline_answer` says whether it came inside Resolve.
  absl::StatusOr<ResolvedAddress> Lookup(const std::string& host, bool* inline_answer) {
    std::optional<absl::StatusOr<ResolvedAddress>> got;
    uint64_t ticket =
        resolver_->Resolve(host, 8080, [&](absl::StatusOr<ResolvedAddress> a) { got = a; });
    *inline_answer = ticket == 0;
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!got.has_value() && absl::Now() < deadline) {
      event_base_loop(base_, EVLOOP_ONCE);
    }
    if (!got.has_value()) {
      return absl::UnknownError("no answer");
    }
    return *got;
  }

  static std::string Ip(const ResolvedAddress& a) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.addr);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }

  event_base* base_ = nullptr;
  std::unique_ptr<DnsServer> server_;
  std::unique_ptr<OriginResolver> resolver_;
};

TEST_F(OriginResolverTest, AnswersAreCachedForTheirTtl) {
  OriginResolver::Options options;
  options.min_ttl = absl::Milliseconds(1);
  Make(/*ttl=*/2, /*silent=*/false, options);
  bool inline_answer = true;
  absl::StatusOr<ResolvedAddress> a = Lookup("origin.example.pizza", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Ip(*a), "127.0.0.42:8080");
  EXPECT_FALSE(inline_answer);
  EXPECT_EQ(server_->a_queries(), 1);
  // Inside the TTL: from the cache, at once, no query.
  a = Lookup("ORIGIN.example.pizza", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(inline_answer);
  EXPECT_EQ(server_->a_queries(), 1);
  // After it: asked again.
  absl::SleepFor(absl::Milliseconds(2100));
  a = Lookup("origin.example.pizza", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(inline_answer);
  EXPECT_EQ(server_->a_queries(), 2);
}

TEST_F(OriginResolverTest, CacheIsBounded) {
  OriginResolver::Options options;
  options.cache_entries = 2;
  Make(/*ttl=*/300, /*silent=*/false, options);
  bool inline_answer = false;
  for (const char* host : {"a.example.pizza", "b.example.pizza", "c.example.pizza"}) {
    ASSERT_TRUE(Lookup(host, &inline_answer).ok()) << host;
  }
  EXPECT_EQ(resolver_->cached(), 2u);
  EXPECT_EQ(server_->a_queries(), 3);
}

TEST_F(OriginResolverTest, LiteralsAndTheHostsFileNeverReachTheServer) {
  Make(/*ttl=*/300, /*silent=*/true);
  bool inline_answer = false;
  absl::StatusOr<ResolvedAddress> a = Lookup("192.0.2.7", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(inline_answer);
  EXPECT_EQ(Ip(*a), "192.0.2.7:8080");
  a = Lookup("::1", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family, AF_INET6);
  a = Lookup("localhost", &inline_answer);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family, AF_INET);  // IPv4 preferred
  EXPECT_EQ(server_->a_queries(), 0);
}

TEST_F(OriginResolverTest, ASilentServerTimesOutAndCancelledLookupsStayQuiet) {
  OriginResolver::Options options;
  options.timeout = absl::Milliseconds(300);
  options.tries = 1;
  Make(/*ttl=*/300, /*silent=*/true, options);
  bool called = false;
  uint64_t ticket = resolver_->Resolve("cancelled.example.pizza", 80,
                                       [&](absl::StatusOr<ResolvedAddress>) { called = true; });
  ASSERT_NE(ticket, 0u);
  resolver_->Cancel(ticket);
  bool inline_answer = false;
  absl::StatusOr<ResolvedAddress> a = Lookup("silent.example.pizza", &inline_answer);
  EXPECT_TRUE(absl::IsDeadlineExceeded(a.status())) << a.status();
  EXPECT_FALSE(called);
  EXPECT_GE(server_->a_queries(), 1);
}

TEST_F(OriginResolverTest, BadServersAreRefusedByName) {
  OriginResolver::Options options;
  options.servers = "not an address";
  auto resolver = OriginResolver::Create(base_, options);
  ASSERT_FALSE(resolver.ok());
  EXPECT_NE(resolver.status().message().find("not an address"), std::string::npos);
}

}  // namespace
}  // namespace certgate::edge
