// HTTP/1.1 clients (curl) through a real certgate-edge to a real cleartext
// HTTP/2 origin (h2c://, tests/integration/h2_origins/h2_origin.py on
// Python's h2): the request is translated (Host to :authority, hop-by-hop
// fields dropped, chunked bodies streamed), the response comes back as
// HTTP/1.1 with its trailers, streams share pooled origin connections, and
// a hostile origin (huge header block, endless CONTINUATION, GOAWAY) or a
// refused address gets the client a 502, never a hang.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"

namespace certgate::testing {
namespace {

constexpr char kZone[] = "grpc.h2c.pizza";

// OriginConnections: how many connections the h2 origin accepted so far.
int OriginConnections(Subprocess* origin) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(origin->ReadLog(), '\n')) {
    if (absl::StartsWith(line, "origin: connection ") && !absl::EndsWith(line, " ended")) {
      ++n;
    }
  }
  return n;
}

class H2cOriginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-h2c-origin"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    // One worker: every request of the suite meets the same origin pool.
    ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1"})) << error;
    origin_port_ = FreePort();
    auto origin = Subprocess::Start(
        {"/usr/bin/python3", CERTGATE_H2_ORIGIN_PY, "--port", std::to_string(origin_port_)},
        *dir_ + "/h2-origin.log");
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = origin->release();
    ASSERT_TRUE(WaitForPort(origin_port_)) << origin_->ReadLog();
    tenant_ = new std::string(env_->NewTenant("acme"));
    ca_ = new Identity(pki_->Ca("device-ca"));
    device_ = new Identity(pki_->Leaf("device", *ca_));
    env_->CreateZone(*tenant_, kZone, v1::MODE_REPORT,
                     absl::StrCat("h2c://127.0.0.1:", origin_port_));
    uint64_t v = env_->AddRoot(*tenant_, kZone, *ca_);
    ASSERT_GT(v, 0u);
    ASSERT_TRUE(env_->WaitForVersion(v));
  }

  static void TearDownTestSuite() {
    delete origin_;
    origin_ = nullptr;
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
      std::cerr << origin_->ReadLog();
    }
  }

  static HttpResult Get(const std::string& path, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--http1.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return env_->Curl(kZone, path, device_, args);
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline Subprocess* origin_ = nullptr;
  static inline int origin_port_ = 0;
  static inline std::string* tenant_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
};

// The origin sees HTTP/2 (:scheme, :authority from Host), the certificate
// headers the edge sets, and none of the hop-by-hop fields or the spoofed
// certificate header the client sent.
TEST_F(H2cOriginTest, Http11RequestIsTranslatedToHttp2) {
  HttpResult r = Get("/echo?q=1", {"-D", "-", "-H", "Connection: keep-alive, x-hop", "-H",
                                   "X-Hop: secret", "-H", "Keep-Alive: timeout=5", "-H",
                                   "X-Client-Cert-Status: valid-spoofed", "-H", "X-App: kept"});
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "HTTP/1.1 200")) << r.body;
  std::string authority = absl::StrCat("[\":authority\", \"", kZone, ":", env_->edge_port(), "\"]");
  EXPECT_TRUE(absl::StrContains(r.body, authority)) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\":scheme\", \"http\"]")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\":path\", \"/echo?q=1\"]")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\"x-app\", \"kept\"]")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\"x-client-cert-status\", \"valid\"]")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "valid-spoofed")) << r.body;
  // What the origin saw, as it reports it.
  std::string seen;
  for (absl::string_view line : absl::StrSplit(r.body, '\n')) {
    if (absl::StartsWithIgnoreCase(line, "x-request-head:")) {
      seen = std::string(line);
    }
  }
  ASSERT_FALSE(seen.empty()) << r.body;
  EXPECT_FALSE(absl::StrContains(seen, "x-hop")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "keep-alive")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "connection")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "[\"host\"")) << seen;
  EXPECT_TRUE(absl::StrContains(r.body, "[\"x-forwarded-proto\", \"https\"]")) << r.body;
}

