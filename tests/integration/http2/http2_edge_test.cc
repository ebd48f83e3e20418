// HTTP/2 from clients through a real certgate-edge (ALPN h2), with a real
// certgate-control and echo origin on loopback: curl --http2, Python's h2
// (several streams on one connection, one of them for another zone's
// host) and python3-grpcio. Every rule of the HTTP/1.1 path holds per
// stream: the certificate decision and the zone's 403 body, gRPC-aware
// refusals, header stripping and mapping, the access log and metrics. The
// per-zone switch: a zone with HTTP/2 off negotiates http/1.1 on the same
// listener, and no tenant can switch another tenant's zone.
#include <signal.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/support/build_flavor.h"

namespace certgate::testing {
namespace {

constexpr char kErrorBody[] = "{\"error\":\"device certificate required\",\"zone\":\"h2\"}";
constexpr char kZone[] = "h2.acme.pizza";            // enforce, custom body, a mapped field
constexpr char kReportZone[] = "report.acme.pizza";  // report
constexpr char kOffZone[] = "h1.acme.pizza";         // report, HTTP/2 off
constexpr char kBankZone[] = "bank.h2.pizza";        // another tenant's, report

class Http2EdgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-http2-edge"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->Start(&error, EdgeFlags())) << error;
    acme_ = new std::string(env_->NewTenant("acme"));
    bank_ = new std::string(env_->NewTenant("bank"));
    ca_ = new Identity(pki_->Ca("acme-h2-ca"));
    device_ = new Identity(pki_->Leaf("h2-device-7", *ca_));
    stranger_ca_ = new Identity(pki_->Ca("stranger-ca"));
    stranger_ = new Identity(pki_->Leaf("stranger", *stranger_ca_));
    env_->CreateZone(*acme_, kZone, v1::MODE_ENFORCE);
    env_->AddRoot(*acme_, kZone, *ca_);
    env_->SetErrorResponse(*acme_, kZone, "application/json", kErrorBody);
    env_->MapHeader(*acme_, kZone, "X-Device-Id", "subject.CN");
    env_->CreateZone(*acme_, kReportZone, v1::MODE_REPORT);
    env_->AddRoot(*acme_, kReportZone, *ca_);
    env_->CreateZone(*acme_, kOffZone, v1::MODE_REPORT);
    uint64_t v = SetHttp2(*acme_, kOffZone, false);
    ASSERT_GT(v, 0u);
    v = env_->CreateZone(*bank_, kBankZone, v1::MODE_REPORT);
    ASSERT_TRUE(env_->WaitForVersion(v)) << env_->edge_log();
    // The edge CA, which issued the zones' server certificates: gRPC
    // clients verify the edge.
    v1::GetEdgeCaResponse edge_ca;
    ASSERT_TRUE(
        env_->tenant()->GetEdgeCa(EdgeEnvironment::Context(*acme_).get(), {}, &edge_ca).ok());
    edge_ca_path_ = new std::string(*dir_ + "/edge-ca.pem");
    WriteFile(*edge_ca_path_, edge_ca.certificate_pem());
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
    }
  }

  static std::vector<std::string> EdgeFlags() {
    return {"--workers",
            "1",
            "--max-body-bytes",
            "100000",
            "--max-header-bytes",
            "8192",
            "--http2-max-concurrent-streams",
            "50"};
  }

  // SetHttp2: the zone setting through the tenant API; the config version
  // after it, 0 when refused.
  static uint64_t SetHttp2(const std::string& token, const std::string& host, bool on,
                           grpc::Status* status_out = nullptr) {
    v1::UpdateZoneRequest req;
    req.set_hostname(host);
    req.set_http2(on);
    v1::ZoneResponse resp;
    grpc::Status status =
        env_->tenant()->UpdateZone(EdgeEnvironment::Context(token).get(), req, &resp);
    if (status_out != nullptr) {
      *status_out = status;
    }
    return status.ok() ? resp.config_version() : 0;
  }

  // CurlH2: curl --http2 -v; the protocol of the answer is in stderr
  // ("< HTTP/2 200").
  static HttpResult CurlH2(const std::string& host, const std::string& path, const Identity* id,
                           std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--http2", "-v"});
    return env_->Curl(host, path, id, extra);
  }

  // H2Client runs tests/integration/http2/h2_edge_client.py; its JSON.
  static std::string H2Client(const std::string& sni, const Identity* id,
                              const std::string& requests_json) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     CERTGATE_H2_EDGE_CLIENT_PY,
                                     "--port",
                                     std::to_string(env_->edge_port()),
                                     "--sni",
                                     sni,
                                     "--requests",
                                     requests_json};
    if (id != nullptr) {
      argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
    }
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static std::string GrpcCall(const std::string& host, const Identity* id) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     CERTGATE_GRPC_CLIENT_PY,
                                     "--call",
                                     "unary",
                                     "--port",
                                     std::to_string(env_->edge_port()),
                                     "--host",
                                     host,
                                     "--ca",
                                     *edge_ca_path_};
    if (id != nullptr) {
      argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
    }
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string* acme_ = nullptr;
  static inline std::string* bank_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
  static inline Identity* stranger_ca_ = nullptr;
  static inline Identity* stranger_ = nullptr;
  static inline std::string* edge_ca_path_ = nullptr;
};

