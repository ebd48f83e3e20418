// What an origin receives is the edge's word, with two tenants on one edge
// (real control plane, real edge, the echo origin that prints what it got):
// reserved certificate names in every spelling, forwarding headers, identity
// only from verified certificates, trust changes reaching open connections,
// and origin connections never shared between zones.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "openssl/x509v3.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/integration/faults/tls_client.h"

namespace certgate::testing {
namespace {

using faults::StatusCode;
using faults::TlsClient;

// Peer: the origin-side "address:port" the echo origin saw the request on.
std::string Peer(const std::string& body) {
  size_t at = body.find("\"peer\":\"");
  if (at == std::string::npos) {
    return "";
  }
  at += 8;
  return body.substr(at, body.find('"', at) - at);
}

class TenantHeadersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-tenant-headers"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartOrigin(&error)) << error;
    // One worker: every client connection meets the same origin pool.
    ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1"})) << error;
    alpha_ = new std::string(env_->NewTenant("alpha"));
    beta_ = new std::string(env_->NewTenant("beta"));
    ca_ = new Identity(pki_->Ca("alpha-devices-ca"));
    // Tenant A: an enforce zone and a report zone, both mapping X-Device-Id
    // and a name under the fleet-wide reserved prefix.
    for (const char* host : {"orders.alpha.pizza", "report.alpha.pizza"}) {
      env_->CreateZone(*alpha_, host,
                       absl::StartsWith(host, "orders") ? v1::MODE_ENFORCE : v1::MODE_REPORT);
      env_->AddRoot(*alpha_, host, *ca_);
      env_->MapHeader(*alpha_, host, "X-Device-Id", "subject.CN");
      env_->MapHeader(*alpha_, host, "X-Client-Cert-Device", "subject.CN");
    }
    // Tenant B: mode off, pointed at A's origin (the same echo origin), its
    // status headers renamed, so that a naive edge strips only B's names.
    env_->CreateZone(*beta_, "b.beta.pizza", v1::MODE_OFF, env_->origin_url());
    v1::SetStatusHeaderNamesRequest names;
    names.set_hostname("b.beta.pizza");
    names.mutable_names()->set_status("X-S-Status");
    names.mutable_names()->set_ski("X-S-Ski");
    names.mutable_names()->set_error("X-S-Error");
    v1::ZoneResponse resp;
    grpc::Status status =
        env_->tenant()->SetStatusHeaderNames(EdgeEnvironment::Context(*beta_).get(), names, &resp);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(env_->WaitForVersion(resp.config_version())) << env_->edge_log();
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

