// https origins through a real certgate-edge: the edge verifies the origin
// (zone origin CA or system store, host or IP, --origin-server-name as SNI),
// refuses to forward when it cannot (502, logged), resumes origin sessions,
// and presents the zone's client certificate (edge CA, SAN = the zone), so
// an origin that checks it serves its own zone and refuses another's. The
// origins are tests/integration/edge/https_origin.py (Python's ssl) and
// nginx with the configuration README.md shows.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "openssl/x509v3.h"
#include "tests/integration/edge/edge_environment.h"
#include "tests/support/test_pki.h"

namespace certgate::testing {
namespace {

// ResponseHeader: a header's value in `curl -D -` output ("" when absent).
std::string ResponseHeader(const std::string& text, const std::string& name) {
  std::string prefix = absl::AsciiStrToLower(name) + ":";
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string lower = absl::AsciiStrToLower(line);
    if (absl::StartsWith(lower, prefix)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(prefix.size())));
    }
  }
  return "";
}

// OriginProcess: https_origin.py on a free port.
struct OriginProcess {
  int port = 0;
  std::unique_ptr<Subprocess> process;
  std::string url() const { return absl::StrCat("https://127.0.0.1:", port); }
};

OriginProcess StartPythonOrigin(const std::string& dir, const std::string& name,
                                const Identity& server, const std::string& client_ca_path,
                                const std::string& zone) {
  OriginProcess origin;
  origin.port = FreePort();
  std::vector<std::string> argv = {
      "python3", CERTGATE_HTTPS_ORIGIN_PY, "--port", std::to_string(origin.port),
      "--cert",  server.cert_path,         "--key",  server.key_path};
  if (!client_ca_path.empty()) {
    argv.insert(argv.end(), {"--client-ca", client_ca_path});
  }
  if (!zone.empty()) {
    argv.insert(argv.end(), {"--zone", zone});
  }
  auto process = Subprocess::Start(argv, dir + "/" + name + ".log");
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) {
    return origin;
  }
  origin.process = std::move(*process);
  EXPECT_TRUE(WaitForPort(origin.port)) << origin.process->ReadLog();
  return origin;
}

class HttpsOriginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-https-origin"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartEdge(&error, {"--origin-connect-timeout-ms", "3000"})) << error;
    acme_ = new std::string(env_->NewTenant("acme"));
    bank_ = new std::string(env_->NewTenant("bank"));

    // The edge CA, as `certgate cert edge-ca > edge-ca.pem` gives it.
    v1::GetEdgeCaResponse edge_ca;
    ASSERT_TRUE(
        env_->tenant()->GetEdgeCa(EdgeEnvironment::Context(*acme_).get(), {}, &edge_ca).ok());
    edge_ca_path_ = new std::string(*dir_ + "/edge-ca.pem");
    WriteFile(*edge_ca_path_, edge_ca.certificate_pem());

    origin_ca_ = new Identity(pki_->Ca("origin-ca"));
    rogue_ca_ = new Identity(pki_->Ca("rogue-ca"));
    tenant_client_ca_ = new Identity(pki_->Ca("acme-origin-client-ca"));
    // Origin "shop": the right CA, the loopback IP and a name; requires the
    // edge CA's client certificate for shop.example.
    Identity shop_server =
        pki_->Server("shop-server", *origin_ca_, {"origin.internal"}, {"127.0.0.1"});
    shop_ = new OriginProcess(
        StartPythonOrigin(*dir_, "shop-origin", shop_server, *edge_ca_path_, "shop.example"));
    // Origin "named": right CA, but only the name other.internal.
    Identity named_server = pki_->Server("named-server", *origin_ca_, {"other.internal"}, {});
    named_ = new OriginProcess(
        StartPythonOrigin(*dir_, "named-origin", named_server, *edge_ca_path_, ""));
    // Origin "rogue": the loopback IP, but from a CA the zone does not trust.
    Identity rogue_server = pki_->Server("rogue-server", *rogue_ca_, {}, {"127.0.0.1"});
    rogue_ = new OriginProcess(
        StartPythonOrigin(*dir_, "rogue-origin", rogue_server, *edge_ca_path_, ""));
    // Origin "own": trusts only the tenant's own client CA (an uploaded
    // origin client certificate), not the edge CA.
    Identity own_server = pki_->Server("own-server", *origin_ca_, {}, {"127.0.0.1"});
    own_ = new OriginProcess(
        StartPythonOrigin(*dir_, "own-origin", own_server, tenant_client_ca_->cert_path, ""));
  }

  static void TearDownTestSuite() {
    for (OriginProcess* origin : {shop_, named_, rogue_, own_}) {
      delete origin;
    }
    env_->StopEdge(SIGTERM);
    env_->StopControl(SIGTERM);
    delete env_;
    delete pki_;
  }

  // CreateHttpsZone: a mode-off zone (no client certificate needed from
  // curl) whose origin is `origin_url`, verified with `origin_ca` (the
  // shared origin CA by default; null: the system trust store). Returns the
  // config version.
  static uint64_t CreateHttpsZone(const std::string& token, const std::string& host,
                                  const std::string& origin_url,
                                  const Identity* origin_ca = nullptr,
                                  const std::string& server_name = "", bool system_store = false) {
    if (origin_ca == nullptr && !system_store) {
      origin_ca = origin_ca_;
    }
    v1::CreateZoneRequest req;
    req.set_hostname(host);
    req.set_origin(origin_url);
    req.set_mode(v1::MODE_OFF);
    if (origin_ca != nullptr) {
      req.set_origin_ca_pem(origin_ca->cert_pem());
    }
    req.set_origin_server_name(server_name);
    v1::ZoneResponse resp;
    grpc::Status status =
        env_->tenant()->CreateZone(EdgeEnvironment::Context(token).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << host << ": " << status.error_message();
    return resp.config_version();
  }

  static HttpResult Get(const std::string& host, const std::string& path = "/") {
    return env_->Curl(host, path, nullptr, {"-D", "-"});
  }

  // Cli runs the certgate CLI against the control plane as `token`.
  static CommandResult Cli(const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> argv = {BinPath("certgate")};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--server", control_address(), "--token", token, "--insecure"});
    return RunCommand(argv);
  }

  static std::string control_address() { return env_->control()->address(); }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline std::string* acme_ = nullptr;
  static inline std::string* bank_ = nullptr;
  static inline std::string* edge_ca_path_ = nullptr;
  static inline Identity* origin_ca_ = nullptr;
  static inline Identity* rogue_ca_ = nullptr;
  static inline Identity* tenant_client_ca_ = nullptr;
  static inline OriginProcess* shop_ = nullptr;
  static inline OriginProcess* named_ = nullptr;
  static inline OriginProcess* rogue_ = nullptr;
  static inline OriginProcess* own_ = nullptr;
};

// The origin gets its zone's requests over verified TLS, sees the edge's
// client certificate for its zone, and a request for another tenant's zone
// pointing at the same origin is refused by the origin (the certificate's
// SAN names the other zone), also after the first zone's connection went
// back to the pool.
TEST_F(HttpsOriginTest, OriginServesItsZoneAndRefusesAnotherZone) {
  CreateHttpsZone(*acme_, "shop.example", shop_->url());
  ASSERT_TRUE(env_->WaitForVersion(CreateHttpsZone(*bank_, "evil.example", shop_->url())));

  HttpResult own = Get("shop.example");
  ASSERT_EQ(own.status, 200) << own.body << own.stderr_text << env_->edge_log();
  EXPECT_EQ(ResponseHeader(own.body, "X-Origin-Client-San"), "shop.example") << own.body;
  EXPECT_EQ(ResponseHeader(own.body, "X-Origin-Sni"), "-") << "an IP origin gets no SNI";

  HttpResult other = Get("evil.example");
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_TRUE(absl::StrContains(other.body,
                                "client certificate is for evil.example, not "
                                "shop.example"))
      << other.body;
  // And the first zone still works (its pooled connection is its own).
  EXPECT_EQ(Get("shop.example").status, 200);
  EXPECT_EQ(Get("evil.example").status, 403);
}

