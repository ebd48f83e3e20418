// Tenant isolation with real processes on loopback: certgate-control, two
// or three certgate-edge processes, certgate-echo-origin, the certgate CLI,
// curl and openssl. Two tenants: acme, and a hostile one with a valid token.
//
// - The control plane refuses, at upload, server keys the edge's TLS stack
//   cannot use (it runs the edge's own zone building).
// - A zone that still reaches the edges unbuildable (here: stored before the
//   upload check existed) breaks only itself: another tenant's revocation
//   reaches every edge within a second, a new edge serves every other zone,
//   and only the zone's own tenant sees the failure.
// - Files holding keys or tokens are private whatever the umask.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/x509_info.h"
#include "controlplane/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/integration/cli/cli_runner.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace certgate::testing {
namespace {

using controlplane::SqliteStore;
using controlplane::SqliteStoreOptions;
using controlplane::StoreTransaction;
using controlplane::ZoneRow;

constexpr char kAcmeZone[] = "shop.acme.test";
constexpr char kEvilZone[] = "x.evil.test";

// Openssl runs the openssl command line in `dir`; true when it exits 0.
bool Openssl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  CommandResult result =
      RunCommand({"/bin/sh", "-c", absl::StrCat("cd '", dir, "' && ", absl::StrJoin(args, " "))});
  EXPECT_EQ(result.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << result.err;
  return result.exit_code == 0;
}

// SelfSignedServer makes NAME.key (from `keygen`, an openssl command that
// writes the key to NAME.key) and NAME.pem, a self-signed certificate for
// `hostname`. False when openssl cannot make that key type.
bool SelfSignedServer(const std::string& dir, const std::string& name, const std::string& keygen,
                      const std::string& hostname) {
  size_t space = keygen.find(' ');
  return Openssl(dir, {keygen.substr(0, space), "-out", name + ".key",
                       space == std::string::npos ? "" : keygen.substr(space + 1)}) &&
         Openssl(dir, {"req", "-x509", "-new", "-key", name + ".key", "-subj",
                       absl::StrCat("/CN=", hostname), "-addext",
                       absl::StrCat("subjectAltName=DNS:", hostname), "-days", "30", "-out",
                       name + ".pem"});
}

// MakeDsaServer: a self-signed DSA certificate and key, the upload that once
// froze every edge.
bool MakeDsaServer(const std::string& dir, const std::string& hostname) {
  return Openssl(dir, {"dsaparam", "-out", "dsa.params", "2048"}) &&
         SelfSignedServer(dir, "dsa", "gendsa dsa.params", hostname);
}

struct Edge {
  std::unique_ptr<Subprocess> process;
  int port = 0;
  int metrics_port = 0;
  std::string node_id;
};

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("certgate-isolation");
    ASSERT_EQ(mkdir((dir_ + "/control").c_str(), 0700), 0);
    control_ = std::make_unique<ControlPlaneProcess>(dir_ + "/control");
    cli_ = std::make_unique<CliRunner>(dir_ + "/home");
  }

  void StartControl() {
    std::string error;
    ASSERT_TRUE(control_->Start(&error)) << error;
  }

  void StartOrigin() {
    origin_port_ = FreePort();
    auto origin = Subprocess::Start(
        {BinPath("certgate-echo-origin"), "--listen", absl::StrCat("127.0.0.1:", origin_port_)},
        dir_ + "/origin.log");
    ASSERT_TRUE(origin.ok()) << origin.status();
    origin_ = std::move(*origin);
    ASSERT_TRUE(WaitForPort(origin_port_));
  }

  // StartEdge runs one more certgate-edge with a state dir of its own.
  void StartEdge() {
    Edge edge;
    edge.node_id = absl::StrCat("edge-", edges_.size() + 1);
    edge.port = FreePort();
    edge.metrics_port = FreePort();
    std::string token_file = dir_ + "/edge.token";
    WriteFile(token_file, control_->edge_token() + "\n", 0600);
    auto process = Subprocess::Start(
        {BinPath("certgate-edge"), "--control", control_->address(), "--insecure", "--token-file",
         token_file, "--node-id", edge.node_id, "--listen", absl::StrCat("127.0.0.1:", edge.port),
         "--state-dir", absl::StrCat(dir_, "/", edge.node_id), "--metrics-listen",
         absl::StrCat("127.0.0.1:", edge.metrics_port), "--workers", "1", "--origin-allow",
         "127.0.0.0/8"},
        absl::StrCat(dir_, "/", edge.node_id, ".log"));
    ASSERT_TRUE(process.ok()) << process.status();
    edge.process = std::move(*process);
    ASSERT_TRUE(WaitForPort(edge.port) && WaitForPort(edge.metrics_port))
        << edge.process->ReadLog();
    edges_.push_back(std::move(edge));
  }

  double Metric(const Edge& edge, const std::string& name) {
    CommandResult result =
        RunCommand({"curl", "-s", "--max-time", "5",
                    absl::StrCat("http://127.0.0.1:", edge.metrics_port, "/metrics")});
    for (absl::string_view line : absl::StrSplit(result.out, '\n')) {
      if (absl::ConsumePrefix(&line, name + " ")) {
        double value = 0;
        if (absl::SimpleAtod(line, &value)) {
          return value;
        }
      }
    }
    return -1;
  }

  // WaitForVersion: every edge serves `version`.
  bool WaitForVersion(uint64_t version) {
    for (const Edge& edge : edges_) {
      if (!WaitFor(
              [&] {
                return Metric(edge, "certgate_config_version") == static_cast<double>(version);
              },
              absl::Seconds(20))) {
        ADD_FAILURE() << edge.node_id << " never served version " << version << ":\n"
                      << edge.process->ReadLog();
        return false;
      }
    }
    return true;
  }

  // Curl: the HTTP status `edge` answers for https://host/ with the client
  // certificate `id` (null for none); 0 when there is no response at all
  // (no zone for that name: the handshake fails).
  int Curl(const Edge& edge, const std::string& host, const KeyAndCert* id) {
    std::vector<std::string> argv = {
        "curl",       "-sk",
        "--max-time", "5",
        "-o",         "/dev/null",
        "-w",         "%{http_code}",
        "--resolve",  absl::StrCat(host, ":", edge.port, ":127.0.0.1")};
    if (id != nullptr) {
      std::string base = absl::StrCat(dir_, "/client-", reinterpret_cast<uintptr_t>(id));
      WriteFile(base + ".pem", id->cert_pem(), 0600);
      WriteFile(base + ".key", id->key_pem(), 0600);
      argv.insert(argv.end(), {"--cert", base + ".pem", "--key", base + ".key"});
    }
    argv.push_back(absl::StrCat("https://", host, ":", edge.port, "/"));
    CommandResult result = RunCommand(argv);
    int status = 0;
    return absl::SimpleAtoi(result.out, &status) ? status : 0;
  }

  // Cli runs `certgate ARGS --insecure` as the holder of `token`.
  CommandResult Cli(const std::string& token, std::vector<std::string> args) {
    args.push_back("--insecure");
    return cli_->Run(args, {{"CERTGATE_SERVER", control_->address()}, {"CERTGATE_TOKEN", token}});
  }

  void CliOk(const std::string& token, const std::vector<std::string>& args) {
    CommandResult result = Cli(token, args);
    ASSERT_EQ(result.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << result.out << result.err;
  }

  std::string dir_;
  std::unique_ptr<ControlPlaneProcess> control_;
  std::unique_ptr<CliRunner> cli_;
  std::unique_ptr<Subprocess> origin_;
  int origin_port_ = 0;
  std::vector<Edge> edges_;
};