TEST_F(Http2EdgeTest, CurlWithoutCertificateGetsTheZonesBodyOverHttp2) {
  double before = env_->Metric("certgate_requests_total{zone=\"h2.acme.pizza\",code=\"403\"}");
  HttpResult r = CurlH2(kZone, "/", nullptr);
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(absl::StrContains(r.stderr_text, "< HTTP/2 403")) << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.stderr_text, "< content-type: application/json"))
      << r.stderr_text;
  EXPECT_EQ(r.body, kErrorBody);
  // Counted like an HTTP/1.1 request.
  EXPECT_EQ(env_->Metric("certgate_requests_total{zone=\"h2.acme.pizza\",code=\"403\"}"),
            std::max(before, 0.0) + 1);
}

TEST_F(Http2EdgeTest, CurlWithCertificateReachesTheOriginWithItsHeadersOverHttp2) {
  HttpResult r = CurlH2(kZone, "/hello?x=1", device_,
                        {"-H", "X-Client-Cert-Status: forged", "-H", "X-Device-Id: forged"});
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.stderr_text, "< HTTP/2 200")) << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "\"path\":\"/hello?x=1\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "valid"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Ski", SkiHex(*device_)))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Device-Id", "h2-device-7"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-Proto", "https"))) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "forged")) << r.body;
  // One access log line for the stream.
  EXPECT_TRUE(absl::StrContains(env_->edge_log(), "\"path\":\"/hello?x=1\"")) << env_->edge_log();
}

TEST_F(Http2EdgeTest, StreamsOnOneConnectionAreEachJudgedAndAnotherZonesGets421) {
  std::string requests = absl::StrCat(
      R"([{"method": "GET", "authority": "h2.acme.pizza", "path": "/one"},)",
      R"({"method": "GET", "authority": "h2.acme.pizza", "path": "/two", "headers": [)",
      R"(["x-client-cert-status", "forged"], ["x-client-cert-ski", "forged"],)",
      R"(["x-device-id", "forged"], ["x-forwarded-client-cert", "forged"]]},)",
      R"({"method": "POST", "authority": "h2.acme.pizza", "path": "/three", "body": "0123456789"},)",
      R"({"method": "POST", "authority": "h2.acme.pizza", "path": "/four", "body": "abcde",)",
      R"( "headers": [["content-length", "5"]]},)",
      R"({"method": "GET", "authority": "bank.h2.pizza", "path": "/never-seen-by-bank"},)",
      R"({"method": "GET", "authority": "h2.acme.pizza:443", "path": "/five"}])");
  std::string out = H2Client(kZone, device_, requests);
  EXPECT_TRUE(absl::StrContains(out, "\"alpn\": \"h2\"")) << out;
  // Each stream's answer in order: 200, 200, 200, 200, 421, 200.
  std::vector<std::string> statuses;
  for (size_t pos = 0; (pos = out.find("\"status\": ", pos)) != std::string::npos; ++pos) {
    statuses.push_back(out.substr(pos + 10, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"200", "200", "200", "200", "421", "200"})) << out;
  EXPECT_TRUE(absl::StrContains(out, R"(\"path\":\"/two\")")) << out;
  // Spoofed certificate headers are gone; the edge's own are there.
  EXPECT_FALSE(absl::StrContains(out, "forged")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"(\"X-Client-Cert-Status\":\"valid\")")) << out;
  // Request bodies reached the origin, chunked and with a length.
  EXPECT_TRUE(absl::StrContains(out, R"(\"body_bytes\":10)")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"(\"body_bytes\":5)")) << out;
  // The other zone's stream never reached an origin: the edge answered it,
  // logged and counted under the connection's zone (as on HTTP/1.1), never
  // under the bank's.
  EXPECT_FALSE(absl::StrContains(out, "never-seen-by-bank\\\"")) << out;
  std::string log = env_->edge_log();
  size_t line = log.find("\"path\":\"/never-seen-by-bank\"");
  ASSERT_NE(line, std::string::npos) << log;
  std::string entry =
      log.substr(log.rfind('\n', line) + 1, log.find('\n', line) - log.rfind('\n', line));
  EXPECT_TRUE(absl::StrContains(entry, "\"zone\":\"h2.acme.pizza\"")) << entry;
  EXPECT_TRUE(absl::StrContains(entry, "\"status\":421")) << entry;
  EXPECT_GE(env_->Metric("certgate_requests_total{zone=\"h2.acme.pizza\",code=\"421\"}"), 1);
  EXPECT_LE(env_->Metric("certgate_requests_total{zone=\"bank.h2.pizza\",code=\"200\"}"), 0);
}