// A chunked upload reaches the origin whole, streamed (no Content-Length
// known ahead); a large download comes back whole; a body echoed by the
// origin while it is still arriving comes back whole.
TEST_F(H2cOriginTest, LargeBodiesStreamBothWays) {
  constexpr int64_t kBytes = 48 << 20;
  std::string upload = *dir_ + "/upload.bin";
  CommandResult made = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat("head -c ", kBytes, " /dev/urandom > ", upload, " && sha256sum ", upload)});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string sha = made.out.substr(0, 64);

  HttpResult up = Get("/sha256", {"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + upload,
                                  "--max-time", "120"});
  ASSERT_EQ(up.status, 200) << up.body << up.stderr_text;
  EXPECT_TRUE(absl::StrContains(up.body, absl::StrCat("\"body_bytes\": ", kBytes))) << up.body;
  EXPECT_TRUE(absl::StrContains(up.body, sha)) << up.body;

  std::string port = std::to_string(env_->edge_port());
  std::string curl =
      absl::StrCat("curl -sSk --http1.1 --max-time 120 --resolve ", kZone, ":", port,
                   ":127.0.0.1 --cert ", device_->cert_path, " --key ", device_->key_path, " ");
  CommandResult down = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat(
           curl, "'https://", kZone, ":", port, "/bytes?n=", kBytes,
           "' | sha256sum; /usr/bin/python3 -c \"import hashlib,sys; p=bytes(range(256))*4096; "
           "h=hashlib.sha256(); n=",
           kBytes,
           "\n"
           "while n>0:\n  c=p[:min(n,len(p))]; h.update(c); n-=len(c)\n"
           "print(h.hexdigest())\"")},
      "", {}, absl::Seconds(150));
  ASSERT_EQ(down.exit_code, 0) << down.err;
  std::vector<std::string> lines = absl::StrSplit(down.out, '\n');
  ASSERT_GE(lines.size(), 2u) << down.out;
  EXPECT_EQ(lines[0].substr(0, 64), lines[1]) << down.out;

  CommandResult echo = RunCommand({"/bin/sh", "-c",
                                   absl::StrCat(curl, "--data-binary @", upload, " 'https://",
                                                kZone, ":", port, "/echo' | sha256sum")},
                                  "", {}, absl::Seconds(150));
  ASSERT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out.substr(0, 64), sha);
}

// An HTTP/2 client's streams reach the h2c origin as streams too: the
// request rewritten as for HTTP/1.1 clients, bodies streamed both ways.
TEST_F(H2cOriginTest, Http2ClientStreamsReachTheH2cOrigin) {
  HttpResult r = env_->Curl(kZone, "/echo", device_,
                            {"--http2", "-D", "-", "-H", "X-Client-Cert-Status: valid-spoofed"});
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "HTTP/2 200")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\":scheme\", \"http\"]")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "[\"x-client-cert-status\", \"valid\"]")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "valid-spoofed")) << r.body;
  constexpr int64_t kBytes = 8 << 20;
  std::string upload = *dir_ + "/h2-client-upload.bin";
  CommandResult made = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat("head -c ", kBytes, " /dev/urandom > ", upload, " && sha256sum ", upload)});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  HttpResult up = env_->Curl(kZone, "/sha256", device_, {"--http2", "--data-binary", "@" + upload});
  ASSERT_EQ(up.status, 200) << up.body << up.stderr_text;
  EXPECT_TRUE(absl::StrContains(up.body, made.out.substr(0, 64))) << up.body;
  std::string downloaded = *dir_ + "/h2-client-download.bin";
  HttpResult down =
      env_->Curl(kZone, absl::StrCat("/bytes?n=", kBytes), device_, {"--http2", "-o", downloaded});
  EXPECT_EQ(down.status, 200) << down.stderr_text;
  EXPECT_EQ(ReadFile(downloaded).size(), static_cast<size_t>(kBytes));
}

