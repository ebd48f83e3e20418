// certgate-edge against a real certgate-control and echo origin on loopback,
// driven by curl and openssl s_client. One environment is shared by the
// tests of EdgeTest (each works on its own zones); the restart tests run
// their own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "openssl/x509v3.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/support/build_flavor.h"

namespace certgate::testing {
namespace {

constexpr char kErrorBody[] = "{\"error\":\"client certificate required\",\"help\":\"see docs\"}";

class EdgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-edge-it"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->Start(
        &error, {"--header-timeout-ms", "1000", "--origin-timeout-ms", "1500", "--max-header-bytes",
                 "8192", "--max-headers", "50", "--handshake-timeout-ms", "1000",
                 "--origin-connect-timeout-ms", "1000"}))
        << error;
    tenant_a_ = new std::string(env_->NewTenant("acme"));
    tenant_b_ = new std::string(env_->NewTenant("bank"));
    ca_a_ = new Identity(pki_->Ca("acme-devices-ca"));
    ca_client_ = new Identity(pki_->Ca("acme-client-ca"));
    ca_fleet_ = new Identity(pki_->Ca("acme-fleet-ca"));
    ca_b_ = new Identity(pki_->Ca("bank-ca"));
    const std::string& a = *tenant_a_;
    // auth.pizza: enforce, own error body, a mapped field.
    env_->CreateZone(a, "auth.pizza", v1::MODE_ENFORCE);
    env_->AddRoot(a, "auth.pizza", *ca_a_);
    env_->SetErrorResponse(a, "auth.pizza", "application/json", kErrorBody);
    env_->MapHeader(a, "auth.pizza", "X-Device-Id", "subject.CN");
    // client.auth.pizza: enforce with another root.
    env_->CreateZone(a, "client.auth.pizza", v1::MODE_ENFORCE);
    env_->AddRoot(a, "client.auth.pizza", *ca_client_);
    // *.fleet.pizza: report.
    env_->CreateZone(a, "*.fleet.pizza", v1::MODE_REPORT);
    env_->AddRoot(a, "*.fleet.pizza", *ca_fleet_);
    env_->MapHeader(a, "*.fleet.pizza", "X-Device-Id", "subject.CN");
    // off.pizza: mode off.
    env_->CreateZone(a, "off.pizza", v1::MODE_OFF);
    // Another tenant's zone and CA.
    env_->CreateZone(*tenant_b_, "bank.pizza", v1::MODE_ENFORCE);
    uint64_t version = env_->AddRoot(*tenant_b_, "bank.pizza", *ca_b_);
    ASSERT_GT(version, 0u);
    ASSERT_TRUE(env_->WaitForVersion(version)) << env_->edge_log();
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

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string* tenant_a_ = nullptr;
  static inline std::string* tenant_b_ = nullptr;
  static inline Identity* ca_a_ = nullptr;
  static inline Identity* ca_client_ = nullptr;
  static inline Identity* ca_fleet_ = nullptr;
  static inline Identity* ca_b_ = nullptr;
};

TEST_F(EdgeTest, EnforceWithoutCertificateAnswersTheZonesBody) {
  HttpResult r = env_->Curl("auth.pizza", "/", nullptr, {"-D", "-"});
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(absl::EndsWith(r.body, kErrorBody)) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "Content-Type: application/json")) << r.body;
  // Nothing reached the origin: the body is the zone's, not an echo.
  EXPECT_FALSE(absl::StrContains(r.body, "\"method\"")) << r.body;
}

TEST_F(EdgeTest, EnforceValidCertificateReachesOriginWithHeaders) {
  Identity leaf = pki_->Leaf("device-123", *ca_a_);
  HttpResult r = env_->Curl("auth.pizza", "/hello?x=1", &leaf);
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, "\"path\":\"/hello?x=1\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "valid"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Ski", SkiHex(leaf)))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Device-Id", "device-123"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-Proto", "https"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-For", "127.0.0.1"))) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "X-Client-Cert-Error")) << r.body;
}