TEST_F(Http2EdgeTest, LimitsOfTheHttp11PathHoldPerStream) {
  std::string requests = absl::StrCat(
      // A declared length over --max-body-bytes, one streamed past it, a
      // header block over --max-header-bytes, then one that passes.
      R"([{"method": "POST", "authority": "report.acme.pizza", "path": "/declared", "body": "x",)",
      R"( "repeat": 150000, "headers": [["content-length", "150000"]]},)",
      R"({"method": "POST", "authority": "report.acme.pizza", "path": "/streamed", "body": "x",)",
      R"( "repeat": 150000},)",
      R"({"method": "GET", "authority": "report.acme.pizza", "path": "/big-head", "headers": [)",
      R"(["x-filler", ")", std::string(9000, 'y'), R"("]]},)",
      R"({"method": "GET", "authority": "report.acme.pizza", "path": "/fine"}])");
  std::string out = H2Client(kReportZone, nullptr, requests);
  std::vector<std::string> statuses;
  for (size_t pos = 0; (pos = out.find("\"status\": ", pos)) != std::string::npos; ++pos) {
    statuses.push_back(out.substr(pos + 10, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"413", "413", "431", "200"}))
      << out.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(out, "\"max_concurrent_streams\": 50")) << out.substr(0, 300);
  // Neither oversized body reached the origin.
  EXPECT_FALSE(absl::StrContains(out, "body_bytes\\\":150000")) << out.substr(0, 2000);
}

TEST_F(Http2EdgeTest, GrpcClientGetsGrpcStatusesFromEnforceMode) {
  std::string none = GrpcCall(kZone, nullptr);
  EXPECT_TRUE(absl::StrContains(none, "\"code\": \"UNAUTHENTICATED\"")) << none;
  std::string untrusted = GrpcCall(kZone, stranger_);
  EXPECT_TRUE(absl::StrContains(untrusted, "\"code\": \"PERMISSION_DENIED\"")) << untrusted;
  EXPECT_TRUE(absl::StrContains(untrusted, "unknown_ca")) << untrusted;
}

TEST_F(Http2EdgeTest, ZoneWithHttp2OffNegotiatesHttp11OnTheSameListener) {
  HttpResult off = CurlH2(kOffZone, "/", nullptr);
  EXPECT_EQ(off.status, 200) << off.stderr_text;
  EXPECT_TRUE(absl::StrContains(off.stderr_text, "< HTTP/1.1 200")) << off.stderr_text;
  HttpResult on = CurlH2(kReportZone, "/", nullptr);
  EXPECT_EQ(on.status, 200) << on.stderr_text;
  EXPECT_TRUE(absl::StrContains(on.stderr_text, "< HTTP/2 200")) << on.stderr_text;
  std::string alpn = H2Client(kOffZone, nullptr, "[]");
  EXPECT_TRUE(absl::StrContains(alpn, "\"alpn\": \"http/1.1\"")) << alpn;
}

TEST_F(Http2EdgeTest, HostileTenantCannotSwitchAnotherTenantsHttp2) {
  grpc::Status status;
  EXPECT_EQ(SetHttp2(*bank_, kReportZone, false, &status), 0u);
  EXPECT_FALSE(status.ok());
  // Its own zone it may switch: only that zone changes.
  uint64_t v = SetHttp2(*bank_, kBankZone, false);
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(env_->WaitForVersion(v));
  HttpResult bank = CurlH2(kBankZone, "/", nullptr);
  EXPECT_TRUE(absl::StrContains(bank.stderr_text, "< HTTP/1.1 200")) << bank.stderr_text;
  HttpResult acme = CurlH2(kReportZone, "/", nullptr);
  EXPECT_TRUE(absl::StrContains(acme.stderr_text, "< HTTP/2 200")) << acme.stderr_text;
  v = SetHttp2(*bank_, kBankZone, true);
  ASSERT_GT(v, 0u);
  ASSERT_TRUE(env_->WaitForVersion(v));
  bank = CurlH2(kBankZone, "/", nullptr);
  EXPECT_TRUE(absl::StrContains(bank.stderr_text, "< HTTP/2 200")) << bank.stderr_text;
}