// An HTTP/2 client's request trailers reach the h2c origin, without the
// names the edge vouches for: a hostile client cannot put a certificate
// status, a forwarding header or a hop-by-hop field in a trailer.
TEST_F(H2cOriginTest, RequestTrailersReachTheOriginWithoutTheEdgesHeaders) {
  std::string requests = absl::StrCat(
      R"([{"method": "POST", "authority": ")", kZone, R"(", "path": "/echo", "body": "part",)",
      R"( "trailers": [["x-app-trailer", "kept"], ["x-client-cert-status", "valid-spoofed"],)",
      R"( ["x-client-cert-ski", "spoofed-ski"], ["x-forwarded-for", "203.0.113.9"],)",
      R"( ["x_client_cert_status", "underscore-spoofed"], ["host", "evil.example"]]}])");
  CommandResult r =
      RunCommand({"/usr/bin/python3", CERTGATE_H2_EDGE_CLIENT_PY, "--port",
                  std::to_string(env_->edge_port()), "--sni", kZone, "--cert", device_->cert_path,
                  "--key", device_->key_path, "--requests", requests});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, R"("status": 200)")) << r.out;
  // The origin answers with what it received as trailers, as JSON in JSON.
  EXPECT_TRUE(absl::StrContains(r.out, R"(x-request-trailers": "[[\"x-app-trailer\", \"kept\"]])"))
      << r.out;
  for (const char* spoofed :
       {"valid-spoofed", "spoofed-ski", "203.0.113.9", "underscore-spoofed", "evil.example"}) {
    EXPECT_FALSE(absl::StrContains(r.out, spoofed)) << spoofed << " in " << r.out;
  }
}

// An HTTP/1.1 client's trailers (after a chunked body) reach the h2c origin
// as HTTP/2 trailers, with the same names removed.
TEST_F(H2cOriginTest, Http11RequestTrailersReachTheOriginWithoutTheEdgesHeaders) {
  std::string request = absl::StrCat(
      "POST /echo HTTP/1.1\r\nHost: ", kZone,
      "\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\npart\r\n0\r\nX-App-Trailer: kept\r\nX-Client-Cert-Status: valid-spoofed\r\n"
      "X-Forwarded-For: 203.0.113.9\r\nX_Client_Cert_Status: underscore-spoofed\r\n\r\n");
  CommandResult r = env_->SClient(kZone, device_, request, "", "", {"-quiet"});
  EXPECT_TRUE(absl::StrContains(r.out, "HTTP/1.1 200")) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "x-request-trailers: [[\"x-app-trailer\", \"kept\"]]"))
      << r.out;
  for (const char* spoofed : {"valid-spoofed", "203.0.113.9", "underscore-spoofed"}) {
    EXPECT_FALSE(absl::StrContains(r.out, spoofed)) << spoofed << " in " << r.out;
  }
}

// The origin's trailers ride in the last chunk of the HTTP/1.1 response.
TEST_F(H2cOriginTest, ResponseTrailersReachTheClient) {
  HttpResult r = Get("/trailers", {"--raw", "-H", "TE: trailers"});
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "trailer body\n")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "0\r\nx-origin-trailer: done\r\ngrpc-status: 0\r\n\r\n"))
      << r.body;
}

