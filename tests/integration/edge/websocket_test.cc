// WebSockets through a real certgate-edge: Python's websockets client (with
// or without a client certificate) against a websockets echo origin
// (tests/integration/edge/ws_origin.py) behind an enforce zone and a report
// zone. The certificate decision and the header rewriting apply to the
// upgrade request; after the origin's 101 the edge relays bytes both ways.
// Hostile cases: forged status headers, h2c, an Upgrade request with a body,
// an origin answering 200 to an upgrade followed by pipelined bytes, and
// trust changes on an open WebSocket.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/integration/faults/tls_client.h"

namespace certgate::testing {
namespace {

using faults::StatusCode;
using faults::TlsClient;

class WebSocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-websocket"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartOrigin(&error)) << error;
    ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1"})) << error;
    ws_port_ = FreePort();
    auto origin = Subprocess::Start(
        {"/usr/bin/python3", CERTGATE_WS_ORIGIN_PY, "--port", std::to_string(ws_port_)},
        *dir_ + "/ws_origin.log");
    ASSERT_TRUE(origin.ok()) << origin.status();
    ws_origin_ = origin->release();
    ASSERT_TRUE(WaitForPort(ws_port_)) << ws_origin_->ReadLog();
    token_ = new std::string(env_->NewTenant("sockets"));
    ca_ = new Identity(pki_->Ca("sockets-ca"));
    device_ = new Identity(pki_->Leaf("sockets-device", *ca_));
    std::string ws_url = absl::StrCat("http://127.0.0.1:", ws_port_);
    uint64_t v = 0;
    for (const char* host : {"ws.sockets.pizza", "wsreport.sockets.pizza"}) {
      env_->CreateZone(*token_, host,
                       absl::StartsWith(host, "ws.") ? v1::MODE_ENFORCE : v1::MODE_REPORT, ws_url);
      v = env_->AddRoot(*token_, host, *ca_);
    }
    // A zone on the plain echo origin, which answers 200 to anything.
    v = env_->CreateZone(*token_, "plain.sockets.pizza", v1::MODE_REPORT, env_->origin_url());
    ASSERT_TRUE(env_->WaitForVersion(v)) << env_->edge_log();
  }

  static void TearDownTestSuite() {
    delete ws_origin_;
    ws_origin_ = nullptr;
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
    }
  }

  static std::vector<std::string> ClientArgv(const std::string& host, const std::string& path,
                                             const Identity* id,
                                             const std::vector<std::string>& steps) {
    std::vector<std::string> argv = {"/usr/bin/python3", CERTGATE_WS_CLIENT_PY,
                                     "--host",           host,
                                     "--port",           std::to_string(env_->edge_port()),
                                     "--path",           path};
    if (id != nullptr) {
      argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
    }
    argv.insert(argv.end(), steps.begin(), steps.end());
    return argv;
  }

  // WsClient runs ws_client.py to completion.
  static CommandResult WsClient(const std::string& host, const std::string& path,
                                const Identity* id, const std::vector<std::string>& steps) {
    return RunCommand(ClientArgv(host, path, id, steps), "", {}, absl::Seconds(90));
  }

  // Raw sends `request` on a new TLS connection and returns all it reads
  // until the edge closes (or "<still open>" after 10 s).
  static std::string Raw(const std::string& host, const Identity* id, const std::string& request) {
    auto client = TlsClient::Connect(env_->edge_port(), host, absl::Seconds(10),
                                     id != nullptr ? id->cert.get() : nullptr,
                                     id != nullptr ? id->key.get() : nullptr);
    if (!client.ok()) {
      return std::string(client.status().message());
    }
    if (!(*client)->Write(request)) {
      return "<write failed>";
    }
    absl::StatusOr<std::string> all = (*client)->ReadUntilClosed(absl::Seconds(10));
    return all.ok() ? *all : "<still open> " + std::string(all.status().message());
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline Subprocess* ws_origin_ = nullptr;
  static inline int ws_port_ = 0;
  static inline std::string* token_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
};

TEST_F(WebSocketTest, EnforceModeRefusesWithoutACertificate) {
  CommandResult r = WsClient("ws.sockets.pizza", "/", nullptr, {"--send", "hello"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.out, "refused 403")) << r.out << r.err;
}