// TwoBatches runs h2_edge_client.py: a GET of `first_path` on a new
// connection, then,
// once `between` ran and the config version it returned is served, `then`
// on the same connection. Its JSON.
std::string TwoBatches(EdgeEnvironment* env, const std::string& dir, const std::string& sni,
                       const Identity* id, const std::string& first_path, const std::string& then,
                       const std::function<uint64_t()>& between) {
  std::string first = absl::StrCat(R"([{"method": "GET", "authority": ")", sni, R"(", "path": ")",
                                   first_path, R"("}])");
  std::string flag = dir + "/then-" + std::to_string(FreePort());
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   CERTGATE_H2_EDGE_CLIENT_PY,
                                   "--port",
                                   std::to_string(env->edge_port()),
                                   "--sni",
                                   sni,
                                   "--requests",
                                   first,
                                   "--then-wait-file",
                                   flag,
                                   "--then-requests",
                                   then};
  if (id != nullptr) {
    argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
  }
  auto client = Subprocess::Start(argv, flag + ".log");
  EXPECT_TRUE(client.ok());
  if (!client.ok()) {
    return "";
  }
  // The first batch is answered before the change: its line is not printed
  // yet, so wait for the edge's access log line instead.
  EXPECT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(env->edge_log(), absl::StrCat("\"path\":\"", first_path, "\""));
      },
      absl::Seconds(20)));
  uint64_t v = between();
  EXPECT_GT(v, 0u);
  EXPECT_TRUE(env->WaitForVersion(v));
  WriteFile(flag, "go");
  EXPECT_EQ((*client)->Wait(), 0);
  return (*client)->ReadLog();
}

TEST_F(Http2EdgeTest, TrustChangesReachTheNextStreamOfAnOpenConnection) {
  env_->CreateZone(*acme_, "trust.acme.pizza", v1::MODE_ENFORCE);
  uint64_t v = env_->AddRoot(*acme_, "trust.acme.pizza", *ca_);
  ASSERT_TRUE(env_->WaitForVersion(v));
  Identity revoked = pki_->Leaf("soon-revoked", *ca_);
  std::string out =
      TwoBatches(env_, *dir_, "trust.acme.pizza", &revoked, "/before-revocation",
                 R"([{"method": "GET", "authority": "trust.acme.pizza", "path": "/after"}])",
                 [&] { return env_->RevokeCertificate(*acme_, "trust.acme.pizza", revoked); });
  EXPECT_TRUE(absl::StrContains(out, R"("status": 200)")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"("status": 403)")) << out;
  EXPECT_FALSE(absl::StrContains(out, R"(\"path\":\"/after\")")) << out;
}

TEST_F(Http2EdgeTest, AZoneDeletedUnderAnOpenConnectionAnswers421AndGoesAway) {
  uint64_t v = env_->CreateZone(*acme_, "gone.acme.pizza", v1::MODE_REPORT);
  ASSERT_TRUE(env_->WaitForVersion(v));
  std::string out = TwoBatches(
      env_, *dir_, "gone.acme.pizza", nullptr, "/before-deletion",
      R"([{"method": "GET", "authority": "gone.acme.pizza", "path": "/after"}])",
      [&]() -> uint64_t {
        v1::DeleteZoneRequest req;
        req.set_hostname("gone.acme.pizza");
        v1::ChangeResponse resp;
        return env_->tenant()->DeleteZone(EdgeEnvironment::Context(*acme_).get(), req, &resp).ok()
                   ? resp.config_version()
                   : 0;
      });
  EXPECT_TRUE(absl::StrContains(out, R"("status": 200)")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"("status": 421)")) << out;
  EXPECT_TRUE(absl::StrContains(out, R"("goaway": 0)")) << out;
}