// Requests from many client connections, at the same time, are streams on
// one pooled origin connection.
TEST_F(H2cOriginTest, ConcurrentRequestsShareOneOriginConnection) {
  // Warm: the pool holds one connection.
  ASSERT_EQ(Get("/echo").status, 200);
  int before = OriginConnections(origin_);
  std::string port = std::to_string(env_->edge_port());
  std::string command;
  for (int i = 0; i < 8; ++i) {
    absl::StrAppend(&command, "curl -sk --http1.1 -o /dev/null -w '%{http_code}\\n' --resolve ",
                    kZone, ":", port, ":127.0.0.1 --cert ", device_->cert_path, " --key ",
                    device_->key_path, " 'https://", kZone, ":", port, "/bytes?n=4000000' & ");
  }
  absl::StrAppend(&command, "wait");
  CommandResult r = RunCommand({"/bin/sh", "-c", command}, "", {}, absl::Seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> codes = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(codes, std::vector<std::string>(8, "200")) << r.out;
  EXPECT_EQ(OriginConnections(origin_), before) << origin_->ReadLog();
}

// A real gRPC server (python3-grpcio) behind an h2c:// origin takes a gRPC
// call written over HTTP/1.1 (length-prefixed message, TE: trailers) and its
// grpc-status comes back as a trailer of the last chunk: the edge passed TE
// trailers and the trailers through the translation.
TEST_F(H2cOriginTest, GrpcServerAnswersATranslatedCall) {
  int port = FreePort();
  auto process = Subprocess::Start(
      {"/usr/bin/python3", CERTGATE_GRPC_SERVER_PY, "--port", std::to_string(port)},
      *dir_ + "/grpc-server.log");
  ASSERT_TRUE(process.ok()) << process.status();
  std::unique_ptr<Subprocess> server = std::move(*process);
  ASSERT_TRUE(WaitForPort(port)) << server->ReadLog();
  const std::string host = "rpc.h2c.pizza";
  env_->CreateZone(*tenant_, host, v1::MODE_REPORT, absl::StrCat("h2c://127.0.0.1:", port));
  uint64_t v = env_->AddRoot(*tenant_, host, *ca_);
  ASSERT_TRUE(env_->WaitForVersion(v));
  std::string message = *dir_ + "/grpc-message.bin";
  WriteFile(message, std::string("\0\0\0\0\x04ping", 9));
  HttpResult r = env_->Curl(host, "/certgate.test.Echo/Unary", device_,
                            {"--http1.1", "--raw", "-H", "Content-Type: application/grpc", "-H",
                             "TE: trailers", "--data-binary", "@" + message});
  ASSERT_EQ(r.status, 200) << r.body << server->ReadLog();
  EXPECT_TRUE(absl::StrContains(r.body, "\"echo\": \"ping\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"x-client-cert-status\": \"valid\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "grpc-status: 0\r\n")) << r.body;
}

// An Upgrade (WebSocket) has no HTTP/2 form towards this origin: 501, and
// nothing reaches it.
TEST_F(H2cOriginTest, UpgradeIs501) {
  HttpResult r = Get("/echo", {"-H", "Connection: Upgrade", "-H", "Upgrade: websocket"});
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "upgrades are not forwarded")) << r.body;
}

// Hostile origins: a response header block far beyond the edge's limit,
// and an endless CONTINUATION, are 502 at once; the edge goes on serving.
TEST_F(H2cOriginTest, HugeHeaderBlockIs502) {
  HttpResult r = Get("/huge-headers");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "hhhh")) << r.body;
  EXPECT_EQ(Get("/echo").status, 200);
}

TEST_F(H2cOriginTest, EndlessContinuationIs502) {
  absl::Time start = absl::Now();
  HttpResult r = Get("/continuation-flood", {"--max-time", "10"});
  EXPECT_EQ(r.status, 502) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "origin")) << r.body;
  std::cerr << "continuation flood answered in " << absl::Now() - start << "\n";
  EXPECT_EQ(Get("/echo").status, 200);
}

// GOAWAY below the stream: the origin did not process it, so it is sent
// once more on a new connection and the client never notices.
TEST_F(H2cOriginTest, StreamRefusedByGoawayIsRetriedOnANewConnection) {
  int before = OriginConnections(origin_);
  HttpResult r = Get("/goaway-refuse");
  EXPECT_EQ(r.status, 200) << r.body << origin_->ReadLog();
  EXPECT_TRUE(absl::StrContains(origin_->ReadLog(), "refusing stream")) << origin_->ReadLog();
  EXPECT_GT(OriginConnections(origin_), before);
}

// GOAWAY with an error after part of the body: the client's response is
// cut (it cannot be replaced), the next request works.
TEST_F(H2cOriginTest, GoawayMidStreamCutsTheResponse) {
  HttpResult r = Get("/goaway-midstream");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.exit_code, 0) << "the response should have been cut short";
  EXPECT_EQ(Get("/echo").status, 200);
}