// --- the upload check ------------------------------------------------------------

TEST_F(IsolationTest, CertSetRefusesEveryKeyTheEdgesTlsStackCannotUse) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  std::string token = NewTenant(*control_, "keys");
  const std::string host = "keys.example.test";
  ASSERT_NO_FATAL_FAILURE(CliOk(token, {"zone", "create", host, "--origin", "http://127.0.0.1:9"}));
  uint64_t version = ConfigVersion(*control_);

  std::string keys = dir_ + "/keys";
  ASSERT_EQ(mkdir(keys.c_str(), 0700), 0);
  struct Case {
    const char* name;
    std::string keygen;  // openssl command writing the key
    const char* error;   // in the one-line refusal
  };
  std::vector<Case> cases = {
      {"ec-p224", "ecparam -name secp224r1 -genkey -noout", "ECDSA on curve secp224r1"},
      {"ec-k256", "ecparam -name secp256k1 -genkey -noout",
       "key type or curve certgate does not support"},
      {"rsa-1024", "genrsa 1024", "RSA of 1024 bits"},
      {"rsa-pss", "genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048",
       "key type or curve certgate does not support"},
      {"ed448", "genpkey -algorithm ED448", "key type or curve certgate does not support"},
  };
  ASSERT_TRUE(MakeDsaServer(keys, host));
  std::vector<std::pair<std::string, const char*>> uploads = {{"dsa", "DSA keys cannot be used"}};
  for (const Case& c : cases) {
    ASSERT_TRUE(SelfSignedServer(keys, c.name, c.keygen, host)) << c.name;
    uploads.emplace_back(c.name, c.error);
  }
  for (const auto& [name, error] : uploads) {
    SCOPED_TRACE(name);
    CommandResult result = Cli(token, {"cert", "set", host, "--cert", keys + "/" + name + ".pem",
                                       "--key", keys + "/" + name + ".key"});
    EXPECT_NE(result.exit_code, 0) << result.out;
    EXPECT_TRUE(IsOneErrorLine(result.err)) << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, error)) << result.err;
  }
  // Nothing was stored: the same version, still the edge CA's certificate.
  EXPECT_EQ(ConfigVersion(*control_), version);
  CommandResult shown = Cli(token, {"zone", "show", host});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, "issued by edge CA")) << shown.out;

  // The keys the edge can serve are taken.
  ASSERT_TRUE(SelfSignedServer(keys, "ec-p384", "ecparam -name secp384r1 -genkey -noout", host));
  ASSERT_NO_FATAL_FAILURE(CliOk(token, {"cert", "set", host, "--cert", keys + "/ec-p384.pem",
                                        "--key", keys + "/ec-p384.key"}));
  EXPECT_EQ(ConfigVersion(*control_), version + 1);
}