// nginx as the origin, configured as README.md's "What your origin should
// check" shows: the edge CA verifies the client certificate, the subject
// names the zone. It serves its zone and refuses another tenant's.
TEST_F(HttpsOriginTest, NginxOriginFromReadmeServesItsZoneOnly) {
  std::string nginx_dir = *dir_ + "/nginx";
  ASSERT_EQ(mkdir(nginx_dir.c_str(), 0755), 0) << nginx_dir;
  Identity server = pki_->Server("nginx-server", *origin_ca_, {}, {"127.0.0.1"});
  int port = FreePort();
  std::string conf = absl::StrCat(R"(
worker_processes 1;
user root;
pid )",
                                  nginx_dir, R"(/nginx.pid;
error_log )",
                                  nginx_dir, R"(/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path )",
                                  nginx_dir, R"(/body;
  proxy_temp_path )",
                                  nginx_dir, R"(/proxy;
  fastcgi_temp_path )",
                                  nginx_dir, R"(/fastcgi;
  uwsgi_temp_path )",
                                  nginx_dir, R"(/uwsgi;
  scgi_temp_path )",
                                  nginx_dir, R"(/scgi;
  server {
    listen 127.0.0.1:)",
                                  port, R"( ssl;
    ssl_certificate        )",
                                  server.cert_path, R"(;
    ssl_certificate_key    )",
                                  server.key_path, R"(;
    ssl_client_certificate )",
                                  *edge_ca_path_, R"(;
    ssl_verify_client      on;
    ssl_verify_depth       1;
    location / {
        if ($ssl_client_s_dn != "CN=nginx.example") { return 403; }
        return 200 "zone ok\n";
    }
  }
}
)");
  WriteFile(nginx_dir + "/nginx.conf", conf);
  auto nginx =
      Subprocess::Start({"/usr/sbin/nginx", "-p", nginx_dir, "-c", nginx_dir + "/nginx.conf", "-e",
                         nginx_dir + "/error.log", "-g", "daemon off;"},
                        nginx_dir + "/stdout.log");
  ASSERT_TRUE(nginx.ok()) << nginx.status();
  ASSERT_TRUE(WaitForPort(port)) << ReadFile(nginx_dir + "/error.log");
  std::string url = absl::StrCat("https://127.0.0.1:", port);
  CreateHttpsZone(*acme_, "nginx.example", url);
  ASSERT_TRUE(env_->WaitForVersion(CreateHttpsZone(*bank_, "nginx-evil.example", url)));

  HttpResult own = Get("nginx.example");
  EXPECT_EQ(own.status, 200) << own.body << ReadFile(nginx_dir + "/error.log");
  EXPECT_TRUE(absl::StrContains(own.body, "zone ok")) << own.body;
  HttpResult other = Get("nginx-evil.example");
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_FALSE(absl::StrContains(other.body, "zone ok")) << other.body;
  (*nginx)->Signal(SIGTERM);
  (*nginx)->Wait();
}

// New origin connections resume the zone's TLS session.
TEST_F(HttpsOriginTest, OriginSessionsResume) {
  ASSERT_TRUE(env_->WaitForVersion(CreateHttpsZone(*acme_, "resume.example", shop_->url())));
  // /close: the origin closes after answering, so every request below
  // needs a new TLS connection; all but the first can resume.
  HttpResult first = Get("resume.example", "/close");
  ASSERT_EQ(first.status, 403) << "the shop origin serves shop.example only: " << first.body;
  HttpResult second = Get("resume.example", "/close");
  EXPECT_EQ(ResponseHeader(second.body, "X-Origin-Resumed"), "yes") << second.body;
  HttpResult third = Get("resume.example", "/close");
  EXPECT_EQ(ResponseHeader(third.body, "X-Origin-Resumed"), "yes") << third.body;
}