TEST_F(EdgeTest, EnforceRefusesForeignSelfSignedAndExpiredCertificates) {
  Identity foreign = pki_->Leaf("bank-device", *ca_b_);
  Identity self_signed = pki_->SelfSigned("self-signed");
  int64_t now = absl::ToUnixSeconds(absl::Now());
  Identity expired = pki_->Leaf("expired-device", *ca_a_, {}, now - 10 * 86400, now - 86400);
  // A labeled series appears with its first refusal: absent (-1) means 0 here.
  double unknown_before = std::max(
      0.0, env_->Metric("certgate_cert_invalid_total{zone=\"auth.pizza\",reason=\"unknown_ca\"}"));
  double expired_before = std::max(
      0.0, env_->Metric("certgate_cert_invalid_total{zone=\"auth.pizza\",reason=\"expired\"}"));
  for (const Identity* id : {&foreign, &self_signed, &expired}) {
    HttpResult r = env_->Curl("auth.pizza", "/", id);
    EXPECT_EQ(r.status, 403) << id->cert_path << " " << r.body << r.stderr_text;
    EXPECT_TRUE(absl::StrContains(r.body, "client certificate required")) << r.body;
  }
  EXPECT_GE(env_->Metric("certgate_cert_invalid_total{zone=\"auth.pizza\",reason=\"unknown_ca\"}"),
            unknown_before + 2);
  EXPECT_GE(env_->Metric("certgate_cert_invalid_total{zone=\"auth.pizza\",reason=\"expired\"}"),
            expired_before + 1);
  // The access log says why, too.
  EXPECT_TRUE(absl::StrContains(env_->edge_log(), "\"reason\":\"expired\"")) << env_->edge_log();
  // The same foreign certificate is fine on its own tenant's zone.
  EXPECT_EQ(env_->Curl("bank.pizza", "/", &foreign).status, 200);
}

TEST_F(EdgeTest, LeafWithIntermediateSentByClientIsValid) {
  Identity intermediate = pki_->IntermediateCa("acme-issuing-ca", *ca_a_);
  Identity leaf = pki_->Leaf("chained-device", intermediate, {&intermediate});
  HttpResult r = env_->Curl("auth.pizza", "/", &leaf);
  EXPECT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Device-Id", "chained-device"))) << r.body;
}

TEST_F(EdgeTest, SubdomainAndWildcardZonesHaveTheirOwnRootsAndModes) {
  Identity acme = pki_->Leaf("acme-device", *ca_a_);
  Identity client = pki_->Leaf("client-device", *ca_client_);
  Identity fleet = pki_->Leaf("truck-7", *ca_fleet_);
  // client.auth.pizza trusts only its own root.
  EXPECT_EQ(env_->Curl("client.auth.pizza", "/", &acme).status, 403);
  EXPECT_EQ(env_->Curl("client.auth.pizza", "/", &client).status, 200);
  EXPECT_EQ(env_->Curl("auth.pizza", "/", &client).status, 403);
  // *.fleet.pizza is report mode: everything reaches the origin.
  HttpResult r = env_->Curl("truck7.fleet.pizza", "/", &fleet);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "valid"))) << r.body;
  r = env_->Curl("truck8.fleet.pizza", "/", &acme);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "invalid"))) << r.body;
  // One level only: a.b.fleet.pizza is no zone, so the handshake fails.
  HttpResult deep = env_->Curl("a.b.fleet.pizza", "/", nullptr);
  EXPECT_NE(deep.exit_code, 0);
  EXPECT_EQ(deep.status, 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string log = env_->edge_log();
        return absl::StrContains(log, "\"event\":\"handshake_failed\"") &&
               absl::StrContains(log, "\"sni\":\"a.b.fleet.pizza\"");
      },
      absl::Seconds(5)))
      << env_->edge_log();
}

TEST_F(EdgeTest, ReportModeForwardsNoneValidAndInvalid) {
  Identity fleet = pki_->Leaf("bus-1", *ca_fleet_);
  Identity stranger = pki_->SelfSigned("stranger");
  HttpResult none = env_->Curl("bus.fleet.pizza", "/", nullptr);
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(absl::StrContains(none.body, Echoed("X-Client-Cert-Status", "none"))) << none.body;
  HttpResult valid = env_->Curl("bus.fleet.pizza", "/", &fleet);
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Client-Cert-Status", "valid"))) << valid.body;
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Device-Id", "bus-1"))) << valid.body;
  HttpResult invalid = env_->Curl("bus.fleet.pizza", "/", &stranger);
  EXPECT_TRUE(absl::StrContains(invalid.body, Echoed("X-Client-Cert-Status", "invalid")))
      << invalid.body;
  EXPECT_TRUE(absl::StrContains(invalid.body, "\"X-Client-Cert-Error\":\"")) << invalid.body;
  // Mapped identity fields are never forwarded for an invalid certificate.
  EXPECT_FALSE(absl::StrContains(invalid.body, "X-Device-Id")) << invalid.body;
}