// --- one tenant's unbuildable zone -------------------------------------------------

TEST_F(IsolationTest, AnUnbuildableZoneBreaksOnlyItselfAndOnlyItsTenantSeesWhy) {
  ASSERT_NO_FATAL_FAILURE(StartControl());
  ASSERT_NO_FATAL_FAILURE(StartOrigin());
  std::string acme = NewTenant(*control_, "acme");
  std::string evil = NewTenant(*control_, "evil");
  std::string admin = control_->admin_token();

  // acme: an enforce zone trusting its device CA; two devices.
  KeyAndCert ca = MakeCa("Acme Devices CA");
  CertificateSpec device;
  device.client_auth = true;
  device.common_name = "device-1";
  KeyAndCert stolen = Issue(device, ca);
  device.common_name = "device-2";
  KeyAndCert kept = Issue(device, ca);
  WriteFile(dir_ + "/acme-ca.pem", ca.cert_pem());
  WriteFile(dir_ + "/stolen.pem", stolen.cert_pem());
  std::string origin = absl::StrCat("http://127.0.0.1:", origin_port_);
  ASSERT_NO_FATAL_FAILURE(CliOk(acme, {"zone", "create", kAcmeZone, "--origin", origin}));
  ASSERT_NO_FATAL_FAILURE(CliOk(acme, {"root", "add", kAcmeZone, dir_ + "/acme-ca.pem"}));
  ASSERT_NO_FATAL_FAILURE(CliOk(evil, {"zone", "create", kEvilZone, "--origin", origin}));

  ASSERT_NO_FATAL_FAILURE(StartEdge());
  ASSERT_NO_FATAL_FAILURE(StartEdge());
  ASSERT_TRUE(WaitForVersion(ConfigVersion(*control_)));

  // The hostile upload lands in the database as one stored before the
  // upload check existed would: a self-signed DSA certificate and key.
  ASSERT_TRUE(MakeDsaServer(dir_, kEvilZone));
  ASSERT_EQ(control_->Stop(SIGTERM), 0);
  {
    SqliteStoreOptions options;
    options.path = control_->db_path();
    auto store = SqliteStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    auto seeded = (*store)->Mutate("test", "seed", [&](StoreTransaction& txn) -> absl::Status {
      absl::StatusOr<std::optional<ZoneRow>> row = txn.FindZoneByHostname(kEvilZone);
      if (!row.ok() || !row->has_value()) {
        return absl::NotFoundError("evil zone");
      }
      ZoneRow zone = std::move(**row);
      zone.zone.mutable_server_certificate()->set_chain_pem(ReadFile(dir_ + "/dsa.pem"));
      zone.zone.mutable_server_certificate()->set_issued_by_edge_ca(false);
      zone.server_key_pem = ReadFile(dir_ + "/dsa.key");
      return txn.UpdateZone(zone);
    });
    ASSERT_TRUE(seeded.ok()) << seeded.status();
  }
  ASSERT_NO_FATAL_FAILURE(StartControl());
  uint64_t poisoned = ConfigVersion(*control_);

  // Both edges apply that version: every zone but the hostile one.
  ASSERT_TRUE(WaitForVersion(poisoned));
  for (const Edge& edge : edges_) {
    EXPECT_EQ(Curl(edge, kAcmeZone, &stolen), 200) << edge.node_id;
    EXPECT_EQ(Curl(edge, kAcmeZone, nullptr), 403) << edge.node_id;
    EXPECT_EQ(Metric(edge, "certgate_zones_failed"), 1) << edge.node_id;
    EXPECT_GE(Metric(edge, "certgate_zone_build_failures_total"), 1) << edge.node_id;
  }

  // acme revokes the stolen device: refused on every edge within a second.
  ASSERT_NO_FATAL_FAILURE(CliOk(acme, {"revoke", kAcmeZone, "--cert", dir_ + "/stolen.pem"}));
  absl::Time revoked = absl::Now();
  for (const Edge& edge : edges_) {
    ASSERT_TRUE(WaitFor([&] { return Curl(edge, kAcmeZone, &stolen) == 403; }, absl::Seconds(5)))
        << edge.node_id << " still lets the revoked device in\n"
        << edge.process->ReadLog();
  }
  absl::Duration reached = absl::Now() - revoked;
  std::printf("revocation refused on %zu edges %.0f ms after the change\n", edges_.size(),
              absl::ToDoubleMilliseconds(reached));
  EXPECT_LT(reached, absl::Seconds(1));

  // A brand-new edge serves every other zone, with the revocation.
  ASSERT_NO_FATAL_FAILURE(StartEdge());
  uint64_t current = ConfigVersion(*control_);
  ASSERT_TRUE(WaitForVersion(current));
  const Edge& fresh = edges_.back();
  EXPECT_EQ(Curl(fresh, kAcmeZone, &kept), 200);
  EXPECT_EQ(Curl(fresh, kAcmeZone, &stolen), 403);
  EXPECT_EQ(Curl(fresh, kEvilZone, nullptr), 0) << "the unbuildable zone is not served";
  EXPECT_TRUE(absl::StrContains(fresh.process->ReadLog(), "failed to build"));

  // The zone's own tenant sees the failure on every edge, per edge.
  ASSERT_TRUE(WaitFor(
      [&] {
        CommandResult status = Cli(evil, {"status", kEvilZone, "--json"});
        size_t count = 0;
        for (size_t at = status.out.find("DSA keys"); at != std::string::npos;
             at = status.out.find("DSA keys", at + 1)) {
          ++count;
        }
        return count == edges_.size();
      },
      absl::Seconds(10)))
      << Cli(evil, {"status", kEvilZone, "--json"}).out;
  CommandResult evil_show = Cli(evil, {"zone", "show", kEvilZone});
  ASSERT_EQ(evil_show.exit_code, 0) << evil_show.err;
  for (const Edge& edge : edges_) {
    EXPECT_TRUE(absl::StrContains(evil_show.out, edge.node_id)) << evil_show.out;
  }
  EXPECT_TRUE(absl::StrContains(evil_show.out, "DSA keys cannot be used")) << evil_show.out;
  CommandResult evil_show_json = Cli(evil, {"zone", "show", kEvilZone, "--json"});
  EXPECT_TRUE(absl::StrContains(evil_show_json.out, "DSA keys cannot be used"))
      << evil_show_json.out;
  // The operator sees it too.
  CommandResult fleet = Cli(admin, {"status", "--json"});
  EXPECT_TRUE(absl::StrContains(fleet.out, kEvilZone)) << fleet.out;

  // Nothing of it reaches acme: not the name, not the error.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"status", "--json"},
                                             {"status", kAcmeZone, "--json"},
                                             {"zone", "list", "--json"},
                                             {"zone", "show", kAcmeZone, "--json"}}) {
    CommandResult result = Cli(acme, args);
    ASSERT_EQ(result.exit_code, 0) << absl::StrJoin(args, " ") << result.err;
    EXPECT_FALSE(absl::StrContains(result.out, "evil.test"))
        << absl::StrJoin(args, " ") << result.out;
    EXPECT_FALSE(absl::StrContains(result.out, "DSA keys"))
        << absl::StrJoin(args, " ") << result.out;
  }
}