// An origin certificate from a CA the zone does not trust, or for another
// name, or checked against the system store: 502, the reason in the log.
TEST_F(HttpsOriginTest, UnverifiedOriginGets502WithReasonLogged) {
  CreateHttpsZone(*acme_, "rogue.example", rogue_->url());
  CreateHttpsZone(*acme_, "wrongname.example", named_->url());
  ASSERT_TRUE(env_->WaitForVersion(
      CreateHttpsZone(*acme_, "system.example", shop_->url(), nullptr, "", true)));

  HttpResult rogue = Get("rogue.example");
  EXPECT_EQ(rogue.status, 502) << rogue.body;
  EXPECT_TRUE(absl::StrContains(rogue.body, "unable to get local issuer certificate"))
      << rogue.body;
  HttpResult wrong = Get("wrongname.example");
  EXPECT_EQ(wrong.status, 502) << wrong.body;
  EXPECT_TRUE(absl::StrContains(wrong.body, "IP address mismatch")) << wrong.body;
  HttpResult system = Get("system.example");
  EXPECT_EQ(system.status, 502) << system.body;
  EXPECT_TRUE(absl::StrContains(system.body, "origin certificate verify failed")) << system.body;

  bool logged = WaitFor(
      [] {
        std::string log = env_->edge_log();
        return absl::StrContains(log, "rogue.example") &&
               absl::StrContains(log, "unable to get local issuer certificate") &&
               absl::StrContains(log, "wrongname.example") &&
               absl::StrContains(log, "IP address mismatch");
      },
      absl::Seconds(5));
  EXPECT_TRUE(logged) << env_->edge_log();
}