TEST_F(Http2EdgeTest, DrainingEdgeSaysGoAwayAndFinishesTheOpenStream) {
  // A response of 15 chunks 100 ms apart is under way when the edge is told
  // to stop: GOAWAY NO_ERROR, the stream still ends whole, then the edge exits.
  std::string port = std::to_string(env_->edge_port());
  std::string log = *dir_ + "/drain-curl.log";
  auto curl = Subprocess::Start(
      {"/usr/bin/curl", "-sk", "--http2", "-v", "-N", "--max-time", "30", "--resolve",
       absl::StrCat(kReportZone, ":", port, ":127.0.0.1"),
       absl::StrCat("https://", kReportZone, ":", port, "/stream?chunks=15&interval_ms=100")},
      log);
  ASSERT_TRUE(curl.ok());
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(log), "chunk 13"); }, absl::Seconds(10)))
      << ReadFile(log);
  EXPECT_EQ(env_->StopEdge(SIGTERM), 0);
  EXPECT_EQ((*curl)->Wait(), 0);
  std::string out = (*curl)->ReadLog();
  EXPECT_TRUE(absl::StrContains(out, "< HTTP/2 200")) << out;
  EXPECT_TRUE(absl::StrContains(out, "chunk 1\n")) << out;
  // curl 7.88 spells it "recveived GOAWAY, error=0, last_stream=1".
  EXPECT_TRUE(absl::StrContains(out, "GOAWAY, error=0")) << out;
  std::string error;
  ASSERT_TRUE(env_->StartEdge(&error, EdgeFlags())) << error;
}

// VmRSS of a process, in KiB.
long RssKib(pid_t pid) {
  std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  size_t pos = status.find("VmRSS:");
  return pos == std::string::npos ? 0 : strtol(status.c_str() + pos + 6, nullptr, 10);
}

// PeakGrowthKib runs `argv` to its end and returns how much the edge's
// resident memory grew at most meanwhile; the client's output in *out.
long PeakGrowthKib(EdgeEnvironment* env, const std::vector<std::string>& argv,
                   const std::string& log, std::string* out) {
  long before = RssKib(env->edge()->pid());
  auto client = Subprocess::Start(argv, log);
  EXPECT_TRUE(client.ok());
  if (!client.ok()) {
    return 0;
  }
  long peak = before;
  while ((*client)->Running()) {
    peak = std::max(peak, RssKib(env->edge()->pid()));
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ((*client)->Wait(), 0);
  *out = (*client)->ReadLog();
  return peak - before;
}

TEST_F(Http2EdgeTest, SlowClientDoesNotMakeTheEdgeBufferTheResponse) {
  // 24 MiB from a fast origin to HTTP/2 clients that read slowly: the
  // stream's windows and the socket hold the origin back, not the edge's
  // memory.
  constexpr int kBytes = 24 * 1024 * 1024;
  std::string out;
  long growth = PeakGrowthKib(
      env_,
      {"/usr/bin/python3", CERTGATE_H2_EDGE_CLIENT_PY, "--port", std::to_string(env_->edge_port()),
       "--sni", kReportZone, "--read-delay-ms", "2", "--requests",
       absl::StrCat(R"([{"method": "GET", "authority": ")", kReportZone, R"(", "path": "/bytes?n=)",
                    kBytes, R"("}])")},
      *dir_ + "/slow-h2.log", &out);
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("\"body_bytes\": ", kBytes))) << out;
  EXPECT_TRUE(absl::StrContains(out, "\"status\": 200")) << out;
  if (!::certgate::testing::kSanitizedBuild) {  // ASan's quarantine inflates RSS
    EXPECT_LT(growth, 8 * 1024) << "edge RSS grew by " << growth << " KiB (python h2)";
  }
  // curl reads at 8 MiB/s: TCP pushes back, with a large HTTP/2 window.
  std::string port = std::to_string(env_->edge_port());
  growth = PeakGrowthKib(env_,
                         {"/usr/bin/curl", "-sk", "--http2", "--max-time", "60", "--limit-rate",
                          "8M", "-o", "/dev/null", "-w", "%{http_version} %{size_download}",
                          "--resolve", absl::StrCat(kReportZone, ":", port, ":127.0.0.1"),
                          absl::StrCat("https://", kReportZone, ":", port, "/bytes?n=", kBytes)},
                         *dir_ + "/slow-curl.log", &out);
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("2 ", kBytes))) << out;
  if (!::certgate::testing::kSanitizedBuild) {
    EXPECT_LT(growth, 8 * 1024) << "edge RSS grew by " << growth << " KiB (curl)";
  }
}

}  // namespace
}  // namespace certgate::testing