// --- private files ------------------------------------------------------------------

// Walk calls `visit` for everything under `root` (not `root` itself).
void Walk(const std::string& root, const std::function<void(const std::string&, mode_t)>& visit) {
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) {
    return;
  }
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    std::string path = root + "/" + name;
    struct stat info;
    if (lstat(path.c_str(), &info) != 0) {
      continue;
    }
    visit(path, info.st_mode);
    if (S_ISDIR(info.st_mode)) {
      Walk(path, visit);
    }
  }
  closedir(dir);
}

TEST_F(IsolationTest, EveryFileTheControlPlaneAndEdgeWriteIsPrivateUnderUmask022) {
  mode_t old_umask = umask(022);
  ASSERT_NO_FATAL_FAILURE(StartControl());
  std::string token = NewTenant(*control_, "files");
  ASSERT_NO_FATAL_FAILURE(
      CliOk(token, {"zone", "create", "files.example.test", "--origin", "http://127.0.0.1:9"}));
  ASSERT_NO_FATAL_FAILURE(StartEdge());
  umask(old_umask);
  ASSERT_TRUE(WaitForVersion(ConfigVersion(*control_)));
  // The state file is written after the new version starts serving.
  std::string state_file = dir_ + "/edge-1/config.pb";
  for (int i = 0; i < 200 && access(state_file.c_str(), F_OK) != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }

  std::vector<std::string> seen;
  auto check = [&](const std::string& path, mode_t mode) {
    if (absl::EndsWith(path, ".log")) {
      return;  // the test's own capture of the processes' output
    }
    seen.push_back(path);
    if (S_ISDIR(mode)) {
      EXPECT_EQ(mode & 0777, 0700u) << path;
    } else {
      EXPECT_EQ(mode & 0777, 0600u) << path;
    }
  };
  Walk(dir_ + "/control", check);
  Walk(dir_ + "/edge-1", check);
  auto saw = [&](const std::string& suffix) {
    for (const std::string& path : seen) {
      if (absl::EndsWith(path, suffix)) {
        return true;
      }
    }
    return false;
  };
  // What must be there while both run: the database and its WAL files, the
  // tokens, the edge CA key, the edge's state file.
  for (const char* file : {"/certgate.db", "/certgate.db-wal", "/certgate.db-shm", "/admin.token",
                           "/edge.token", "/config.pb"}) {
    EXPECT_TRUE(saw(file)) << file << " not found";
  }
  EXPECT_TRUE(saw("/edge-ca.key")) << "no edge CA key found";
}

}  // namespace
}  // namespace certgate::testing