// --origin-server-name: sent as SNI and checked in the origin's certificate.
TEST_F(HttpsOriginTest, OriginServerNameIsSniAndVerifiedName) {
  ASSERT_TRUE(env_->WaitForVersion(
      CreateHttpsZone(*acme_, "named.example", named_->url(), nullptr, "other.internal")));
  HttpResult named = Get("named.example");
  ASSERT_EQ(named.status, 200) << named.body << env_->edge_log();
  EXPECT_EQ(ResponseHeader(named.body, "X-Origin-Sni"), "other.internal") << named.body;

  // The same origin under a name its certificate lacks is refused
  // (changed with the CLI, as a tenant would).
  CommandResult set =
      Cli(*acme_, {"zone", "set", "named.example", "--origin-server-name", "origin.internal"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_TRUE(absl::StrContains(set.out, "Origin SNI:     origin.internal")) << set.out;
  ASSERT_TRUE(env_->WaitForVersion(ConfigVersion(*env_->control())));
  HttpResult mismatch = Get("named.example");
  EXPECT_EQ(mismatch.status, 502) << mismatch.body;
  EXPECT_TRUE(absl::StrContains(mismatch.body, "Hostname mismatch")) << mismatch.body;

  // An empty --origin-ca file is refused with one line, not read as "system".
  WriteFile(*dir_ + "/empty-ca.pem", "\n");
  CommandResult empty =
      Cli(*acme_, {"zone", "set", "named.example", "--origin-ca", *dir_ + "/empty-ca.pem"});
  EXPECT_NE(empty.exit_code, 0) << empty.out;
  EXPECT_TRUE(absl::StrContains(empty.err, "is empty")) << empty.err;
  EXPECT_EQ(std::count(empty.err.begin(), empty.err.end(), '\n'), 1) << empty.err;

  // Back to the URL's host (an IP the certificate lacks), and to the system
  // trust store (which does not know the origin CA): still refused.
  CommandResult reset = Cli(*acme_, {"zone", "set", "named.example", "--origin-server-name", "",
                                     "--origin-ca", "system"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_TRUE(absl::StrContains(reset.out, "Origin SNI:     origin host")) << reset.out;
  EXPECT_TRUE(absl::StrContains(reset.out, "Origin CA:      system trust store")) << reset.out;
  ASSERT_TRUE(env_->WaitForVersion(ConfigVersion(*env_->control())));
  HttpResult system = Get("named.example");
  EXPECT_EQ(system.status, 502) << system.body;
  EXPECT_TRUE(absl::StrContains(system.body, "unable to get local issuer certificate"))
      << system.body;
}

// Authenticated origin pulls with the tenant's own certificate: `certgate
// origin-cert set` makes the edge present it instead of the edge CA's (an
// origin that trusts only the tenant's CA starts answering), `show` tells
// which one is in use and never prints a key, `reset` goes back.
TEST_F(HttpsOriginTest, UploadedOriginCertIsPresentedInsteadOfEdgeCa) {
  ASSERT_TRUE(env_->WaitForVersion(CreateHttpsZone(*acme_, "own.example", own_->url())));
  HttpResult before = Get("own.example");
  EXPECT_EQ(before.status, 502) << "the origin refuses the edge CA's certificate: " << before.body;
  // The origin's refusal is logged with the zone and the alert.
  EXPECT_TRUE(WaitFor(
      [] {
        std::string log = env_->edge_log();
        return absl::StrContains(log, "\"event\":\"origin_tls_failed\"") &&
               absl::StrContains(log, "\"zone\":\"own.example\"");
      },
      absl::Seconds(5)))
      << before.body << env_->edge_log();

  Identity leaf = pki_->Leaf("acme-edge-client", *tenant_client_ca_);
  CommandResult set = Cli(*acme_, {"origin-cert", "set", "own.example", "--cert", leaf.cert_path,
                                   "--key", leaf.key_path});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  EXPECT_TRUE(absl::StrContains(set.out, "uploaded by tenant")) << set.out;
  uint64_t version = ConfigVersion(*env_->control());
  ASSERT_TRUE(env_->WaitForVersion(version));
  HttpResult after = Get("own.example");
  ASSERT_EQ(after.status, 200) << after.body << env_->edge_log();
  // Python prints the serial in upper case, keeping leading zero digits.
  std::string seen = absl::AsciiStrToLower(ResponseHeader(after.body, "X-Origin-Client-Serial"));
  seen.erase(0, std::min(seen.find_first_not_of('0'), seen.size()));
  EXPECT_EQ(seen, SerialHex(leaf.cert.get())) << after.body;

  CommandResult show = Cli(*acme_, {"origin-cert", "show", "own.example"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(absl::StrContains(show.out, "CN=acme-edge-client")) << show.out;
  EXPECT_TRUE(absl::StrContains(show.out, "uploaded by tenant")) << show.out;
  EXPECT_FALSE(absl::StrContains(show.out, "PRIVATE KEY")) << show.out;

  CommandResult reset = Cli(*acme_, {"origin-cert", "reset", "own.example"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_TRUE(absl::StrContains(reset.out, "edge CA")) << reset.out;
  EXPECT_TRUE(absl::StrContains(reset.out, "own.example")) << reset.out;
  ASSERT_TRUE(env_->WaitForVersion(ConfigVersion(*env_->control())));
  EXPECT_EQ(Get("own.example").status, 502);
}

// origin-cert set refuses, each with a one-line error: a key of another
// certificate, an expired certificate, garbage; the server refuses them too
// when the CLI's own checks are bypassed.
TEST_F(HttpsOriginTest, OriginCertSetRefusals) {
  CreateHttpsZone(*acme_, "refuse.example", shop_->url());
  Identity leaf = pki_->Leaf("refuse-leaf", *tenant_client_ca_);
  Identity other = pki_->Leaf("refuse-other", *tenant_client_ca_);
  int64_t now = absl::ToUnixSeconds(absl::Now());
  Identity expired =
      pki_->Leaf("refuse-expired", *tenant_client_ca_, {}, now - 30 * 86400, now - 86400);
  std::string garbage = *dir_ + "/garbage.pem";
  WriteFile(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");

  struct Case {
    std::string name;
    std::string cert;
    std::string key;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {"mismatched key", leaf.cert_path, other.key_path, "does not match"},
           {"expired", expired.cert_path, expired.key_path, "expired"},
           {"garbage", garbage, leaf.key_path, "garbage.pem"},
       }) {
    CommandResult result =
        Cli(*acme_, {"origin-cert", "set", "refuse.example", "--cert", c.cert, "--key", c.key});
    EXPECT_NE(result.exit_code, 0) << c.name;
    EXPECT_TRUE(absl::StrContains(result.err, c.expect)) << c.name << ": " << result.err;
    std::string line(absl::StripTrailingAsciiWhitespace(result.err));
    EXPECT_FALSE(line.empty()) << c.name;
    EXPECT_EQ(line.find('\n'), std::string::npos) << c.name << ": " << result.err;
  }
  // The API itself, without the CLI's local parsing.
  v1::SetOriginClientCertificateRequest req;
  req.set_hostname("refuse.example");
  req.set_chain_pem("garbage");
  req.set_key_pem(PrivateKeyToPem(leaf.key.get()));
  v1::ZoneResponse resp;
  grpc::Status status = env_->tenant()->SetOriginClientCertificate(
      EdgeEnvironment::Context(*acme_).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  req.set_chain_pem(expired.cert_pem());
  req.set_key_pem(PrivateKeyToPem(expired.key.get()));
  status = env_->tenant()->SetOriginClientCertificate(EdgeEnvironment::Context(*acme_).get(), req,
                                                      &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "expired")) << status.error_message();

  // A good key wrapped in 1 MB of text: what is stored (and pushed to every
  // edge, outside the tenant's config-bytes quota) is the key alone.
  req.set_chain_pem(leaf.cert_pem());
  req.set_key_pem(std::string(1 << 20, 'x') + "\n" + PrivateKeyToPem(leaf.key.get()) +
                  std::string(1 << 20, 'y'));
  status = env_->tenant()->SetOriginClientCertificate(EdgeEnvironment::Context(*acme_).get(), req,
                                                      &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  CommandResult stored = RunCommand(
      {"sqlite3", env_->control()->db_path(),
       "SELECT length(origin_client_key_pem) FROM zones WHERE hostname='refuse.example'"});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  int64_t stored_bytes = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(stored.out), &stored_bytes))
      << stored.out;
  EXPECT_GT(stored_bytes, 100);
  EXPECT_LT(stored_bytes, 1000);
}

// What one tenant sets for its origin never shows in another tenant's
// output: the other zone is "not found", and listings carry nothing of it.
TEST_F(HttpsOriginTest, OriginTlsSettingsStayWithTheirTenant) {
  // Its own origin CA: the other tenant's zones use the shared one.
  Identity private_ca = pki_->Ca("acme-private-origin-ca");
  CreateHttpsZone(*acme_, "private.example", shop_->url(), &private_ca, "origin.internal");
  v1::GetZoneRequest get;
  get.set_hostname("private.example");
  v1::ZoneResponse zone;
  ASSERT_TRUE(env_->tenant()->GetZone(EdgeEnvironment::Context(*acme_).get(), get, &zone).ok());
  const std::string& origin_cert = zone.zone().origin_client_certificate().chain_pem();
  ASSERT_FALSE(origin_cert.empty());
  EXPECT_EQ(zone.zone().origin_ca_pem(), private_ca.cert_pem());

  CommandResult show = Cli(*bank_, {"origin-cert", "show", "private.example"});
  EXPECT_NE(show.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(show.err, "not found")) << show.err;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"zone", "list", "--json"}, {"zone", "show", "private.example", "--json"}}) {
    CommandResult result = Cli(*bank_, args);
    std::string all = result.out + result.err;
    EXPECT_FALSE(absl::StrContains(all, "private.example") && result.exit_code == 0) << all;
    // PEM bodies are base64: compare a line of each, JSON-escaping aside.
    std::vector<std::string> ca_lines = absl::StrSplit(private_ca.cert_pem(), '\n');
    std::vector<std::string> cert_lines = absl::StrSplit(origin_cert, '\n');
    ASSERT_GT(ca_lines.size(), 2u);
    ASSERT_GT(cert_lines.size(), 2u);
    const std::string& ca_line = ca_lines[1];
    const std::string& cert_line = cert_lines[1];
    EXPECT_FALSE(absl::StrContains(all, ca_line)) << all;
    EXPECT_FALSE(absl::StrContains(all, cert_line)) << all;
  }
}

// The edge CA issues origin client certificates with the clientAuth EKU and
// the zone's hostname (wildcard included) as the only DNS SAN, and the
// control plane re-issues them before they expire, as a new config version.
TEST(OriginCertRotationTest, EdgeCaOriginCertsAreRenewedBeforeExpiry) {
  std::string dir = MakeTempDir("certgate-origin-cert-rotation");
  // Valid one day, renewed two days before expiry: due at every check.
  ControlPlaneProcess control(
      dir, {"--insecure", "--origin-cert-days", "1", "--origin-cert-renew-days", "2",
            "--origin-cert-check-interval", "0.5"});
  std::string error;
  ASSERT_TRUE(control.Start(&error)) << error;
  std::string token = NewTenant(control, "acme");
  auto tenant = control.Tenant();
  v1::CreateZoneRequest create;
  create.set_hostname("*.wild.example");
  create.set_origin("https://127.0.0.1:9");
  v1::ZoneResponse created;
  grpc::ClientContext create_context;
  Authorize(&create_context, token);
  ASSERT_TRUE(tenant->CreateZone(&create_context, create, &created).ok());
  const v1::ServerCertificateInfo& first = created.zone().origin_client_certificate();
  ASSERT_TRUE(first.issued_by_edge_ca());
  auto chain = ParseCertificates(first.chain_pem());
  ASSERT_TRUE(chain.ok()) << chain.status();
  X509* leaf = (*chain)[0].get();
  EXPECT_EQ(DnsNames(leaf), std::vector<std::string>{"*.wild.example"});
  EXPECT_NE(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT, 0u);
  EXPECT_EQ(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER, 0u);

  // A zone whose tenant uploaded its own origin certificate keeps it.
  create.set_hostname("own.wild.example");
  grpc::ClientContext own_context;
  Authorize(&own_context, token);
  v1::ZoneResponse own_created;
  ASSERT_TRUE(tenant->CreateZone(&own_context, create, &own_created).ok());
  KeyAndCert own_ca = MakeCa("tenant origin client CA");
  KeyAndCert own_leaf = MakeLeaf("own.wild.example", own_ca);
  v1::SetOriginClientCertificateRequest upload;
  upload.set_hostname("own.wild.example");
  upload.set_chain_pem(own_leaf.cert_pem());
  upload.set_key_pem(own_leaf.key_pem());
  v1::ZoneResponse uploaded;
  grpc::ClientContext upload_context;
  Authorize(&upload_context, token);
  ASSERT_TRUE(tenant->SetOriginClientCertificate(&upload_context, upload, &uploaded).ok());

  v1::ZoneResponse current;
  bool renewed = WaitFor(
      [&] {
        grpc::ClientContext context;
        Authorize(&context, token);
        v1::GetZoneRequest get;
        get.set_hostname("*.wild.example");
        return tenant->GetZone(&context, get, &current).ok() &&
               current.zone().origin_client_certificate().chain_pem() != first.chain_pem();
      },
      absl::Seconds(20));
  ASSERT_TRUE(renewed) << control.log();
  // Wait for one more renewal, so that a check cycle surely ran after the
  // upload before the uploaded certificate is read back.
  std::string renewed_once = current.zone().origin_client_certificate().chain_pem();
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::ClientContext context;
        Authorize(&context, token);
        v1::GetZoneRequest get;
        get.set_hostname("*.wild.example");
        return tenant->GetZone(&context, get, &current).ok() &&
               current.zone().origin_client_certificate().chain_pem() != renewed_once;
      },
      absl::Seconds(20)))
      << control.log();
  EXPECT_GT(current.config_version(), created.config_version());
  EXPECT_TRUE(current.zone().origin_client_certificate().issued_by_edge_ca());
  EXPECT_TRUE(absl::StrContains(control.log(), "renewed")) << control.log();
  grpc::ClientContext own_get_context;
  Authorize(&own_get_context, token);
  v1::GetZoneRequest own_get;
  own_get.set_hostname("own.wild.example");
  v1::ZoneResponse own_now;
  ASSERT_TRUE(tenant->GetZone(&own_get_context, own_get, &own_now).ok());
  EXPECT_FALSE(own_now.zone().origin_client_certificate().issued_by_edge_ca());
  EXPECT_EQ(own_now.zone().origin_client_certificate().chain_pem(), own_leaf.cert_pem());
  control.Stop(SIGTERM);
}

}  // namespace
}  // namespace certgate::testing