TEST_F(EdgeTest, SpoofedCertificateHeadersNeverReachTheOrigin) {
  HttpResult r = env_->Curl("spoof.fleet.pizza", "/", nullptr,
                            {"-H", "X-Client-Cert-Status: valid", "-H", "x-client-cert-ski: beef",
                             "-H", "X-Device-Id: admin", "-H", "X-Client-Cert-Error: none"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "none"))) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "valid")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "beef")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "admin")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "X-Client-Cert-Error")) << r.body;
  // Mode off: no certificate headers at all, spoofed ones still removed.
  HttpResult off = env_->Curl("off.pizza", "/", nullptr, {"-H", "X-Client-Cert-Status: valid"});
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_FALSE(absl::StrContains(off.body, "X-Client-Cert-Status")) << off.body;
  EXPECT_TRUE(absl::StrContains(off.body, Echoed("X-Forwarded-Proto", "https"))) << off.body;
}

TEST_F(EdgeTest, CarriageReturnInSubjectAddsNoHeader) {
  Identity evil = pki_->Leaf("evil", *ca_a_, {}, 0, 0, "evil\r\nX-Injected: yes");
  HttpResult r = env_->Curl("auth.pizza", "/", &evil);
  ASSERT_EQ(r.status, 200) << r.body << r.stderr_text;
  EXPECT_FALSE(absl::StrContains(r.body, "\"X-Injected\"")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"X-Device-Id\":\"evil%0D%0AX-Injected: yes\"")) << r.body;
}

TEST_F(EdgeTest, HostOfAnotherZoneIsMisdirected) {
  Identity leaf = pki_->Leaf("device-421", *ca_a_);
  HttpResult r = env_->Curl("auth.pizza", "/", &leaf, {"-H", "Host: client.auth.pizza"});
  EXPECT_EQ(r.status, 421) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "\"method\"")) << r.body;
  r = env_->Curl("auth.pizza", "/", &leaf, {"-H", "Host: bank.pizza"});
  EXPECT_EQ(r.status, 421) << r.body;
  // A wildcard zone's Host must be one of its names too.
  r = env_->Curl("a.fleet.pizza", "/", nullptr, {"-H", "Host: b.fleet.pizza"});
  EXPECT_EQ(r.status, 200) << r.body;
  r = env_->Curl("a.fleet.pizza", "/", nullptr, {"-H", "Host: fleet.pizza"});
  EXPECT_EQ(r.status, 421) << r.body;
}

TEST_F(EdgeTest, SessionFromOneZoneIsNotResumedOnAnother) {
  Identity leaf = pki_->Leaf("sess-device", *ca_a_);
  std::string sess = *dir_ + "/auth.sess";
  std::string request = "GET / HTTP/1.1\r\nHost: auth.pizza\r\nConnection: close\r\n\r\n";
  CommandResult first = env_->SClient("auth.pizza", &leaf, request, "", sess);
  ASSERT_TRUE(absl::StrContains(first.out, "HTTP/1.1 200")) << first.out << first.err;
  // Control: the session does resume on its own zone...
  CommandResult again = env_->SClient("auth.pizza", nullptr, request, sess, "");
  EXPECT_TRUE(absl::StrContains(again.out, "Reused,")) << again.out;
  EXPECT_TRUE(absl::StrContains(again.out, "HTTP/1.1 200")) << again.out;
  // ...but never on another zone, even of the same tenant.
  std::string other_request =
      "GET / HTTP/1.1\r\nHost: client.auth.pizza\r\nConnection: close\r\n\r\n";
  CommandResult other = env_->SClient("client.auth.pizza", nullptr, other_request, sess, "");
  EXPECT_FALSE(absl::StrContains(other.out, "Reused,")) << other.out;
  EXPECT_TRUE(absl::StrContains(other.out, "HTTP/1.1 403")) << other.out;
}