TEST_F(WebSocketTest, EnforceModeEchoesBothWaysWithACertificate) {
  std::string large_size = std::to_string(3 * 1024 * 1024 + 17);
  CommandResult r =
      WsClient("ws.sockets.pizza", "/", device_,
               {"--send", "first", "--send", "second", "--send-bytes", "1", "--send-bytes",
                large_size, "--send", std::string(70000, 'x'), "--send", "last"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, absl::StrCat("echo ok\necho ok\necho ok 1 bytes\necho ok ", large_size,
                                " bytes\necho ok\necho ok\n"))
      << r.err;
}

// The origin transport may be TLS: a wss:// origin verified with the zone's
// origin CA, the relay running over both TLS connections.
TEST_F(WebSocketTest, EchoesThroughAnHttpsOrigin) {
  Identity origin_ca = pki_->Ca("ws-origin-ca");
  Identity server = pki_->Server("ws-origin-server", origin_ca, {}, {"127.0.0.1"});
  int port = FreePort();
  auto origin =
      Subprocess::Start({"/usr/bin/python3", CERTGATE_WS_ORIGIN_PY, "--port", std::to_string(port),
                         "--cert", server.cert_path, "--key", server.key_path},
                        *dir_ + "/wss_origin.log");
  ASSERT_TRUE(origin.ok()) << origin.status();
  ASSERT_TRUE(WaitForPort(port)) << (*origin)->ReadLog();
  v1::CreateZoneRequest req;
  req.set_hostname("wss.sockets.pizza");
  req.set_origin(absl::StrCat("https://127.0.0.1:", port));
  req.set_mode(v1::MODE_ENFORCE);
  req.set_origin_ca_pem(origin_ca.cert_pem());
  v1::ZoneResponse resp;
  grpc::Status status =
      env_->tenant()->CreateZone(EdgeEnvironment::Context(*token_).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(env_->WaitForVersion(env_->AddRoot(*token_, "wss.sockets.pizza", *ca_)));
  std::string large_size = std::to_string(1024 * 1024 + 3);
  CommandResult r = WsClient("wss.sockets.pizza", "/headers", device_,
                             {"--recv", "--send", "over tls", "--send-bytes", large_size});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << (*origin)->ReadLog();
  EXPECT_TRUE(absl::StrContains(r.out, "\"X-Client-Cert-Status\": [\"valid\"]")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "echo ok\necho ok " + large_size + " bytes\n")) << r.out;
}

TEST_F(WebSocketTest, ReportModeOriginSeesTheStatusAndNeverAForgedOne) {
  // Without a certificate, sending forged certificate headers: the origin
  // sees the edge's "none", once, and none of the forged names.
  CommandResult r = WsClient("wsreport.sockets.pizza", "/headers", nullptr,
                             {"--header", "X-Client-Cert-Status: valid", "--header",
                              "X-Client-Cert-Ski: forged", "--recv", "--send", "still here"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"X-Client-Cert-Status\": [\"none\"]")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "forged")) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "\"valid\"")) << r.out;
  // The forwarding headers are the edge's too.
  EXPECT_TRUE(absl::StrContains(r.out, "\"X-Forwarded-Proto\": [\"https\"]")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "echo ok")) << r.out;

  // With a certificate: valid.
  r = WsClient("wsreport.sockets.pizza", "/headers", device_, {"--recv"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"X-Client-Cert-Status\": [\"valid\"]")) << r.out;
}

TEST_F(WebSocketTest, H2cAndUpgradesWithABodyAreRefused) {
  std::string h2c = Raw("plain.sockets.pizza", device_,
                        "GET / HTTP/1.1\r\nHost: plain.sockets.pizza\r\n"
                        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
  EXPECT_EQ(StatusCode(h2c), 501) << h2c;
  EXPECT_TRUE(absl::StrContains(h2c, "h2c upgrades are not supported")) << h2c;

  std::string body = Raw("plain.sockets.pizza", device_,
                         "POST / HTTP/1.1\r\nHost: plain.sockets.pizza\r\n"
                         "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(StatusCode(body), 400) << body;
  EXPECT_TRUE(absl::StrContains(body, "cannot carry a body")) << body;
}

TEST_F(WebSocketTest, AnOriginRefusingTheUpgradeLeavesNoRelay) {
  // The echo origin answers 200 to the upgrade request. The bytes the client
  // sent after it must not reach the origin, neither as raw relayed bytes
  // nor as a next request: one response, then the edge closes.
  std::string out = Raw("plain.sockets.pizza", device_,
                        "GET /upgrade-me HTTP/1.1\r\nHost: plain.sockets.pizza\r\n"
                        "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
                        "GET /smuggled HTTP/1.1\r\nHost: plain.sockets.pizza\r\n\r\n");
  EXPECT_EQ(StatusCode(out), 200) << out;
  // The upgrade request itself was forwarded with its Upgrade header.
  EXPECT_TRUE(absl::StrContains(out, "/upgrade-me")) << out;
  EXPECT_TRUE(absl::StrContains(out, "websocket")) << out;
  EXPECT_FALSE(absl::StrContains(out, "smuggled")) << out;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(out, "HTTP/1.1 ")).size(), 2u) << out;
  EXPECT_FALSE(absl::StartsWith(out, "<still open>")) << out;
}