// An https origin that picks h2 by ALPN gets HTTP/2 over TLS (verified
// against the zone's origin CA, with the zone's edge-CA client
// certificate), bodies streamed both ways.
TEST_F(H2cOriginTest, HttpsOriginPickingH2GetsHttp2) {
  v1::GetEdgeCaResponse edge_ca;
  ASSERT_TRUE(
      env_->tenant()->GetEdgeCa(EdgeEnvironment::Context(*tenant_).get(), {}, &edge_ca).ok());
  std::string edge_ca_path = *dir_ + "/edge-ca.pem";
  WriteFile(edge_ca_path, edge_ca.certificate_pem());
  Identity origin_ca = pki_->Ca("h2-origin-ca");
  Identity server = pki_->Server("h2-origin-server", origin_ca, {}, {"127.0.0.1"});
  int port = FreePort();
  auto process = Subprocess::Start(
      {"/usr/bin/python3", CERTGATE_H2_ORIGIN_PY, "--port", std::to_string(port), "--cert",
       server.cert_path, "--key", server.key_path, "--client-ca", edge_ca_path},
      *dir_ + "/h2-tls-origin.log");
  ASSERT_TRUE(process.ok()) << process.status();
  std::unique_ptr<Subprocess> origin = std::move(*process);
  ASSERT_TRUE(WaitForPort(port)) << origin->ReadLog();

  const std::string host = "tls.h2c.pizza";
  v1::CreateZoneRequest req;
  req.set_hostname(host);
  req.set_origin(absl::StrCat("https://127.0.0.1:", port));
  req.set_mode(v1::MODE_OFF);
  req.set_origin_ca_pem(origin_ca.cert_pem());
  v1::ZoneResponse resp;
  grpc::Status status =
      env_->tenant()->CreateZone(EdgeEnvironment::Context(*tenant_).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(env_->WaitForVersion(resp.config_version()));

  HttpResult r = env_->Curl(host, "/echo", nullptr, {"--http1.1", "-D", "-"});
  ASSERT_EQ(r.status, 200) << r.body << origin->ReadLog();
  EXPECT_TRUE(absl::StrContains(r.body, "[\":scheme\", \"https\"]")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "x-client-san: " + host)) << r.body;
  EXPECT_TRUE(absl::StrContains(origin->ReadLog(), "origin: ALPN h2")) << origin->ReadLog();
  // An HTTP/2 client's stream rides the same HTTP/2 origin connection.
  HttpResult h2 = env_->Curl(host, "/echo", nullptr, {"--http2", "-D", "-"});
  ASSERT_EQ(h2.status, 200) << h2.body;
  EXPECT_TRUE(absl::StrContains(h2.body, "HTTP/2 200")) << h2.body;
  EXPECT_TRUE(absl::StrContains(h2.body, "[\":scheme\", \"https\"]")) << h2.body;

  constexpr int64_t kBytes = 16 << 20;
  std::string upload = *dir_ + "/tls-upload.bin";
  CommandResult made = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat("head -c ", kBytes, " /dev/urandom > ", upload, " && sha256sum ", upload)});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  HttpResult up = env_->Curl(host, "/sha256", nullptr,
                             {"--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary",
                              "@" + upload, "--max-time", "60"});
  ASSERT_EQ(up.status, 200) << up.body << up.stderr_text << origin->ReadLog();
  EXPECT_TRUE(absl::StrContains(up.body, made.out.substr(0, 64))) << up.body;
  std::string downloaded = *dir_ + "/tls-download.bin";
  HttpResult down = env_->Curl(host, absl::StrCat("/bytes?n=", kBytes), nullptr,
                               {"--http1.1", "-o", downloaded, "--max-time", "60"});
  EXPECT_EQ(down.status, 200) << down.exit_code << down.stderr_text << origin->ReadLog();
  std::string body = ReadFile(downloaded);
  ASSERT_EQ(body.size(), static_cast<size_t>(kBytes));
  for (size_t i = 0; i < body.size(); i += 4099) {
    ASSERT_EQ(static_cast<unsigned char>(body[i]), i % 256) << "byte " << i;
  }
}