TEST_F(EdgeTest, RevocationAndRootRemovalApplyToNewAndResumedConnections) {
  const std::string& a = *tenant_a_;
  Identity ca = pki_->Ca("revoke-ca");
  env_->CreateZone(a, "revoke.pizza", v1::MODE_ENFORCE);
  std::string root_id;
  uint64_t v = env_->AddRoot(a, "revoke.pizza", ca, &root_id);
  ASSERT_TRUE(env_->WaitForVersion(v));
  Identity revoked = pki_->Leaf("to-revoke", ca);
  Identity kept = pki_->Leaf("to-keep", ca);
  std::string request = "GET / HTTP/1.1\r\nHost: revoke.pizza\r\nConnection: close\r\n\r\n";
  std::string sess_revoked = *dir_ + "/revoked.sess";
  std::string sess_kept = *dir_ + "/kept.sess";
  ASSERT_TRUE(absl::StrContains(
      env_->SClient("revoke.pizza", &revoked, request, "", sess_revoked).out, "HTTP/1.1 200"));
  ASSERT_TRUE(absl::StrContains(env_->SClient("revoke.pizza", &kept, request, "", sess_kept).out,
                                "HTTP/1.1 200"));

  v = env_->RevokeCertificate(a, "revoke.pizza", revoked);
  ASSERT_TRUE(env_->WaitForVersion(v));
  EXPECT_EQ(env_->Curl("revoke.pizza", "/", &revoked).status, 403);
  EXPECT_EQ(env_->Curl("revoke.pizza", "/", &kept).status, 200);
  CommandResult resumed = env_->SClient("revoke.pizza", nullptr, request, sess_revoked, "");
  EXPECT_TRUE(absl::StrContains(resumed.out, "HTTP/1.1 403")) << resumed.out;
  EXPECT_TRUE(absl::StrContains(
      env_->Metrics(), "certgate_cert_invalid_total{zone=\"revoke.pizza\",reason=\"revoked\"}"))
      << env_->Metrics();

  v = env_->RemoveRoot(a, "revoke.pizza", root_id);
  ASSERT_TRUE(env_->WaitForVersion(v));
  EXPECT_EQ(env_->Curl("revoke.pizza", "/", &kept).status, 403);
  resumed = env_->SClient("revoke.pizza", nullptr, request, sess_kept, "");
  EXPECT_TRUE(absl::StrContains(resumed.out, "HTTP/1.1 403")) << resumed.out;
}

TEST_F(EdgeTest, RepeatedInvalidCertificateIsAnsweredFromTheCache) {
  // Known issuer, wrong purpose (serverAuth only): only the chain walk can
  // refuse it.
  Identity wrong_purpose = pki_->Server("server-only", *ca_a_, {}, {});
  double misses = env_->Metric("certgate_verify_cache_misses_total");
  double chains = env_->Metric("certgate_chain_verifications_total");
  ASSERT_EQ(env_->Curl("auth.pizza", "/", &wrong_purpose).status, 403);
  EXPECT_EQ(env_->Metric("certgate_verify_cache_misses_total"), misses + 1);
  EXPECT_EQ(env_->Metric("certgate_chain_verifications_total"), chains + 1);
  double hits = env_->Metric("certgate_verify_cache_hits_total");
  chains = env_->Metric("certgate_chain_verifications_total");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(env_->Curl("auth.pizza", "/", &wrong_purpose).status, 403);
  }
  EXPECT_EQ(env_->Metric("certgate_verify_cache_hits_total"), hits + 3);
  EXPECT_EQ(env_->Metric("certgate_chain_verifications_total"), chains);
  // A certificate whose issuer the zone does not know never costs a chain
  // walk: it is refused by the cheap checks, every time.
  Identity stranger = pki_->SelfSigned("cache-stranger");
  double cheap = env_->Metric("certgate_cheap_rejections_total");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(env_->Curl("auth.pizza", "/", &stranger).status, 403);
  }
  EXPECT_EQ(env_->Metric("certgate_chain_verifications_total"), chains);
  EXPECT_EQ(env_->Metric("certgate_cheap_rejections_total"), cheap + 2);
  // A valid chain is verified once, then cached as well.
  Identity leaf = pki_->Leaf("cache-device", *ca_a_);
  ASSERT_EQ(env_->Curl("auth.pizza", "/", &leaf).status, 200);
  chains = env_->Metric("certgate_chain_verifications_total");
  ASSERT_EQ(env_->Curl("auth.pizza", "/", &leaf).status, 200);
  EXPECT_EQ(env_->Metric("certgate_chain_verifications_total"), chains);
}

TEST_F(EdgeTest, ConfigChangeDuringStreamingResponseDoesNotBreakIt) {
  std::string port = std::to_string(env_->edge_port());
  auto curl = Subprocess::Start(
      {"/usr/bin/curl", "-sk", "-N", "--max-time", "30", "--resolve",
       "stream.fleet.pizza:" + port + ":127.0.0.1",
       "https://stream.fleet.pizza:" + port + "/stream?chunks=40&interval_ms=250"},
      *dir_ + "/stream.log");
  ASSERT_TRUE(curl.ok());
  // Ten seconds of stream, so the config change below lands in its middle.
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains((*curl)->ReadLog(), "chunk 39\n"); },
                      absl::Seconds(10)));
  // Change the very zone being streamed, and another one.
  Identity extra = pki_->Ca("fleet-extra-ca");
  env_->AddRoot(*tenant_a_, "*.fleet.pizza", extra);
  uint64_t v = env_->MapHeader(*tenant_a_, "auth.pizza", "X-Device-Org", "subject.O");
  ASSERT_TRUE(env_->WaitForVersion(v));
  // Otherwise the change came after the stream, and the test proves nothing.
  ASSERT_TRUE((*curl)->Running()) << "the stream ended before the config change";
  EXPECT_EQ((*curl)->Wait(absl::Seconds(20)), 0);
  std::string out = (*curl)->ReadLog();
  for (int i = 40; i >= 1; --i) {
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("chunk ", i, "\n"))) << out;
  }
}