TEST_F(WebSocketTest, UpgradedConnectionsCloseAfterTheirIdleTimeout) {
  EdgeEnvironment env(MakeTempDir("certgate-websocket-idle"));
  std::string error;
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error, {"--workers", "1", "--upgraded-idle-timeout-ms", "1500"}))
      << error;
  std::string token = env.NewTenant("idle");
  Identity ca = pki_->Ca("idle-ca");
  Identity device = pki_->Leaf("idle-device", ca);
  env.CreateZone(token, "idle.sockets.pizza", v1::MODE_ENFORCE,
                 absl::StrCat("http://127.0.0.1:", ws_port_));
  ASSERT_TRUE(env.WaitForVersion(env.AddRoot(token, "idle.sockets.pizza", ca)));
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   CERTGATE_WS_CLIENT_PY,
                                   "--host",
                                   "idle.sockets.pizza",
                                   "--port",
                                   std::to_string(env.edge_port()),
                                   "--cert",
                                   device.cert_path,
                                   "--key",
                                   device.key_path,
                                   "--send",
                                   "before",
                                   "--wait-close",
                                   "30"};
  absl::Time start = absl::Now();
  CommandResult r = RunCommand(argv, "", {}, absl::Seconds(60));
  // The client's own pings would keep it open: websockets pings every 20 s,
  // later than the edge's 1.5 s idle timeout.
  EXPECT_EQ(r.out, "echo ok\nclosed\n") << r.err;
  // Closed by the idle timeout, not at once after the echo.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

// Frame: one masked client frame (RFC 6455 5.2) with a payload under 126
// bytes.
std::string Frame(unsigned char opcode, const std::string& payload) {
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string out;
  out.push_back(static_cast<char>(0x80 | opcode));
  out.push_back(static_cast<char>(0x80 | payload.size()));
  out.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  }
  return out;
}

// A client may send frames right behind its upgrade request, in the same
// TLS record: they wait for the 101 and then reach the origin in order,
// never parsed as HTTP.
TEST_F(WebSocketTest, FramesSentWithTheUpgradeRequestFollowIt) {
  std::string request =
      "GET /once HTTP/1.1\r\nHost: ws.sockets.pizza\r\nConnection: Upgrade\r\n"
      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  std::string out = Raw("ws.sockets.pizza", device_, request + Frame(0x1, "hello"));
  EXPECT_EQ(StatusCode(out), 101) << out;
  EXPECT_TRUE(absl::StrContains(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) << out;
  size_t head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << out;
  // The echo, then the origin's close, then the edge closes.
  EXPECT_EQ(out.substr(head_end + 4), std::string("\x81\x05hello\x88\x02\x03\xe8", 11)) << out;
}

TEST_F(WebSocketTest, DeletingTheZoneClosesAnOpenWebSocket) {
  env_->CreateZone(*token_, "gone.sockets.pizza", v1::MODE_ENFORCE,
                   absl::StrCat("http://127.0.0.1:", ws_port_));
  ASSERT_TRUE(env_->WaitForVersion(env_->AddRoot(*token_, "gone.sockets.pizza", *ca_)));
  auto client = Subprocess::Start(
      ClientArgv("gone.sockets.pizza", "/", device_, {"--send", "open", "--wait-close", "40"}),
      *dir_ + "/ws_gone_client.log");
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains((*client)->ReadLog(), "echo ok"); },
                      absl::Seconds(20)))
      << (*client)->ReadLog();
  v1::DeleteZoneRequest req;
  req.set_hostname("gone.sockets.pizza");
  v1::ChangeResponse resp;
  grpc::Status status =
      env_->tenant()->DeleteZone(EdgeEnvironment::Context(*token_).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(env_->WaitForVersion(resp.config_version()));
  EXPECT_EQ((*client)->Wait(absl::Seconds(20)), 0) << (*client)->ReadLog();
  EXPECT_TRUE(absl::StrContains((*client)->ReadLog(), "closed")) << (*client)->ReadLog();
}

TEST_F(WebSocketTest, RevokingTheCertificateClosesAnOpenWebSocket) {
  Identity doomed = pki_->Leaf("sockets-doomed", *ca_);
  auto client = Subprocess::Start(
      ClientArgv("ws.sockets.pizza", "/", &doomed, {"--send", "open", "--wait-close", "40"}),
      *dir_ + "/ws_revoked_client.log");
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains((*client)->ReadLog(), "echo ok"); },
                      absl::Seconds(20)))
      << (*client)->ReadLog();
  uint64_t v = env_->RevokeCertificate(*token_, "ws.sockets.pizza", doomed);
  ASSERT_TRUE(env_->WaitForVersion(v));
  EXPECT_EQ((*client)->Wait(absl::Seconds(20)), 0) << (*client)->ReadLog();
  EXPECT_TRUE(absl::StrContains((*client)->ReadLog(), "closed")) << (*client)->ReadLog();
  EXPECT_TRUE(absl::StrContains(env_->edge_log(), "no longer trusted")) << env_->edge_log();
  // Another device on the same zone still upgrades.
  CommandResult r = WsClient("ws.sockets.pizza", "/", device_, {"--send", "after"});
  EXPECT_EQ(r.out, "echo ok\n") << r.err;
}

}  // namespace
}  // namespace certgate::testing