// An https origin that picks HTTP/1.1 by ALPN: the requests that waited
// for the answer (a chunked body among them) go the HTTP/1.1 way, and so do
// the next ones.
TEST_F(H2cOriginTest, HttpsOriginPickingHttp11FallsBack) {
  Identity origin_ca = pki_->Ca("h1-origin-ca");
  Identity server = pki_->Server("h1-origin-server", origin_ca, {}, {"127.0.0.1"});
  int port = FreePort();
  auto process = Subprocess::Start(
      {"/usr/bin/python3", CERTGATE_H2_ORIGIN_PY, "--port", std::to_string(port), "--cert",
       server.cert_path, "--key", server.key_path, "--alpn", "http/1.1"},
      *dir_ + "/h1-tls-origin.log");
  ASSERT_TRUE(process.ok()) << process.status();
  std::unique_ptr<Subprocess> origin = std::move(*process);
  ASSERT_TRUE(WaitForPort(port)) << origin->ReadLog();
  const std::string host = "h1.h2c.pizza";
  v1::CreateZoneRequest req;
  req.set_hostname(host);
  req.set_origin(absl::StrCat("https://127.0.0.1:", port));
  req.set_mode(v1::MODE_OFF);
  req.set_origin_ca_pem(origin_ca.cert_pem());
  v1::ZoneResponse resp;
  grpc::Status status =
      env_->tenant()->CreateZone(EdgeEnvironment::Context(*tenant_).get(), req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(env_->WaitForVersion(resp.config_version()));

  std::string upload = *dir_ + "/h1-upload.bin";
  CommandResult made = RunCommand(
      {"/bin/sh", "-c",
       absl::StrCat("head -c 3000000 /dev/urandom > ", upload, " && sha256sum ", upload)});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  // The first request of the key is an HTTP/2 client's stream: it waits
  // for the ALPN answer, then goes the HTTP/1.1 way with its body.
  HttpResult h2 =
      env_->Curl(host, "/sha256", nullptr, {"--http2", "--data-binary", "@" + upload, "-D", "-"});
  ASSERT_EQ(h2.status, 200) << h2.body << origin->ReadLog();
  EXPECT_TRUE(absl::StrContains(h2.body, "HTTP/2 200")) << h2.body;
  EXPECT_TRUE(absl::StrContains(h2.body, made.out.substr(0, 64))) << h2.body;
  EXPECT_TRUE(absl::StrContains(h2.body, "\"protocol\": \"http/1.1\"")) << h2.body;
  for (int i = 0; i < 3; ++i) {
    HttpResult up = env_->Curl(
        host, "/sha256", nullptr,
        {"--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + upload});
    ASSERT_EQ(up.status, 200) << up.body << origin->ReadLog();
    EXPECT_TRUE(absl::StrContains(up.body, made.out.substr(0, 64))) << up.body;
    EXPECT_TRUE(absl::StrContains(up.body, "\"protocol\": \"http/1.1\"")) << up.body;
  }
  HttpResult get = env_->Curl(host, "/", nullptr, {"--http1.1"});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "http/1.1 origin\n");
}

// A pooled HTTP/2 origin connection without streams closes after
// --http2-origin-idle-timeout-ms; the next request opens a new one.
TEST_F(H2cOriginTest, IdleOriginConnectionCloses) {
  std::string error;
  EdgeEnvironment env(MakeTempDir("certgate-h2c-idle"));
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error, {"--http2-origin-idle-timeout-ms", "300", "--workers", "1"}))
      << error;
  std::string tenant = env.NewTenant("acme");
  uint64_t v = env.CreateZone(tenant, "idle.pizza", v1::MODE_REPORT,
                              absl::StrCat("h2c://127.0.0.1:", origin_port_));
  ASSERT_TRUE(env.WaitForVersion(v));
  int before = OriginConnections(origin_);
  EXPECT_EQ(env.Curl("idle.pizza", "/echo", nullptr, {"--http1.1"}).status, 200);
  EXPECT_EQ(env.Curl("idle.pizza", "/echo", nullptr, {"--http1.1"}).status, 200);
  EXPECT_EQ(OriginConnections(origin_), before + 1) << "back to back: one connection";
  absl::SleepFor(absl::Milliseconds(1200));
  EXPECT_EQ(env.Curl("idle.pizza", "/echo", nullptr, {"--http1.1"}).status, 200);
  EXPECT_EQ(OriginConnections(origin_), before + 2) << origin_->ReadLog();
}

// A tenant's h2c origin on an address the edge's policy refuses: 502,
// logged, never connected.
TEST_F(H2cOriginTest, RefusedOriginAddressIs502) {
  std::string error;
  EdgeEnvironment env(MakeTempDir("certgate-h2c-strict"));
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error, {"--origin-allow", "192.0.2.0/24"})) << error;
  std::string tenant = env.NewTenant("mallory");
  uint64_t v = env.CreateZone(tenant, "sneaky.pizza", v1::MODE_REPORT,
                              absl::StrCat("h2c://localhost:", origin_port_));
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(env.WaitForVersion(v));
  int before = OriginConnections(origin_);
  HttpResult r = env.Curl("sneaky.pizza", "/echo", nullptr, {"--http1.1"});
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "origin address refused")) << r.body;
  EXPECT_TRUE(absl::StrContains(env.edge_log(), "\"event\":\"origin_refused\"")) << env.edge_log();
  EXPECT_EQ(OriginConnections(origin_), before);
}

}  // namespace
}  // namespace certgate::testing