TEST_F(EdgeTest, KeepAliveAndPipelining) {
  // Two requests on one connection, the second pipelined behind the first.
  std::string requests =
      "GET /one HTTP/1.1\r\nHost: pipe.fleet.pizza\r\n\r\n"
      "GET /two HTTP/1.1\r\nHost: pipe.fleet.pizza\r\nConnection: close\r\n\r\n";
  CommandResult r = env_->SClient("pipe.fleet.pizza", nullptr, requests, "", "", {"-quiet"});
  size_t one = r.out.find("\"path\":\"/one\"");
  size_t two = r.out.find("\"path\":\"/two\"");
  ASSERT_NE(one, std::string::npos) << r.out;
  ASSERT_NE(two, std::string::npos) << r.out;
  EXPECT_LT(one, two);
  // curl reuses the connection for a second URL.
  std::string port = std::to_string(env_->edge_port());
  HttpResult both = env_->Curl("pipe.fleet.pizza", "/a", nullptr,
                               {"-v", "https://pipe.fleet.pizza:" + port + "/b"});
  EXPECT_TRUE(absl::StrContains(both.stderr_text, "Re-using existing connection") ||
              absl::StrContains(both.stderr_text, "Reusing existing connection"))
      << both.stderr_text;
}

TEST_F(EdgeTest, StreamsRequestBodiesOfBothFramings) {
  std::string body_file = *dir_ + "/body.bin";
  WriteFile(body_file, std::string(3 * 1024 * 1024 + 17, 'x'));
  HttpResult sized =
      env_->Curl("upload.fleet.pizza", "/up", nullptr, {"--data-binary", "@" + body_file});
  EXPECT_EQ(sized.status, 200);
  EXPECT_TRUE(absl::StrContains(sized.body, "\"body_bytes\":3145745")) << sized.body;
  HttpResult chunked =
      env_->Curl("upload.fleet.pizza", "/up", nullptr,
                 {"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body_file});
  EXPECT_EQ(chunked.status, 200);
  EXPECT_TRUE(absl::StrContains(chunked.body, "\"body_bytes\":3145745")) << chunked.body;
  // A large response body streams back whole.
  HttpResult big = env_->Curl("upload.fleet.pizza", "/stream?chunks=2000&interval_ms=0", nullptr);
  EXPECT_EQ(big.status, 200);
  EXPECT_TRUE(absl::StrContains(big.body, "chunk 1\n")) << big.body.size();
}

// VmRSS of a process, in KiB.
long RssKib(pid_t pid) {
  std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  size_t pos = status.find("VmRSS:");
  long kib = 0;
  if (pos != std::string::npos) {
    kib = strtol(status.c_str() + pos + 6, nullptr, 10);
  }
  return kib;
}

TEST_F(EdgeTest, SlowClientDoesNotMakeTheEdgeBufferTheResponse) {
  // 48 MiB from a fast origin to a client reading 8 MiB/s: without
  // backpressure the edge would hold most of it in memory.
  constexpr int kBytes = 48 * 1024 * 1024;
  std::string port = std::to_string(env_->edge_port());
  long before = RssKib(env_->edge()->pid());
  auto curl = Subprocess::Start(
      {"/usr/bin/curl", "-sk", "--http1.1", "--max-time", "60", "--limit-rate", "8M", "-o",
       "/dev/null", "-w", "%{size_download}", "--resolve", "big.fleet.pizza:" + port + ":127.0.0.1",
       absl::StrCat("https://big.fleet.pizza:", port, "/bytes?n=", kBytes)},
      *dir_ + "/big.log");
  ASSERT_TRUE(curl.ok());
  long peak = before;
  while ((*curl)->Running()) {
    peak = std::max(peak, RssKib(env_->edge()->pid()));
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ((*curl)->Wait(), 0);
  EXPECT_TRUE(absl::StrContains((*curl)->ReadLog(), std::to_string(kBytes))) << (*curl)->ReadLog();
  if (!::certgate::testing::kSanitizedBuild) {  // ASan's quarantine inflates RSS
    EXPECT_LT(peak - before, 16 * 1024)
        << "edge RSS grew from " << before << " to " << peak << " KiB";
  }
}

TEST_F(EdgeTest, MalformedAndOversizedRequestsAreRefused) {
  struct Case {
    const char* name;
    std::string request;
    const char* status_line;
  };
  std::string many;
  for (int i = 0; i < 60; ++i) {
    many += absl::StrCat("X-H", i, ": v\r\n");
  }
  Case cases[] = {
      {"content-length and chunked",
       "POST / HTTP/1.1\r\nHost: raw.fleet.pizza\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400"},
      {"two content-lengths",
       "POST / HTTP/1.1\r\nHost: raw.fleet.pizza\r\nContent-Length: 1\r\nContent-Length: "
       "2\r\n\r\nab",
       "HTTP/1.1 400"},
      {"bad content-length",
       "POST / HTTP/1.1\r\nHost: raw.fleet.pizza\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400"},
      {"head too large",
       "GET / HTTP/1.1\r\nHost: raw.fleet.pizza\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n",
       "HTTP/1.1 431"},
      {"too many headers", "GET / HTTP/1.1\r\nHost: raw.fleet.pizza\r\n" + many + "\r\n",
       "HTTP/1.1 431"},
      {"no host", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
      {"connect", "CONNECT raw.fleet.pizza:443 HTTP/1.1\r\nHost: raw.fleet.pizza\r\n\r\n",
       "HTTP/1.1 501"},
  };
  for (const Case& c : cases) {
    CommandResult r = env_->SClient("raw.fleet.pizza", nullptr, c.request, "", "", {"-quiet"});
    EXPECT_TRUE(absl::StartsWith(r.out, c.status_line)) << c.name << ": " << r.out;
    // Refused by the edge: the echo origin never answered.
    EXPECT_FALSE(absl::StrContains(r.out, "\"method\"")) << c.name << ": " << r.out;
  }
}

TEST_F(EdgeTest, SlowRequestHeadGets408) {
  absl::Time start = absl::Now();
  CommandResult r =
      env_->SClient("slow.fleet.pizza", nullptr, "GET / HTTP/1.1\r\nHost: slow.fleet.pizza\r\n", "",
                    "", {"-quiet"});
  EXPECT_TRUE(absl::StartsWith(r.out, "HTTP/1.1 408")) << r.out;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900));
}

TEST_F(EdgeTest, OriginFailuresAre502And504) {
  const std::string& a = *tenant_a_;
  int closed_port = FreePort();
  env_->CreateZone(a, "down.pizza", v1::MODE_OFF, absl::StrCat("http://127.0.0.1:", closed_port));
  uint64_t v = env_->CreateZone(a, "tls-origin.pizza", v1::MODE_OFF, "https://127.0.0.1:9");
  ASSERT_TRUE(env_->WaitForVersion(v));
  double errors = env_->Metric("certgate_origin_errors_total");
  HttpResult down = env_->Curl("down.pizza", "/", nullptr);
  EXPECT_EQ(down.status, 502) << down.body;
  HttpResult tls = env_->Curl("tls-origin.pizza", "/", nullptr);
  EXPECT_EQ(tls.status, 502) << tls.body;
  // An https origin is connected to like any other (nothing listens here).
  EXPECT_TRUE(absl::StrContains(tls.body, "origin connect failed")) << tls.body;
  // The origin is slower than --origin-timeout-ms (1500).
  HttpResult slow = env_->Curl("sleepy.fleet.pizza", "/sleep?ms=4000", nullptr);
  EXPECT_EQ(slow.status, 504) << slow.body;
  // A fast one on the same edge still works.
  EXPECT_EQ(env_->Curl("sleepy.fleet.pizza", "/sleep?ms=100", nullptr).status, 200);
  EXPECT_GE(env_->Metric("certgate_origin_errors_total"), errors + 3);
}

TEST_F(EdgeTest, OriginThatNeverAcceptsIs504) {
  // A listener whose accept queue is full and never drained: further SYNs
  // are dropped, so connecting hangs until the edge gives up.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(fd);
  }
  absl::SleepFor(absl::Milliseconds(200));
  uint64_t v = env_->CreateZone(*tenant_a_, "blackhole.pizza", v1::MODE_OFF,
                                absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port)));
  ASSERT_TRUE(env_->WaitForVersion(v));
  absl::Time start = absl::Now();
  HttpResult r = env_->Curl("blackhole.pizza", "/", nullptr);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "connect timed out")) << r.body;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  for (int fd : fillers) {
    close(fd);
  }
  close(listener);
}