  static uint64_t SetMode(const std::string& token, const std::string& host, v1::Mode mode) {
    v1::UpdateZoneRequest req;
    req.set_hostname(host);
    req.set_mode(mode);
    v1::ZoneResponse resp;
    grpc::Status status =
        env_->tenant()->UpdateZone(EdgeEnvironment::Context(token).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.config_version();
  }

  static uint64_t DeleteZone(const std::string& token, const std::string& host) {
    v1::DeleteZoneRequest req;
    req.set_hostname(host);
    v1::ChangeResponse resp;
    grpc::Status status =
        env_->tenant()->DeleteZone(EdgeEnvironment::Context(token).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.config_version();
  }

  // Connect opens one keep-alive connection to `host` with `id`'s
  // certificate (none when null).
  static std::unique_ptr<TlsClient> Connect(const std::string& host, const Identity* id) {
    auto client = TlsClient::Connect(env_->edge_port(), host, absl::Seconds(10),
                                     id != nullptr ? id->cert.get() : nullptr,
                                     id != nullptr ? id->key.get() : nullptr);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Get sends one keep-alive request on `client` and returns the response.
  static std::string Get(TlsClient* client, const std::string& host) {
    if (!client->Write(absl::StrCat("GET / HTTP/1.1\r\nHost: ", host, "\r\n\r\n"))) {
      return "<write failed>";
    }
    absl::StatusOr<std::string> response = client->ReadResponse();
    return response.ok() ? *response : std::string(response.status().message());
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string* alpha_ = nullptr;
  static inline std::string* beta_ = nullptr;
  static inline Identity* ca_ = nullptr;
};

// Problem 1: tenant B's mode-off zone, renamed headers, A's origin.
TEST_F(TenantHeadersTest, AnotherTenantsZoneCannotForgeCertificateHeadersToASharedOrigin) {
  HttpResult r = env_->Curl(
      "b.beta.pizza", "/", nullptr,
      {"-H", "X-Client-Cert-Status: forged-status", "-H", "X-Client-Cert-Ski: forged-ski", "-H",
       "X-Client-Cert-Error: forged-error", "-H", "Client-Cert: :Zm9yZ2VkLWNlcnQ=:", "-H",
       "Client-Cert-Chain: :Zm9yZ2VkLWNoYWlu:", "-H", "X-Forwarded-Client-Cert: forged-xfcc", "-H",
       "X-Client-Cert-Device: forged-device", "-H", "X-S-Status: forged-own"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "forged")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "Zm9y")) << r.body;
  // A's custom name X-Device-Id is reserved in A's zones only (reserving
  // every tenant's names fleet-wide would let any tenant strip any header
  // from everyone's requests). It reaches the origin from B's zone, under
  // B's Host and with no certificate status: an origin that reads custom
  // names checks the zone (Host, or the edge's per-zone client certificate
  // over TLS), or names them X-Client-Cert-*, which is reserved everywhere.
  r = env_->Curl("b.beta.pizza", "/", nullptr, {"-H", "X-Device-Id: ceo"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(
      absl::StrContains(r.body, Echoed("Host", absl::StrCat("b.beta.pizza:", env_->edge_port()))))
      << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Device-Id", "ceo"))) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "X-Client-Cert-Status")) << r.body;
}

// Problem 2: underscore spellings, in every mode; never merged.
TEST_F(TenantHeadersTest, UnderscoreSpellingsNeverReachTheOrigin) {
  HttpResult off =
      env_->Curl("b.beta.pizza", "/", nullptr,
                 {"-H", "X_Client_Cert_Status: forged", "-H", "x_s_status: forged", "-H",
                  "Client_Cert: forged", "-H", "X_Custom: forged", "-H", "X-Custom: kept"});
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_FALSE(absl::StrContains(off.body, "forged")) << off.body;
  EXPECT_TRUE(absl::StrContains(off.body, Echoed("X-Custom", "kept"))) << off.body;

  Identity device = pki_->Leaf("device-3", *ca_);
  HttpResult valid = env_->Curl("orders.alpha.pizza", "/", &device,
                                {"-H", "X_Device_Id: evil", "-H", "X_Client_Cert_Device: evil",
                                 "-H", "X_Client_Cert_Status: evil"});
  ASSERT_EQ(valid.status, 200) << valid.body;
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Device-Id", "device-3"))) << valid.body;
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Client-Cert-Status", "valid"))) << valid.body;
  EXPECT_FALSE(absl::StrContains(valid.body, "evil")) << valid.body;

  // An edge that keeps underscore names still removes every reserved one,
  // in any spelling, and never merges a client's value with its own.
  ASSERT_EQ(env_->StopEdge(SIGTERM), 0);
  std::string error;
  ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1", "--allow-underscore-headers"})) << error;
  HttpResult kept = env_->Curl("orders.alpha.pizza", "/", &device,
                               {"-H", "X_Device_Id: evil", "-H", "X_Client_Cert_Status: evil", "-H",
                                "x_forwarded_for: evil", "-H", "X_Custom: kept"});
  off = env_->Curl("b.beta.pizza", "/", nullptr,
                   {"-H", "x_s_status: evil", "-H", "Client_Cert: evil"});
  ASSERT_EQ(env_->StopEdge(SIGTERM), 0);
  ASSERT_TRUE(env_->StartEdge(&error, {"--workers", "1"})) << error;
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_TRUE(absl::StrContains(kept.body, Echoed("X_Custom", "kept"))) << kept.body;
  EXPECT_TRUE(absl::StrContains(kept.body, Echoed("X-Device-Id", "device-3"))) << kept.body;
  EXPECT_FALSE(absl::StrContains(kept.body, "evil")) << kept.body;
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_FALSE(absl::StrContains(off.body, "evil")) << off.body;
}

// Problem 3: Forwarded, X-Forwarded-*, X-Real-IP are the edge's.
TEST_F(TenantHeadersTest, ForwardingHeadersAreReplacedByTheEdge) {
  HttpResult r = env_->Curl("b.beta.pizza", "/", nullptr,
                            {"-H", "Forwarded: for=6.6.6.6;host=evil.example", "-H",
                             "X-Forwarded-Host: evil.example", "-H", "X-Real-IP: 6.6.6.6", "-H",
                             "X-Forwarded-For: 6.6.6.6", "-H", "X-Forwarded-Proto: http"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "6.6.6.6")) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "evil")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-For", "127.0.0.1"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Real-IP", "127.0.0.1"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-Host", "b.beta.pizza"))) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, Echoed("X-Forwarded-Proto", "https"))) << r.body;
  EXPECT_TRUE(
      absl::StrContains(r.body, Echoed("Forwarded", "for=127.0.0.1;proto=https;host=b.beta.pizza")))
      << r.body;
}

// Problem 4: an unverified certificate's SKI is the sender's choice.
TEST_F(TenantHeadersTest, OnlyVerifiedCertificatesCarryIdentity) {
  Identity stranger = pki_->SelfSigned("claims-a-victims-ski");
  HttpResult invalid = env_->Curl("report.alpha.pizza", "/", &stranger);
  ASSERT_EQ(invalid.status, 200) << invalid.body;
  EXPECT_TRUE(absl::StrContains(invalid.body, Echoed("X-Client-Cert-Status", "invalid")))
      << invalid.body;
  EXPECT_TRUE(absl::StrContains(invalid.body, "\"X-Client-Cert-Error\":\"")) << invalid.body;
  EXPECT_FALSE(absl::StrContains(invalid.body, "X-Client-Cert-Ski")) << invalid.body;
  EXPECT_FALSE(absl::StrContains(invalid.body, SkiHex(stranger))) << invalid.body;
  EXPECT_FALSE(absl::StrContains(invalid.body, "X-Device-Id")) << invalid.body;
  // A verified certificate does carry them.
  Identity device = pki_->Leaf("device-7", *ca_);
  HttpResult valid = env_->Curl("report.alpha.pizza", "/", &device);
  ASSERT_FALSE(SkiHex(device).empty());
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Client-Cert-Ski", SkiHex(device))))
      << valid.body;
  EXPECT_TRUE(absl::StrContains(valid.body, Echoed("X-Device-Id", "device-7"))) << valid.body;
}

// Problem 5: a keep-alive connection opened before a trust change is judged
// again at its next request, from the verification cache or the cheap
// checks: no signature check.
TEST_F(TenantHeadersTest, TrustChangesReachOpenConnections) {
  const std::string& a = *alpha_;
  Identity ca = pki_->Ca("live-ca");
  env_->CreateZone(a, "live.alpha.pizza", v1::MODE_ENFORCE);
  std::string root_id;
  uint64_t v = env_->AddRoot(a, "live.alpha.pizza", ca, &root_id);
  ASSERT_TRUE(env_->WaitForVersion(v));
  Identity revoked = pki_->Leaf("live-revoked", ca);
  Identity kept = pki_->Leaf("live-kept", ca);
  Identity stranger = pki_->SelfSigned("live-stranger");

  std::unique_ptr<TlsClient> to_revoke = Connect("live.alpha.pizza", &revoked);
  std::unique_ptr<TlsClient> to_unroot = Connect("live.alpha.pizza", &kept);
  ASSERT_TRUE(to_revoke && to_unroot);
  ASSERT_EQ(StatusCode(Get(to_revoke.get(), "live.alpha.pizza")), 200);
  ASSERT_EQ(StatusCode(Get(to_unroot.get(), "live.alpha.pizza")), 200);

  // Revocation: the open connection's next request is refused, with no
  // chain walk (a revoked serial is a cheap check).
  double chains = env_->Metric("certgate_chain_verifications_total");
  ASSERT_GE(chains, 2) << "the two handshakes' chain walks were not counted";
  v = env_->RevokeCertificate(a, "live.alpha.pizza", revoked);
  ASSERT_TRUE(env_->WaitForVersion(v));
  std::string response = Get(to_revoke.get(), "live.alpha.pizza");
  EXPECT_EQ(StatusCode(response), 403) << response;
  EXPECT_EQ(env_->Metric("certgate_chain_verifications_total"), chains);
  // The other certificate on its own open connection is still fine.
  response = Get(to_unroot.get(), "live.alpha.pizza");
  EXPECT_EQ(StatusCode(response), 200) << response;

  // Root removed: refused at the next request.
  v = env_->RemoveRoot(a, "live.alpha.pizza", root_id);
  ASSERT_TRUE(env_->WaitForVersion(v));
  response = Get(to_unroot.get(), "live.alpha.pizza");
  EXPECT_EQ(StatusCode(response), 403) << response;

  // Mode changed: an invalid certificate forwarded in report mode is refused
  // once the zone enforces.
  env_->CreateZone(a, "mode.alpha.pizza", v1::MODE_REPORT);
  v = env_->AddRoot(a, "mode.alpha.pizza", ca);
  ASSERT_TRUE(env_->WaitForVersion(v));
  std::unique_ptr<TlsClient> invalid = Connect("mode.alpha.pizza", &stranger);
  ASSERT_TRUE(invalid);
  response = Get(invalid.get(), "mode.alpha.pizza");
  ASSERT_EQ(StatusCode(response), 200) << response;
  ASSERT_TRUE(absl::StrContains(response, Echoed("X-Client-Cert-Status", "invalid"))) << response;
  v = SetMode(a, "mode.alpha.pizza", v1::MODE_ENFORCE);
  ASSERT_TRUE(env_->WaitForVersion(v));
  response = Get(invalid.get(), "mode.alpha.pizza");
  EXPECT_EQ(StatusCode(response), 403) << response;

  // Zone deleted: 421 and the connection closes.
  std::unique_ptr<TlsClient> doomed = Connect("live.alpha.pizza", nullptr);
  ASSERT_TRUE(doomed);
  v = DeleteZone(a, "live.alpha.pizza");
  ASSERT_TRUE(env_->WaitForVersion(v));
  response = Get(doomed.get(), "live.alpha.pizza");
  EXPECT_EQ(StatusCode(response), 421) << response;
  EXPECT_TRUE(doomed->ClosedWithin(absl::Seconds(5)));
}

// Pooled origin connections are keyed by zone and origin: a connection
// opened for A's zone is reused for A's zone, never for B's.
TEST_F(TenantHeadersTest, OriginConnectionsAreNeverSharedBetweenZones) {
  HttpResult a1 = env_->Curl("report.alpha.pizza", "/", nullptr);
  HttpResult b = env_->Curl("b.beta.pizza", "/", nullptr);
  HttpResult a2 = env_->Curl("report.alpha.pizza", "/", nullptr);
  ASSERT_EQ(a1.status, 200) << a1.body;
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(a2.status, 200) << a2.body;
  ASSERT_FALSE(Peer(a1.body).empty()) << a1.body;
  // Control: the pool does reuse within one zone...
  EXPECT_EQ(Peer(a2.body), Peer(a1.body));
  // ...but B's request went out on a connection of its own.
  EXPECT_NE(Peer(b.body), Peer(a1.body));
}

}  // namespace
}  // namespace certgate::testing
