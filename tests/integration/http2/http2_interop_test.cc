// The HTTP/2 server codec against real HTTP/2 clients on loopback: Python's
// h2 (an implementation independent of nghttp2) and curl. A small h2c
// server in the test drives Http2ServerSession over a socket the way the
// edge's connection will (bytes in, events out, output written back); it
// echoes each request body as it arrives and ends with trailers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http2/http2_server_session.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace certgate::edge {
namespace {

using certgate::testing::CommandResult;
using certgate::testing::RunCommand;

class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        continue;
      }
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) {
        Serve(fd);
        close(fd);
      }
    }
  }

  void Serve(int fd) {
    std::unique_ptr<Http2ServerSession> session;
    std::map<int32_t, size_t> received;
    Http2Session::StreamCallbacks cb;
    cb.on_data = [&](int32_t id, absl::string_view data) {
      received[id] += data.size();
      (void)session->SendData(id, data);
      session->Consume(id, data.size());
    };
    cb.on_trailers = [&](int32_t id, HttpHeaders trailers) {
      const std::string* t = FindHeader(trailers, "x-client-trailer");
      (void)session->SendData(id, absl::StrCat("|trailer=", t != nullptr ? *t : "none"));
    };
    cb.on_end_stream = [&](int32_t id) {
      (void)session->Finish(
          id, {{"x-received-bytes", absl::StrCat(received[id])}, {"grpc-status", "0"}});
    };
    Http2ServerOptions options;
    options.zone_hostname = "auth.pizza";
    auto made = Http2ServerSession::Create(
        options,
        [&](Http2RequestHead head) {
          ++requests_;
          (void)session->SubmitResponse(head.stream_id, 200, {{"x-path", head.path}}, false);
          (void)session->SendData(head.stream_id, absl::StrCat(head.method, " ", head.path, ":"));
        },
        std::move(cb));
    ASSERT_TRUE(made.ok());
    session = std::move(*made);
    char buf[16384];
    for (;;) {
      std::string out = session->TakeOutput();
      if (!out.empty() && send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) {
        return;
      }
      if (session->done() || stop_) {
        return;
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) {
        continue;
      }
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0 || !session->Receive(absl::string_view(buf, static_cast<size_t>(n))).ok()) {
        std::string last = session->TakeOutput();
        send(fd, last.data(), last.size(), MSG_NOSIGNAL);
        return;
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST(Http2InteropTest, PythonH2StreamsTrailersAndAnotherZone) {
  EchoServer server;
  CommandResult r = RunCommand({"/usr/bin/python3", CERTGATE_H2_CLIENT_PY, "--port",
                                std::to_string(server.port()), "--authority", "auth.pizza",
                                "--other", "bank.example"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string& out = r.out;
  // GET: echoed head, trailers from the server.
  EXPECT_TRUE(absl::StrContains(out, R"("get": {"body": "GET /hello?x=1:")")) << out;
  // POST: both body parts streamed back, the client's trailer seen, the
  // server's trailers received.
  EXPECT_TRUE(absl::StrContains(
      out,
      R"("body": "POST /echo:first part,second part|trailer=sent", "ended": true, "name": "post")"))
      << out;
  EXPECT_TRUE(absl::StrContains(out, R"("x-received-bytes": "22")")) << out;
  // Another zone's host: 421 from the codec, never a request.
  EXPECT_TRUE(absl::StrContains(out, R"("name": "other", "reset": null, "status": 421)")) << out;
  EXPECT_EQ(server.requests(), 2);
}

TEST(Http2InteropTest, PythonH2RapidResetGetsEnhanceYourCalm) {
  EchoServer server;
  CommandResult r = RunCommand({"/usr/bin/python3", CERTGATE_H2_CLIENT_PY, "--port",
                                std::to_string(server.port()), "--authority", "auth.pizza",
                                "--other", "bank.example", "--rapid-reset", "500"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "{\"goaway\": 11}\n");  // ENHANCE_YOUR_CALM
  EXPECT_LE(server.requests(), 201);
}

TEST(Http2InteropTest, CurlWithPriorKnowledge) {
  EchoServer server;
  std::string port = std::to_string(server.port());
  CommandResult ok = RunCommand({"curl", "-sS", "--http2-prior-knowledge", "--connect-to",
                                 absl::StrCat("auth.pizza:", port, ":127.0.0.1:", port), "-w",
                                 "\n%{http_version} %{http_code}",
                                 absl::StrCat("http://auth.pizza:", port, "/curl")});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "GET /curl:\n2 200");
  CommandResult other =
      RunCommand({"curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
                  absl::StrCat("http://127.0.0.1:", port, "/")});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_TRUE(absl::EndsWith(other.out, "\n2 421")) << other.out;
  EXPECT_TRUE(absl::StrContains(other.out, "is not served on this connection"));
  EXPECT_EQ(server.requests(), 1);
}

}  // namespace
}  // namespace certgate::edge