TEST_F(EdgeTest, MetricsAndAccessLog) {
  Identity leaf = pki_->Leaf("metrics-device", *ca_a_);
  ASSERT_EQ(env_->Curl("auth.pizza", "/metered", &leaf).status, 200);
  ASSERT_EQ(env_->Curl("auth.pizza", "/refused", nullptr).status, 403);
  std::string text = env_->Metrics();
  for (const char* series :
       {"certgate_handshakes_total{result=\"ok\"}", "certgate_handshakes_total{result=\"failed\"}",
        "certgate_handshakes_total{result=\"resumed\"}",
        "certgate_cert_status_total{zone=\"auth.pizza\",status=\"valid\"}",
        "certgate_requests_total{zone=\"auth.pizza\",code=\"200\"}",
        "certgate_requests_total{zone=\"auth.pizza\",code=\"403\"}",
        "certgate_verify_cache_misses_total", "certgate_verify_cache_evictions_total",
        "certgate_verify_cache_size", "certgate_config_state_write_errors_total",
        "certgate_config_state_bytes_written_total", "certgate_origin_latency_seconds_count",
        "certgate_connections_open"}) {
    EXPECT_TRUE(absl::StrContains(text, series)) << series << "\n" << text;
  }
  EXPECT_GT(env_->Metric("certgate_origin_latency_seconds_count"), 0);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string log = env_->edge_log();
        return absl::StrContains(log,
                                 "\"zone\":\"auth.pizza\",\"host\":\"auth.pizza\","
                                 "\"method\":\"GET\",\"path\":\"/metered\",\"status\":200,"
                                 "\"cert_status\":\"valid\"") &&
               absl::StrContains(log, absl::StrCat("\"ski\":\"", SkiHex(leaf), "\""));
      },
      absl::Seconds(5)))
      << env_->edge_log();
}

TEST_F(EdgeTest, HandshakeFailuresAreLoggedWithTheirReason) {
  // No SNI (an IP literal): refused at the TLS layer.
  std::string port = std::to_string(env_->edge_port());
  CommandResult no_sni =
      RunCommand({"curl", "-sk", "--max-time", "10", "https://127.0.0.1:" + port + "/"});
  EXPECT_NE(no_sni.exit_code, 0);
  // A client that never speaks: closed after --handshake-timeout-ms.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(env_->edge_port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  absl::Time start = absl::Now();
  char byte;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0);  // EOF, not the 10 s receive timeout
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  close(fd);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string log = env_->edge_log();
        return absl::StrContains(log, "\"reason\":\"handshake timeout\"") &&
               absl::StrContains(log, "\"sni\":\"\"");
      },
      absl::Seconds(5)))
      << env_->edge_log();
  EXPECT_GE(env_->Metric("certgate_handshakes_total{result=\"failed\"}"), 2);
}

TEST_F(EdgeTest, TrafficCountsReachTheControlPlane) {
  Identity fleet = pki_->Leaf("counted", *ca_fleet_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(env_->Curl("counted.fleet.pizza", "/", &fleet).status, 200);
  }
  ASSERT_EQ(env_->Curl("counted.fleet.pizza", "/", nullptr).status, 200);
  v1::StatusResponse status;
  bool seen = WaitFor(
      [&] {
        v1::GetStatusRequest req;
        req.set_hostname("*.fleet.pizza");
        grpc::Status s =
            env_->tenant()->GetStatus(EdgeEnvironment::Context(*tenant_a_).get(), req, &status);
        return s.ok() && status.traffic().valid() >= 2 && status.traffic().none() >= 1;
      },
      absl::Seconds(20));
  EXPECT_TRUE(seen) << status.DebugString();
}

// The edge without its control plane: it keeps serving, and a restarted edge
// serves from its state dir.
TEST(EdgeRestartTest, ServesWithoutControlPlaneAndFromStateDir) {
  std::string dir = MakeTempDir("certgate-edge-restart");
  EdgeEnvironment env(dir);
  Pki pki(dir);
  std::string error;
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartOrigin(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error)) << error;
  std::string tenant = env.NewTenant("acme");
  Identity ca = pki.Ca("restart-ca");
  env.CreateZone(tenant, "auth.pizza", v1::MODE_ENFORCE);
  uint64_t v = env.AddRoot(tenant, "auth.pizza", ca);
  ASSERT_TRUE(env.WaitForVersion(v));
  Identity leaf = pki.Leaf("device-1", ca);
  ASSERT_EQ(env.Curl("auth.pizza", "/", &leaf).status, 200);

  EXPECT_EQ(env.StopControl(SIGKILL), 128 + SIGKILL);
  HttpResult r = env.Curl("auth.pizza", "/", &leaf);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(env.Curl("auth.pizza", "/", nullptr).status, 403);

  // SIGTERM: a clean exit.
  EXPECT_EQ(env.StopEdge(SIGTERM), 0) << env.edge_log();
  ASSERT_TRUE(env.StartEdge(&error)) << error;
  EXPECT_EQ(env.Metric("certgate_config_version"), static_cast<double>(v));
  r = env.Curl("auth.pizza", "/", &leaf);
  EXPECT_EQ(r.status, 200) << r.body << env.edge_log();
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Client-Cert-Status", "valid"))) << r.body;
  EXPECT_EQ(env.Curl("auth.pizza", "/", nullptr).status, 403);
}

// SIGTERM while a response streams: the response finishes, then the edge exits 0.
TEST(EdgeRestartTest, SigtermLetsOpenResponsesFinish) {
  std::string dir = MakeTempDir("certgate-edge-drain");
  EdgeEnvironment env(dir);
  std::string error;
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartOrigin(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error)) << error;
  std::string tenant = env.NewTenant("acme");
  uint64_t v = env.CreateZone(tenant, "drain.pizza", v1::MODE_REPORT);
  ASSERT_TRUE(env.WaitForVersion(v));
  std::string port = std::to_string(env.edge_port());
  auto curl =
      Subprocess::Start({"/usr/bin/curl", "-sk", "-N", "--max-time", "30", "--resolve",
                         "drain.pizza:" + port + ":127.0.0.1",
                         "https://drain.pizza:" + port + "/stream?chunks=6&interval_ms=200"},
                        dir + "/drain.log");
  ASSERT_TRUE(curl.ok());
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains((*curl)->ReadLog(), "chunk 5"); }, absl::Seconds(10)));
  env.edge()->Signal(SIGTERM);
  EXPECT_EQ((*curl)->Wait(absl::Seconds(20)), 0);
  EXPECT_TRUE(absl::StrContains((*curl)->ReadLog(), "chunk 1\n")) << (*curl)->ReadLog();
  EXPECT_EQ(env.edge()->Wait(absl::Seconds(20)), 0) << env.edge_log();
  // No longer accepting.
  EXPECT_NE(env.Curl("drain.pizza", "/", nullptr).exit_code, 0);
}

}  // namespace
}  // namespace certgate::testing

namespace certgate::testing {
namespace {

// --max-connections-per-worker: one worker holding one connection refuses
// the next until the first goes away; idle keep-alive connections close
// after --idle-timeout-ms.
TEST(EdgeLimitsTest, ConnectionCapAndIdleTimeout) {
  std::string dir = MakeTempDir("certgate-edge-limits");
  EdgeEnvironment env(dir);
  std::string error;
  ASSERT_TRUE(env.StartControl(&error)) << error;
  ASSERT_TRUE(env.StartOrigin(&error)) << error;
  ASSERT_TRUE(env.StartEdge(&error, {"--workers", "1", "--max-connections-per-worker", "1",
                                     "--idle-timeout-ms", "800", "--handshake-timeout-ms", "5000"}))
      << error;
  std::string tenant = env.NewTenant("acme");
  uint64_t v = env.CreateZone(tenant, "cap.pizza", v1::MODE_REPORT);
  ASSERT_TRUE(env.WaitForVersion(v));
  ASSERT_EQ(env.Curl("cap.pizza", "/", nullptr).status, 200);
  // curl's connection must be gone from the edge first, or the edge (at its
  // cap) drops the next one at accept.
  ASSERT_TRUE(
      WaitFor([&] { return env.Metric("certgate_connections_open") == 0; }, absl::Seconds(10)));

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(env.edge_port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_TRUE(
      WaitFor([&] { return env.Metric("certgate_connections_open") == 1; }, absl::Seconds(5)));
  EXPECT_NE(env.Curl("cap.pizza", "/", nullptr).exit_code, 0);
  close(fd);
  ASSERT_TRUE(
      WaitFor([&] { return env.Metric("certgate_connections_open") == 0; }, absl::Seconds(10)));
  EXPECT_EQ(env.Curl("cap.pizza", "/", nullptr).status, 200);

  // An idle keep-alive connection is closed by the edge.
  std::string request = "GET / HTTP/1.1\r\nHost: cap.pizza\r\n\r\n";
  absl::Time start = absl::Now();
  CommandResult r = env.SClient("cap.pizza", nullptr, request, "", "", {"-quiet"});
  EXPECT_TRUE(absl::StartsWith(r.out, "HTTP/1.1 200")) << r.out;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(700));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace certgate::testing
