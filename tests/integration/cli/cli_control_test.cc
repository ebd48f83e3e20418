// Every certgate command against a real certgate-control on loopback, in both
// output forms, with the refusals of each command group.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "certgate/v1/admin.pb.h"
#include "certgate/v1/tenant.pb.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/cli/cli_runner.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

namespace v1 = ::certgate::v1;

int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return -1;
  }
  return st.st_mode & 0777;
}

CommandResult Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

// ExpectRefused checks the exit code and that stderr is one line holding
// `message`, with nothing on stdout.
void ExpectRefused(const CommandResult& result, int exit_code, const std::string& message) {
  EXPECT_EQ(result.exit_code, exit_code) << result.out << result.err;
  EXPECT_TRUE(IsOneErrorLine(result.err)) << "stderr: " << result.err;
  EXPECT_NE(result.err.find(message), std::string::npos)
      << "want \"" << message << "\" in: " << result.err;
  EXPECT_EQ(result.out, "");
}

class CliControlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("cli-control"));
    port_ = FreePort();
    address_ = new std::string(absl::StrCat("127.0.0.1:", port_));
    auto process = Subprocess::Start(
        {BinPath("certgate-control"), "--db", *dir_ + "/certgate.db", "--listen", *address_,
         "--admin-token-file", *dir_ + "/admin.token", "--edge-token-file", *dir_ + "/edge.token",
         "--insecure", "--origin-allow", "127.0.0.0/8", "--verify-hostnames", "off"},
        *dir_ + "/control.log");
    ASSERT_TRUE(process.ok()) << process.status();
    server_ = process->release();
    ASSERT_TRUE(WaitFor([] { return absl::StrContains(server_->ReadLog(), "listening on"); },
                        absl::Seconds(20)))
        << server_->ReadLog();
    admin_token_ = new std::string(absl::StripAsciiWhitespace(ReadFile(*dir_ + "/admin.token")));
    acme_token_ = new std::string(CreateTenant("acme"));
    rival_token_ = new std::string(CreateTenant("rival"));
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static std::string CreateTenant(const std::string& name) {
    CommandResult result = CliRunner(*dir_).RunAs(*address_, *admin_token_,
                                                  {"admin", "tenant", "create", name, "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return ParseJson<v1::CreateTenantResponse>(result.out).token();
  }

  CliControlTest() : home_(MakeTempDir("cli-home")), cli_(home_) {}

  // Run as a tenant (or admin) with explicit flags.
  CommandResult As(const std::string& token, std::vector<std::string> args) {
    return cli_.RunAs(*address_, token, std::move(args));
  }
  CommandResult Acme(const std::vector<std::string>& args) { return As(*acme_token_, args); }
  CommandResult Rival(const std::vector<std::string>& args) { return As(*rival_token_, args); }
  CommandResult Admin(const std::vector<std::string>& args) { return As(*admin_token_, args); }

  // Version: the config version, to show that a refusal changed nothing.
  uint64_t Version() {
    CommandResult result = Acme({"status", "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return ParseJson<v1::StatusResponse>(result.out).config_version();
  }

  // ZoneJson: `zone show HOST --json` as a message.
  v1::Zone ShowZone(const std::string& host) {
    CommandResult result = Acme({"zone", "show", host, "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return ParseJson<v1::ZoneResponse>(result.out).zone();
  }

  void CreateZone(const std::string& host) {
    CommandResult result = Acme({"zone", "create", host, "--origin", "http://127.0.0.1:8080"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  // MakeCa makes a local CA with `pki init-ca` in home/name.
  std::string MakeCa(const std::string& name) {
    std::string dir = P(name);
    CommandResult result = cli_.Run({"pki", "init-ca", "--cn", name + " CA", "--out", dir});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return dir;
  }

  std::string P(const std::string& name) const { return home_ + "/" + name; }

  static std::string* dir_;
  static std::string* address_;
  static int port_;
  static Subprocess* server_;
  static std::string* admin_token_;
  static std::string* acme_token_;
  static std::string* rival_token_;

  std::string home_;
  CliRunner cli_;
};

std::string* CliControlTest::dir_ = nullptr;
std::string* CliControlTest::address_ = nullptr;
int CliControlTest::port_ = 0;
Subprocess* CliControlTest::server_ = nullptr;
std::string* CliControlTest::admin_token_ = nullptr;
std::string* CliControlTest::acme_token_ = nullptr;
std::string* CliControlTest::rival_token_ = nullptr;

TEST_F(CliControlTest, LoginSavesServerAndTokenWithMode0600) {
  CommandResult login =
      cli_.Run({"login", "--server", *address_, "--token", *acme_token_, "--insecure"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.out.find("Logged in to " + *address_), std::string::npos) << login.out;
  std::string path = P(".config/certgate/config.json");
  EXPECT_EQ(FileMode(path), 0600);
  EXPECT_EQ(FileMode(P(".config/certgate")), 0700);
  EXPECT_NE(ReadFile(path).find(*acme_token_), std::string::npos);

  // Later commands need no flags.
  CommandResult list = cli_.Run({"zone", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;

  // --json form, an admin token, and $XDG_CONFIG_HOME.
  std::string xdg = P("xdg");
  CommandResult admin =
      cli_.Run({"login", "--server", *address_, "--token", *admin_token_, "--insecure", "--json"},
               {{"XDG_CONFIG_HOME", xdg}});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  auto json = ParseJson<google::protobuf::Struct>(admin.out);
  EXPECT_EQ(json.fields().at("role").string_value(), "admin");
  EXPECT_EQ(json.fields().at("configFile").string_value(), xdg + "/certgate/config.json");
  EXPECT_EQ(FileMode(xdg + "/certgate/config.json"), 0600);
  CommandResult tenants = cli_.Run({"admin", "tenant", "list"}, {{"XDG_CONFIG_HOME", xdg}});
  EXPECT_EQ(tenants.exit_code, 0) << tenants.err;
  EXPECT_NE(tenants.out.find("acme"), std::string::npos);
  // The HOME login is untouched by the XDG one.
  EXPECT_NE(ReadFile(path).find(*acme_token_), std::string::npos);
}

TEST_F(CliControlTest, LoginWithABadTokenIsRefusedAndSavesNothing) {
  CommandResult login =
      cli_.Run({"login", "--server", *address_, "--token", "cgt_nope_nope", "--insecure"});
  EXPECT_EQ(login.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(login.err)) << login.err;
  EXPECT_EQ(FileMode(P(".config/certgate/config.json")), -1);

  CommandResult no_server = cli_.Run({"login", "--token", "t", "--insecure"});
  EXPECT_EQ(no_server.exit_code, 2);
  EXPECT_TRUE(IsOneErrorLine(no_server.err)) << no_server.err;
}

TEST_F(CliControlTest, EnvironmentGivesServerAndToken) {
  CommandResult list = cli_.Run({"zone", "list", "--insecure"},
                                {{"CERTGATE_SERVER", *address_}, {"CERTGATE_TOKEN", *acme_token_}});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  // A flag beats the environment: the rival's token sees no acme zone.
  CreateZone("env.acme.test");
  CommandResult rival =
      cli_.Run({"zone", "list", "--insecure", "--token", *rival_token_},
               {{"CERTGATE_SERVER", *address_}, {"CERTGATE_TOKEN", *acme_token_}});
  EXPECT_EQ(rival.exit_code, 0) << rival.err;
  EXPECT_EQ(rival.out.find("env.acme.test"), std::string::npos) << rival.out;
}

TEST_F(CliControlTest, ZoneCommandsInBothForms) {
  CommandResult create =
      Acme({"zone", "create", "zone.acme.test", "--origin", "http://127.0.0.1:8080"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_NE(create.out.find("Hostname:"), std::string::npos) << create.out;
  EXPECT_NE(create.out.find("enforce"), std::string::npos) << create.out;
  EXPECT_NE(create.out.find("Config version"), std::string::npos);

  CommandResult create_json = Acme({"zone", "create", "*.wild.acme.test", "--origin",
                                    "http://127.0.0.1:8081", "--mode", "report", "--json"});
  ASSERT_EQ(create_json.exit_code, 0) << create_json.err;
  auto created = ParseJson<v1::ZoneResponse>(create_json.out);
  EXPECT_EQ(created.zone().hostname(), "*.wild.acme.test");
  EXPECT_EQ(created.zone().mode(), v1::MODE_REPORT);
  EXPECT_GT(created.config_version(), 0u);

  CommandResult list = Acme({"zone", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StartsWith(list.out, "HOSTNAME")) << list.out;
  EXPECT_NE(list.out.find("zone.acme.test"), std::string::npos);
  EXPECT_NE(list.out.find("*.wild.acme.test"), std::string::npos);
  auto listed = ParseJson<v1::ListZonesResponse>(Acme({"zone", "list", "--json"}).out);
  EXPECT_GE(listed.zones_size(), 2);

  CommandResult show = Acme({"zone", "show", "zone.acme.test"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("Origin:"), std::string::npos);
  EXPECT_NE(show.out.find("http://127.0.0.1:8080"), std::string::npos);
  EXPECT_EQ(ShowZone("zone.acme.test").origin(), "http://127.0.0.1:8080");

  CommandResult set = Acme({"zone", "set", "zone.acme.test", "--origin", "http://127.0.0.1:9090"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("http://127.0.0.1:9090"), std::string::npos);
  CommandResult set_json =
      Acme({"zone", "set", "zone.acme.test", "--send-ca-names", "true", "--json"});
  ASSERT_EQ(set_json.exit_code, 0) << set_json.err;
  EXPECT_TRUE(ParseJson<v1::ZoneResponse>(set_json.out).zone().send_ca_names());

  CommandResult remove = Acme({"zone", "delete", "zone.acme.test"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("Deleted zone zone.acme.test"), std::string::npos);
  CommandResult remove_json = Acme({"zone", "delete", "*.wild.acme.test", "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  EXPECT_GT(ParseJson<v1::ChangeResponse>(remove_json.out).config_version(),
            created.config_version());
  ExpectRefused(Acme({"zone", "show", "zone.acme.test"}), 1, "not found");
}

TEST_F(CliControlTest, ZoneRefusals) {
  CreateZone("owned.acme.test");
  uint64_t version = Version();
  std::string before = Acme({"zone", "list", "--json"}).out;

  ExpectRefused(Acme({"zone", "create", "m.acme.test", "--origin", "http://a:1", "--mode", "x"}), 2,
                "unknown mode \"x\"");
  ExpectRefused(Acme({"zone", "create", "o.acme.test", "--origin", "ftp://a:1"}), 1, "ftp");
  ExpectRefused(Acme({"zone", "create", "bad..host", "--origin", "http://a:1"}), 1, "bad..host");
  ExpectRefused(Acme({"zone", "create", "owned.acme.test", "--origin", "http://a:1"}), 1,
                "owned.acme.test");
  ExpectRefused(Acme({"zone", "set", "owned.acme.test"}), 2, "nothing to change");
  ExpectRefused(Acme({"zone", "set", "owned.acme.test", "--send-ca-names", "maybe"}), 2,
                "--send-ca-names");
  ExpectRefused(Acme({"zone", "show", "absent.acme.test"}), 1, "not found");

  // Another tenant's zone looks exactly like one that does not exist.
  CommandResult theirs = Rival({"zone", "show", "owned.acme.test"});
  CommandResult absent = Rival({"zone", "show", "absent.acme.test"});
  ExpectRefused(theirs, 1, "not found");
  EXPECT_EQ(absl::StrReplaceAll(theirs.err, {{"owned", "absent"}}), absent.err);
  ExpectRefused(Rival({"zone", "delete", "owned.acme.test"}), 1, "not found");
  ExpectRefused(Rival({"zone", "set", "owned.acme.test", "--origin", "http://evil:1"}), 1,
                "not found");
  // A hostname another tenant holds cannot be taken.
  EXPECT_EQ(Rival({"zone", "create", "owned.acme.test", "--origin", "http://a:1"}).exit_code, 1);

  EXPECT_EQ(Version(), version);
  EXPECT_EQ(Acme({"zone", "list", "--json"}).out, before);
}

TEST_F(CliControlTest, RootsMadeByOpensslAndByPki) {
  CreateZone("roots.acme.test");
  CommandResult req =
      Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", P("root.key"), "-subj", "/CN=OpenSSL Root", "-days", "30", "-addext",
               "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign", "-out", P("root.pem")});
  ASSERT_EQ(req.exit_code, 0) << req.err;
  std::string openssl_ski =
      Openssl({"x509", "-in", P("root.pem"), "-noout", "-ext", "subjectKeyIdentifier"}).out;
  std::vector<std::string> ski_lines = absl::StrSplit(openssl_ski, '\n');
  ASSERT_GE(ski_lines.size(), 2u) << openssl_ski;
  std::string want_ski = absl::AsciiStrToLower(
      absl::StrReplaceAll(absl::StripAsciiWhitespace(ski_lines[1]), {{":", ""}}));

  CommandResult add = Acme({"root", "add", "roots.acme.test", P("root.pem")});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Added 1 root"), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("ID"), std::string::npos);
  EXPECT_NE(add.out.find("CN=OpenSSL Root"), std::string::npos);
  EXPECT_NE(add.out.find(want_ski), std::string::npos) << add.out << want_ski;
  EXPECT_NE(add.out.find(" UTC"), std::string::npos) << add.out;

  std::string pki = MakeCa("Pki");
  CommandResult add_json = Acme({"root", "add", "roots.acme.test", pki + "/ca.pem", "--json"});
  ASSERT_EQ(add_json.exit_code, 0) << add_json.err;
  auto added = ParseJson<v1::AddCaCertificatesResponse>(add_json.out);
  ASSERT_EQ(added.added_size(), 1);
  EXPECT_EQ(added.added(0).subject(), "CN=Pki CA");

  CommandResult list = Acme({"root", "list", "roots.acme.test"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StartsWith(list.out, "ID")) << list.out;
  EXPECT_NE(list.out.find("CN=OpenSSL Root"), std::string::npos);
  EXPECT_NE(list.out.find("CN=Pki CA"), std::string::npos);
  auto listed = ParseJson<v1::ListCaCertificatesResponse>(
      Acme({"root", "list", "roots.acme.test", "--json"}).out);
  ASSERT_EQ(listed.certificates_size(), 2);
  EXPECT_EQ(listed.certificates(0).ski(), want_ski);

  // DER works as well as PEM.
  ASSERT_EQ(
      Openssl({"x509", "-in", P("root.pem"), "-outform", "DER", "-out", P("root.der")}).exit_code,
      0);
  CreateZone("der.acme.test");
  CommandResult der = Acme({"root", "add", "der.acme.test", P("root.der")});
  ASSERT_EQ(der.exit_code, 0) << der.err;
  EXPECT_NE(der.out.find(want_ski), std::string::npos) << der.out;

  CommandResult remove = Acme({"root", "remove", "roots.acme.test", added.added(0).id()});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("Removed root"), std::string::npos);
  CommandResult remove_json =
      Acme({"root", "remove", "roots.acme.test", listed.certificates(0).id(), "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  EXPECT_GT(ParseJson<v1::ChangeResponse>(remove_json.out).config_version(), 0u);
  EXPECT_EQ(ShowZone("roots.acme.test").roots_size(), 0);
}

// A root made by cfssl (`cfssl gencert -initca`, as many PKIs are bootstrapped)
// is accepted as it is.
TEST_F(CliControlTest, RootMadeByCfssl) {
  CreateZone("cfssl.acme.test");
  WriteFile(P("ca-csr.json"),
            R"({"CN": "Cfssl Devices CA", "key": {"algo": "ecdsa", "size": 256}})");
  CommandResult gencert = RunCommand({"cfssl", "gencert", "-initca", P("ca-csr.json")});
  ASSERT_EQ(gencert.exit_code, 0) << gencert.err;
  CommandResult split = RunCommand({"cfssljson", "-bare", P("cfssl-ca")}, gencert.out);
  ASSERT_EQ(split.exit_code, 0) << split.err;
  CommandResult add = Acme({"root", "add", "cfssl.acme.test", P("cfssl-ca.pem")});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("CN=Cfssl Devices CA"), std::string::npos) << add.out;
  EXPECT_EQ(ShowZone("cfssl.acme.test").roots_size(), 1);
}

TEST_F(CliControlTest, RootRefusals) {
  CreateZone("rootref.acme.test");
  std::string ca = MakeCa("Refusal");
  ASSERT_EQ(cli_.Run({"pki", "issue", "--ca", ca, "--cn", "leaf", "--out", P("leaf")}).exit_code,
            0);
  WriteFile(P("garbage.pem"),
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
  uint64_t version = Version();

  ExpectRefused(Acme({"root", "add", "rootref.acme.test", P("missing.pem")}), 2, "missing.pem");
  ExpectRefused(Acme({"root", "add", "rootref.acme.test", P("garbage.pem")}), 2, "garbage.pem");
  ExpectRefused(Acme({"root", "add", "rootref.acme.test", P("leaf/cert.pem")}), 1, "CN=leaf");
  ExpectRefused(Acme({"root", "add", "unknown.acme.test", ca + "/ca.pem"}), 1, "not found");
  ExpectRefused(Rival({"root", "add", "rootref.acme.test", ca + "/ca.pem"}), 1, "not found");
  ExpectRefused(Rival({"root", "list", "rootref.acme.test"}), 1, "not found");
  ExpectRefused(Acme({"root", "remove", "rootref.acme.test", "0123456789abcdef"}), 1, "not found");
  // A CA whose key usage does not allow signing certificates, made by openssl
  // (the project's own factory cannot make one).
  ASSERT_EQ(Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", P("nosign.key"), "-subj", "/CN=No Sign CA", "-days", "30",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                     "keyUsage=critical,digitalSignature", "-out", P("nosign.pem")})
                .exit_code,
            0);
  ExpectRefused(Acme({"root", "add", "rootref.acme.test", P("nosign.pem")}), 1, "keyCertSign");

  EXPECT_EQ(Version(), version);
  EXPECT_EQ(ShowZone("rootref.acme.test").roots_size(), 0);
}

TEST_F(CliControlTest, IntermediatesInBothFormsAndRefusals) {
  CreateZone("inter.acme.test");
  std::string root = MakeCa("InterRoot");
  ASSERT_EQ(
      cli_.Run({"pki", "init-intermediate", "--ca", root, "--cn", "Issuing", "--out", P("issuing")})
          .exit_code,
      0);
  CommandResult add = Acme({"intermediate", "add", "inter.acme.test", P("issuing/ca.pem")});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Added 1 intermediate"), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("CN=Issuing"), std::string::npos);

  CommandResult list = Acme({"intermediate", "list", "inter.acme.test"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("CN=Issuing"), std::string::npos);
  auto listed = ParseJson<v1::ListCaCertificatesResponse>(
      Acme({"intermediate", "list", "inter.acme.test", "--json"}).out);
  ASSERT_EQ(listed.certificates_size(), 1);
  EXPECT_EQ(listed.certificates(0).issuer(), "CN=InterRoot CA");

  uint64_t version = Version();
  ExpectRefused(Acme({"intermediate", "add", "inter.acme.test", P("nothing.pem")}), 2,
                "nothing.pem");
  ExpectRefused(Rival({"intermediate", "add", "inter.acme.test", P("issuing/ca.pem")}), 1,
                "not found");
  ExpectRefused(Acme({"intermediate", "add", "inter.acme.test", P("issuing/ca.pem")}), 1, "");
  EXPECT_EQ(Version(), version);

  CommandResult remove =
      Acme({"intermediate", "remove", "inter.acme.test", listed.certificates(0).id(), "--json"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(ShowZone("inter.acme.test").intermediates_size(), 0);
}

TEST_F(CliControlTest, ServerCertificateCommands) {
  CreateZone("cert.acme.test");
  CommandResult edge_ca = Acme({"cert", "edge-ca"});
  ASSERT_EQ(edge_ca.exit_code, 0) << edge_ca.err;
  EXPECT_TRUE(absl::StartsWith(edge_ca.out, "-----BEGIN CERTIFICATE-----")) << edge_ca.out;
  WriteFile(P("edge-ca.pem"), edge_ca.out);
  auto edge_ca_json = ParseJson<v1::GetEdgeCaResponse>(Acme({"cert", "edge-ca", "--json"}).out);
  EXPECT_EQ(edge_ca_json.certificate_pem(), edge_ca.out);

  CommandResult show = Acme({"cert", "show", "cert.acme.test"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("edge CA"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  // The issued chain verifies against the edge CA the CLI printed.
  WriteFile(P("issued.pem"), show.out.substr(show.out.find("-----BEGIN")));
  CommandResult verify = Openssl({"verify", "-CAfile", P("edge-ca.pem"), P("issued.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  auto info =
      ParseJson<v1::ServerCertificateInfo>(Acme({"cert", "show", "cert.acme.test", "--json"}).out);
  EXPECT_TRUE(info.issued_by_edge_ca());

  // Upload a certificate made by openssl.
  CommandResult req =
      Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", P("server.key"), "-subj", "/CN=cert.acme.test", "-days", "30", "-addext",
               "subjectAltName=DNS:cert.acme.test", "-out", P("server.pem")});
  ASSERT_EQ(req.exit_code, 0) << req.err;
  CommandResult set =
      Acme({"cert", "set", "cert.acme.test", "--cert", P("server.pem"), "--key", P("server.key")});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("uploaded"), std::string::npos) << set.out;
  EXPECT_FALSE(ShowZone("cert.acme.test").server_certificate().issued_by_edge_ca());

  CommandResult reset = Acme({"cert", "reset", "cert.acme.test", "--json"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_TRUE(
      ParseJson<v1::ZoneResponse>(reset.out).zone().server_certificate().issued_by_edge_ca());

  CommandResult set_json = Acme({"cert", "set", "cert.acme.test", "--cert", P("server.pem"),
                                 "--key", P("server.key"), "--json"});
  ASSERT_EQ(set_json.exit_code, 0) << set_json.err;
  EXPECT_FALSE(
      ParseJson<v1::ZoneResponse>(set_json.out).zone().server_certificate().issued_by_edge_ca());
  CommandResult reset_text = Acme({"cert", "reset", "cert.acme.test"});
  ASSERT_EQ(reset_text.exit_code, 0) << reset_text.err;
  EXPECT_NE(reset_text.out.find("edge CA"), std::string::npos);

  // Refusals: a key of another certificate, a certificate for another
  // hostname, a missing key file, someone else's zone.
  ASSERT_EQ(Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", P("other.key"), "-subj", "/CN=elsewhere.test", "-days",
                     "30", "-addext", "subjectAltName=DNS:elsewhere.test", "-out", P("other.pem")})
                .exit_code,
            0);
  uint64_t version = Version();
  EXPECT_EQ(
      Acme({"cert", "set", "cert.acme.test", "--cert", P("server.pem"), "--key", P("other.key")})
          .exit_code,
      1);
  ExpectRefused(
      Acme({"cert", "set", "cert.acme.test", "--cert", P("other.pem"), "--key", P("other.key")}), 1,
      "cert.acme.test");
  ExpectRefused(
      Acme({"cert", "set", "cert.acme.test", "--cert", P("server.pem"), "--key", P("absent.key")}),
      2, "absent.key");
  ExpectRefused(
      Acme({"cert", "set", "cert.acme.test", "--cert", P("server.key"), "--key", P("server.key")}),
      2, "server.key");
  ExpectRefused(Rival({"cert", "show", "cert.acme.test"}), 1, "not found");
  EXPECT_EQ(Version(), version);
  EXPECT_TRUE(ShowZone("cert.acme.test").server_certificate().issued_by_edge_ca());
}

TEST_F(CliControlTest, ModeInBothFormsAndRefusals) {
  CreateZone("mode.acme.test");
  CommandResult set = Acme({"mode", "set", "mode.acme.test", "report"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("Mode of mode.acme.test is report"), std::string::npos) << set.out;
  CommandResult set_json = Acme({"mode", "set", "mode.acme.test", "off", "--json"});
  ASSERT_EQ(set_json.exit_code, 0) << set_json.err;
  EXPECT_EQ(ParseJson<v1::ZoneResponse>(set_json.out).zone().mode(), v1::MODE_OFF);

  uint64_t version = Version();
  ExpectRefused(Acme({"mode", "set", "mode.acme.test", "strict"}), 2, "unknown mode \"strict\"");
  ExpectRefused(Acme({"mode", "set", "nomode.acme.test", "enforce"}), 1, "not found");
  ExpectRefused(Rival({"mode", "set", "mode.acme.test", "enforce"}), 1, "not found");
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(ShowZone("mode.acme.test").mode(), v1::MODE_OFF);
}

TEST_F(CliControlTest, ErrorPageInBothFormsAndRefusals) {
  CreateZone("page.acme.test");
  WriteFile(P("body.json"), "{\"error\": \"client certificate required\"}\n");
  CommandResult set = Acme({"error-page", "set", "page.acme.test", "--content-type",
                            "application/json", "--file", P("body.json")});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("application/json"), std::string::npos) << set.out;

  CommandResult show = Acme({"error-page", "show", "page.acme.test"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(show.out,
            "Content-Type: application/json\n\n{\"error\": \"client certificate required\"}\n");
  auto page =
      ParseJson<v1::ErrorResponse>(Acme({"error-page", "show", "page.acme.test", "--json"}).out);
  EXPECT_EQ(page.body(), ReadFile(P("body.json")));

  WriteFile(P("body.html"), "<h1>No</h1>");
  CommandResult set_json = Acme({"error-page", "set", "page.acme.test", "--content-type",
                                 "text/html", "--file", P("body.html"), "--json"});
  ASSERT_EQ(set_json.exit_code, 0) << set_json.err;
  EXPECT_EQ(ParseJson<v1::ZoneResponse>(set_json.out).zone().error_response().content_type(),
            "text/html");

  WriteFile(P("broken.json"), "{\"error\": ");
  uint64_t version = Version();
  ExpectRefused(Acme({"error-page", "set", "page.acme.test", "--content-type", "application/json",
                      "--file", P("broken.json")}),
                1, "JSON");
  ExpectRefused(Acme({"error-page", "set", "page.acme.test", "--content-type", "text/html",
                      "--file", P("no-such-body.html")}),
                2, "no-such-body.html");
  ExpectRefused(Rival({"error-page", "show", "page.acme.test"}), 1, "not found");
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(ShowZone("page.acme.test").error_response().body(), "<h1>No</h1>");
}

TEST_F(CliControlTest, HeadersInBothFormsAndRefusals) {
  CreateZone("hdr.acme.test");
  CommandResult set = Acme({"header", "set", "hdr.acme.test", "X-Device-Id", "subject.CN"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("X-Device-Id  subject.CN"), std::string::npos) << set.out;
  CommandResult set_json =
      Acme({"header", "set", "hdr.acme.test", "X-Spiffe", "spiffe_id", "--json"});
  ASSERT_EQ(set_json.exit_code, 0) << set_json.err;
  EXPECT_EQ(ParseJson<v1::ZoneResponse>(set_json.out).zone().header_mappings_size(), 2);

  CommandResult list = Acme({"header", "list", "hdr.acme.test"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(list.out, "HEADER")) << list.out;
  EXPECT_NE(list.out.find("X-Spiffe"), std::string::npos);
  auto listed = ParseJson<v1::Zone>(Acme({"header", "list", "hdr.acme.test", "--json"}).out);
  EXPECT_EQ(listed.header_mappings_size(), 2);

  CommandResult names = Acme({"header", "names", "hdr.acme.test", "--status", "X-Cert-Status"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  EXPECT_NE(names.out.find("X-Cert-Status"), std::string::npos);
  EXPECT_NE(names.out.find("X-Client-Cert-Ski"), std::string::npos);
  auto names_json =
      ParseJson<v1::StatusHeaderNames>(Acme({"header", "names", "hdr.acme.test", "--json"}).out);
  EXPECT_EQ(names_json.status(), "X-Cert-Status");

  uint64_t version = Version();
  ExpectRefused(Acme({"header", "set", "hdr.acme.test", "X-Bad", "subject.XX"}), 1, "subject.XX");
  ExpectRefused(Acme({"header", "set", "hdr.acme.test", "Host", "subject.CN"}), 1, "Host");
  ExpectRefused(Acme({"header", "remove", "hdr.acme.test", "X-Never-Set"}), 1, "X-Never-Set");
  ExpectRefused(Rival({"header", "list", "hdr.acme.test"}), 1, "not found");
  ExpectRefused(Acme({"header", "names", "hdr.acme.test", "--ski", "Content-Length"}), 1,
                "Content-Length");
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(ShowZone("hdr.acme.test").header_mappings_size(), 2);

  CommandResult remove = Acme({"header", "remove", "hdr.acme.test", "x-device-id"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(remove.out.find("X-Device-Id"), std::string::npos) << remove.out;
  CommandResult remove_json = Acme({"header", "remove", "hdr.acme.test", "X-Spiffe", "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  EXPECT_EQ(ParseJson<v1::ZoneResponse>(remove_json.out).zone().header_mappings_size(), 0);
}

TEST_F(CliControlTest, RevocationsInBothFormsAndRefusals) {
  CreateZone("rev.acme.test");
  std::string ca = MakeCa("Rev");
  ASSERT_EQ(Acme({"root", "add", "rev.acme.test", ca + "/ca.pem"}).exit_code, 0);
  ASSERT_EQ(cli_.Run({"pki", "issue", "--ca", ca, "--cn", "d1", "--out", P("d1")}).exit_code, 0);

  CommandResult by_cert = Acme({"revoke", "rev.acme.test", "--cert", P("d1/cert.pem")});
  ASSERT_EQ(by_cert.exit_code, 0) << by_cert.err;
  // openssl prints whole bytes; the API's serials have no leading zeros.
  std::string serial = absl::AsciiStrToLower(
      absl::StripPrefix(absl::StripAsciiWhitespace(
                            Openssl({"x509", "-in", P("d1/cert.pem"), "-noout", "-serial"}).out),
                        "serial="));
  serial.erase(0, serial.find_first_not_of('0'));
  EXPECT_NE(by_cert.out.find(serial), std::string::npos) << by_cert.out << serial;
  EXPECT_NE(by_cert.out.find("CN=Rev CA"), std::string::npos);

  CommandResult by_serial =
      Acme({"revoke", "rev.acme.test", "--serial", "0A:0B", "--issuer", ca + "/ca.pem", "--json"});
  ASSERT_EQ(by_serial.exit_code, 0) << by_serial.err;
  auto revoked = ParseJson<v1::RevokeResponse>(by_serial.out);
  EXPECT_EQ(revoked.revocation().serial_hex(), "a0b");
  CommandResult any_issuer = Acme({"revoke", "rev.acme.test", "--serial", "0x1f"});
  ASSERT_EQ(any_issuer.exit_code, 0) << any_issuer.err;
  EXPECT_NE(any_issuer.out.find("any issuer"), std::string::npos) << any_issuer.out;

  CommandResult list = Acme({"revoke", "list", "rev.acme.test"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StartsWith(list.out, "ID")) << list.out;
  EXPECT_NE(list.out.find("a0b"), std::string::npos);
  EXPECT_NE(list.out.find("(any)"), std::string::npos);
  auto listed = ParseJson<v1::ListRevocationsResponse>(
      Acme({"revoke", "list", "rev.acme.test", "--json"}).out);
  EXPECT_EQ(listed.revocations_size(), 3);

  uint64_t version = Version();
  ExpectRefused(Acme({"revoke", "rev.acme.test", "--serial", "zz"}), 2, "zz");
  ExpectRefused(Acme({"revoke", "rev.acme.test", "--serial", "1", "--cert", P("d1/cert.pem")}), 2,
                "exactly one");
  ExpectRefused(Acme({"revoke", "rev.acme.test"}), 2, "exactly one");
  ExpectRefused(Acme({"revoke", "--serial", "1"}), 2, "HOST");
  ExpectRefused(Acme({"revoke", "rev.acme.test", "--cert", P("gone.pem")}), 2, "gone.pem");
  ExpectRefused(Acme({"revoke", "unknown.acme.test", "--serial", "1"}), 1, "not found");
  ExpectRefused(Rival({"revoke", "list", "rev.acme.test"}), 1, "not found");
  ExpectRefused(Acme({"revoke", "remove", "rev.acme.test", "no-such-id"}), 1, "no-such-id");
  EXPECT_EQ(Version(), version);

  CommandResult remove = Acme({"revoke", "remove", "rev.acme.test", revoked.revocation().id()});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("Removed revocation"), std::string::npos);
  CommandResult remove_json =
      Acme({"revoke", "remove", "rev.acme.test", listed.revocations(0).id(), "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  EXPECT_EQ(ShowZone("rev.acme.test").revocations_size(), 1);
}

TEST_F(CliControlTest, CrlsInBothFormsAndRefusals) {
  CreateZone("crl.acme.test");
  std::string ca = MakeCa("Crl");
  ASSERT_EQ(Acme({"root", "add", "crl.acme.test", ca + "/ca.pem"}).exit_code, 0);
  ASSERT_EQ(cli_.Run({"pki", "crl", "--ca", ca, "--revoke", "1234", "abcd", "--out", P("a.crl")})
                .exit_code,
            0);
  CommandResult add = Acme({"crl", "add", "crl.acme.test", P("a.crl")});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("CN=Crl CA"), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("Revoked:"), std::string::npos);
  std::string list = Acme({"revoke", "list", "crl.acme.test"}).out;
  EXPECT_NE(list.find("CRL ID"), std::string::npos) << list;
  EXPECT_NE(list.find("abcd"), std::string::npos) << list;

  std::string other = MakeCa("Stranger");
  ASSERT_EQ(cli_.Run({"pki", "crl", "--ca", other, "--revoke", "1", "--out", P("stranger.crl")})
                .exit_code,
            0);
  WriteFile(P("junk.crl"), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  uint64_t version = Version();
  ExpectRefused(Acme({"crl", "add", "crl.acme.test", P("stranger.crl")}), 1, "");
  ExpectRefused(Acme({"crl", "add", "crl.acme.test", P("junk.crl")}), 2, "junk.crl");
  ExpectRefused(Acme({"crl", "add", "crl.acme.test", P("none.crl")}), 2, "none.crl");
  ExpectRefused(Rival({"crl", "add", "crl.acme.test", P("a.crl")}), 1, "not found");
  ExpectRefused(Acme({"crl", "remove", "crl.acme.test", "ffffffffffffffff"}), 1, "not found");
  EXPECT_EQ(Version(), version);

  auto listed = ParseJson<v1::ListRevocationsResponse>(
      Acme({"revoke", "list", "crl.acme.test", "--json"}).out);
  ASSERT_EQ(listed.crls_size(), 1);
  EXPECT_EQ(listed.crls(0).revoked_count(), 2);
  CommandResult remove = Acme({"crl", "remove", "crl.acme.test", listed.crls(0).id()});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("Removed CRL"), std::string::npos);

  CommandResult add_json = Acme({"crl", "add", "crl.acme.test", P("a.crl"), "--json"});
  ASSERT_EQ(add_json.exit_code, 0) << add_json.err;
  auto added = ParseJson<v1::AddCrlResponse>(add_json.out);
  EXPECT_EQ(added.crl().issuer(), "CN=Crl CA");
  CommandResult remove_json = Acme({"crl", "remove", "crl.acme.test", added.crl().id(), "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  EXPECT_EQ(ShowZone("crl.acme.test").crls_size(), 0);
}

TEST_F(CliControlTest, StatusInBothFormsAndRefusals) {
  CreateZone("status.acme.test");
  CommandResult status = Acme({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(absl::StartsWith(status.out, "Config version ")) << status.out;
  auto json = ParseJson<v1::StatusResponse>(Acme({"status", "--json"}).out);
  EXPECT_NE(status.out.find(absl::StrCat("Config version ", json.config_version())),
            std::string::npos);

  CommandResult zone = Acme({"status", "status.acme.test"});
  ASSERT_EQ(zone.exit_code, 0) << zone.err;
  EXPECT_NE(zone.out.find("Requests to status.acme.test"), std::string::npos) << zone.out;
  EXPECT_NE(zone.out.find("invalid"), std::string::npos);
  auto zone_json =
      ParseJson<v1::StatusResponse>(Acme({"status", "status.acme.test", "--json"}).out);
  EXPECT_EQ(zone_json.traffic().hostname(), "status.acme.test");

  // The admin token has no zones; it gets the fleet's status.
  CommandResult admin = Admin({"status"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  EXPECT_TRUE(absl::StartsWith(admin.out, "Config version ")) << admin.out;

  ExpectRefused(Acme({"status", "nostatus.acme.test"}), 1, "not found");
  ExpectRefused(Rival({"status", "status.acme.test"}), 1, "not found");
}

TEST_F(CliControlTest, AdminCommandsInBothFormsAndRefusals) {
  CommandResult create = Admin({"admin", "tenant", "create", "globex"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_NE(create.out.find("Token:"), std::string::npos);
  EXPECT_NE(create.out.find("cgt_"), std::string::npos) << create.out;
  EXPECT_NE(create.out.find("shown only this once"), std::string::npos);

  CommandResult create_json = Admin({"admin", "tenant", "create", "initech", "--json"});
  ASSERT_EQ(create_json.exit_code, 0) << create_json.err;
  auto initech = ParseJson<v1::CreateTenantResponse>(create_json.out);
  EXPECT_EQ(initech.tenant().name(), "initech");
  EXPECT_EQ(As(initech.token(), {"zone", "list"}).exit_code, 0);

  CommandResult list = Admin({"admin", "tenant", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(absl::StartsWith(list.out, "ID")) << list.out;
  EXPECT_NE(list.out.find("globex"), std::string::npos);
  auto tenants =
      ParseJson<v1::ListTenantsResponse>(Admin({"admin", "tenant", "list", "--json"}).out);
  EXPECT_GE(tenants.tenants_size(), 4);

  CommandResult token = Admin({"admin", "token", "create", "initech"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_NE(token.out.find("cgt_"), std::string::npos);
  auto token_json = ParseJson<v1::CreateTenantTokenResponse>(
      Admin({"admin", "token", "create", "initech", "--json"}).out);
  EXPECT_EQ(As(token_json.token(), {"zone", "list"}).exit_code, 0);
  CommandResult revoke = Admin({"admin", "token", "revoke", token_json.token_id()});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_NE(revoke.out.find("Revoked token"), std::string::npos);
  ExpectRefused(As(token_json.token(), {"zone", "list"}), 1, "");
  CommandResult revoke_json = Admin({"admin", "token", "revoke", initech.token_id(), "--json"});
  ASSERT_EQ(revoke_json.exit_code, 0) << revoke_json.err;

  ExpectRefused(Admin({"admin", "tenant", "create", "globex"}), 1, "globex");
  ExpectRefused(Admin({"admin", "tenant", "create", "bad name!"}), 1, "");
  ExpectRefused(Acme({"admin", "tenant", "list"}), 1, "");
  ExpectRefused(Admin({"admin", "tenant", "delete", "nobody"}), 1, "nobody");
  ExpectRefused(Admin({"admin", "token", "revoke", "no-such-token"}), 1, "no-such-token");

  CommandResult remove = Admin({"admin", "tenant", "delete", "globex"});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_NE(remove.out.find("Deleted tenant globex"), std::string::npos);
  CommandResult remove_json = Admin({"admin", "tenant", "delete", "initech", "--json"});
  ASSERT_EQ(remove_json.exit_code, 0) << remove_json.err;
  auto after = ParseJson<v1::ListTenantsResponse>(Admin({"admin", "tenant", "list", "--json"}).out);
  for (const auto& tenant : after.tenants()) {
    EXPECT_NE(tenant.name(), "globex");
    EXPECT_NE(tenant.name(), "initech");
  }
}

// Origins outside the control plane's policy are refused at zone create and
// zone set with one line naming the address and why.
TEST_F(CliControlTest, OriginPolicyRefusalsNameTheAddress) {
  uint64_t version = Version();
  ExpectRefused(Acme({"zone", "create", "meta.acme.test", "--origin", "http://169.254.169.254"}), 1,
                "origin address 169.254.169.254 is link-local");
  ExpectRefused(Acme({"zone", "create", "meta.acme.test", "--origin", "http://[fe80::1]:80"}), 1,
                "origin address fe80::1 is link-local");
  ExpectRefused(Acme({"zone", "create", "meta.acme.test", "--origin", "http://10.0.0.1"}), 1,
                "origin address 10.0.0.1 is private; no --origin-allow range covers it");
  CreateZone("origin.acme.test");
  ExpectRefused(
      Acme({"zone", "set", "origin.acme.test", "--origin", "http://[::ffff:169.254.169.254]"}), 1,
      "(IPv4 169.254.169.254) is link-local");
  ExpectRefused(Acme({"zone", "set", "origin.acme.test", "--origin", "http://0.0.0.0:1"}), 1,
                "0.0.0.0 is unspecified");
  EXPECT_EQ(ShowZone("origin.acme.test").origin(), "http://127.0.0.1:8080");
  EXPECT_EQ(Version(), version + 1);
}

// Quotas: each limit refused with RESOURCE_EXHAUSTED naming the limit and its
// value; an admin raises it and the call succeeds; a tenant cannot change its
// own quota; one tenant at its quota does not hold back another.
TEST_F(CliControlTest, ZoneQuotaPerTenantSetByAdmin) {
  std::string full = CreateTenant("quota-zones");
  std::string other = CreateTenant("quota-zones-other");
  CommandResult set = Admin({"admin", "tenant", "set", "quota-zones", "--max-zones", "1"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("1 (set for this tenant)"), std::string::npos) << set.out;
  auto create = [&](const std::string& token, const std::string& host) {
    return As(token, {"zone", "create", host, "--origin", "http://127.0.0.1:8080"});
  };
  ASSERT_EQ(create(full, "qz1.quota.test").exit_code, 0);
  uint64_t version = Version();
  ExpectRefused(create(full, "qz2.quota.test"), 1,
                "the tenant's zone count would be 2; max-zones allows at most 1");
  EXPECT_EQ(Version(), version);
  // The other tenant has the default quota and is not affected.
  ASSERT_EQ(create(other, "qo1.quota.test").exit_code, 0);
  ASSERT_EQ(create(other, "qo2.quota.test").exit_code, 0);

  // A tenant token cannot call the admin rpc, not even for itself.
  ExpectRefused(As(full, {"admin", "tenant", "set", "quota-zones", "--max-zones", "100"}), 1, "");
  ExpectRefused(create(full, "qz2.quota.test"), 1, "max-zones allows at most 1");

  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-zones", "--max-zones", "2"}).exit_code, 0);
  CommandResult created = create(full, "qz2.quota.test");
  EXPECT_EQ(created.exit_code, 0) << created.err;
  ExpectRefused(create(full, "qz3.quota.test"), 1, "max-zones allows at most 2");

  CommandResult show = Admin({"admin", "tenant", "show", "quota-zones"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("2 of 2 (set for this tenant)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("1000 (default)"), std::string::npos) << show.out;
  auto shown =
      ParseJson<v1::Tenant>(Admin({"admin", "tenant", "show", "quota-zones", "--json"}).out);
  EXPECT_EQ(shown.quota().max_zones(), 2);
  EXPECT_TRUE(shown.quota_overrides().has_max_zones());
  EXPECT_FALSE(shown.quota_overrides().has_max_cas_per_zone());
  EXPECT_EQ(shown.usage().zones(), 2);
  EXPECT_GT(shown.usage().config_bytes(), 0);

  // Back to the default (1000 zones).
  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-zones", "--max-zones", "default"}).exit_code,
            0);
  auto reset =
      ParseJson<v1::Tenant>(Admin({"admin", "tenant", "show", "quota-zones", "--json"}).out);
  EXPECT_EQ(reset.quota().max_zones(), 1000);
  EXPECT_FALSE(reset.quota_overrides().has_max_zones());
  EXPECT_EQ(create(full, "qz3.quota.test").exit_code, 0);

  // Bad input: one line, nothing sent or changed.
  ExpectRefused(Admin({"admin", "tenant", "set", "quota-zones", "--max-zones", "-1"}), 2,
                "--max-zones \"-1\": expected a number (0 or more) or \"default\"");
  ExpectRefused(Admin({"admin", "tenant", "set", "quota-zones", "--max-zones", "many"}), 2,
                "--max-zones \"many\"");
  ExpectRefused(Admin({"admin", "tenant", "set", "quota-zones"}), 2, "give at least one of");
  ExpectRefused(Admin({"admin", "tenant", "set", "nobody", "--max-zones", "1"}), 1, "nobody");
  ExpectRefused(Admin({"admin", "tenant", "show", "nobody"}), 1, "nobody");
}

TEST_F(CliControlTest, CaQuotaCountsRootsAndIntermediates) {
  std::string token = CreateTenant("quota-cas");
  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-cas", "--max-cas-per-zone", "2"}).exit_code, 0);
  ASSERT_EQ(As(token, {"zone", "create", "cas.quota.test", "--origin", "http://127.0.0.1:8080"})
                .exit_code,
            0);
  std::string root = MakeCa("QuotaRoot");
  std::string second = MakeCa("QuotaRoot2");
  ASSERT_EQ(cli_.Run({"pki", "init-intermediate", "--ca", root, "--cn", "QuotaIssuing", "--out",
                      P("quota-issuing")})
                .exit_code,
            0);
  ASSERT_EQ(As(token, {"root", "add", "cas.quota.test", root + "/ca.pem"}).exit_code, 0);
  ASSERT_EQ(
      As(token, {"intermediate", "add", "cas.quota.test", P("quota-issuing/ca.pem")}).exit_code, 0);
  ExpectRefused(As(token, {"root", "add", "cas.quota.test", second + "/ca.pem"}), 1,
                "zone cas.quota.test's roots and intermediates would be 3; max-cas-per-zone "
                "allows at most 2");
  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-cas", "--max-cas-per-zone", "3"}).exit_code, 0);
  CommandResult added = As(token, {"root", "add", "cas.quota.test", second + "/ca.pem"});
  EXPECT_EQ(added.exit_code, 0) << added.err;
}

TEST_F(CliControlTest, RevocationQuotaPerZone) {
  std::string token = CreateTenant("quota-revocations");
  ASSERT_EQ(
      Admin({"admin", "tenant", "set", "quota-revocations", "--max-revocations-per-zone", "1"})
          .exit_code,
      0);
  ASSERT_EQ(As(token, {"zone", "create", "rev.quota.test", "--origin", "http://127.0.0.1:8080"})
                .exit_code,
            0);
  ASSERT_EQ(As(token, {"revoke", "rev.quota.test", "--serial", "01"}).exit_code, 0);
  ExpectRefused(As(token, {"revoke", "rev.quota.test", "--serial", "02"}), 1,
                "zone rev.quota.test's revocations would be 2; max-revocations-per-zone allows "
                "at most 1");
  // A CRL's entries count too.
  std::string ca = MakeCa("QuotaCrl");
  ASSERT_EQ(As(token, {"root", "add", "rev.quota.test", ca + "/ca.pem"}).exit_code, 0);
  ASSERT_EQ(
      cli_.Run({"pki", "crl", "--ca", ca, "--revoke", "0a", "--out", P("quota.crl")}).exit_code, 0);
  ExpectRefused(As(token, {"crl", "add", "rev.quota.test", P("quota.crl")}), 1,
                "max-revocations-per-zone allows at most 1");
  ASSERT_EQ(
      Admin({"admin", "tenant", "set", "quota-revocations", "--max-revocations-per-zone", "3"})
          .exit_code,
      0);
  CommandResult revoked = As(token, {"revoke", "rev.quota.test", "--serial", "02"});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
  CommandResult crl = As(token, {"crl", "add", "rev.quota.test", P("quota.crl")});
  EXPECT_EQ(crl.exit_code, 0) << crl.err;
}

TEST_F(CliControlTest, ConfigBytesQuotaCoversEveryZoneOfTheTenant) {
  std::string token = CreateTenant("quota-bytes");
  std::string other = CreateTenant("quota-bytes-other");
  ASSERT_EQ(
      As(token, {"zone", "create", "b1.quota.test", "--origin", "http://127.0.0.1:8080"}).exit_code,
      0);
  auto used = [&] {
    return ParseJson<v1::Tenant>(Admin({"admin", "tenant", "show", "quota-bytes", "--json"}).out)
        .usage()
        .config_bytes();
  };
  int64_t one_zone = used();
  ASSERT_GT(one_zone, 500);  // settings, edge-CA certificate and key
  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-bytes", "--max-config-bytes",
                   absl::StrCat(one_zone + 200)})
                .exit_code,
            0);
  std::string body = absl::StrCat("{\"error\":\"", std::string(1000, 'x'), "\"}");
  WriteFile(P("big.json"), body);
  ExpectRefused(As(token, {"error-page", "set", "b1.quota.test", "--content-type",
                           "application/json", "--file", P("big.json")}),
                1, absl::StrCat("max-config-bytes allows at most ", one_zone + 200));
  ExpectRefused(As(token, {"zone", "create", "b2.quota.test", "--origin", "http://127.0.0.1:8080"}),
                1, absl::StrCat("max-config-bytes allows at most ", one_zone + 200));
  EXPECT_EQ(used(), one_zone);
  // Another tenant's zones do not count against it, nor it against them.
  ASSERT_EQ(
      As(other, {"zone", "create", "o1.quota.test", "--origin", "http://127.0.0.1:8080"}).exit_code,
      0);

  ASSERT_EQ(Admin({"admin", "tenant", "set", "quota-bytes", "--max-config-bytes",
                   absl::StrCat(one_zone * 3 + 2000)})
                .exit_code,
            0);
  CommandResult set = As(token, {"error-page", "set", "b1.quota.test", "--content-type",
                                 "application/json", "--file", P("big.json")});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  CommandResult created =
      As(token, {"zone", "create", "b2.quota.test", "--origin", "http://127.0.0.1:8080"});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_GT(used(), one_zone + 1000);
}

// TLS to the control plane: verified against --ca (saved by login), refused
// without a CA that vouches for the server, and plaintext refused by a TLS
// server.
TEST(CliControlTlsTest, LoginVerifiesTheControlPlaneAgainstTheCaFile) {
  std::string dir = MakeTempDir("cli-tls");
  CliRunner cli(MakeTempDir("cli-tls-home"));
  // The control plane's certificate comes from the CLI's own PKI.
  ASSERT_EQ(cli.Run({"pki", "init-ca", "--cn", "Control CA", "--out", dir + "/ca"}).exit_code, 0);
  CommandResult issued =
      cli.Run({"pki", "issue", "--ca", dir + "/ca", "--cn", "control", "--out", dir + "/cp",
               "--server-auth", "--san-ip", "127.0.0.1", "--san-dns", "localhost"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  CommandResult purpose = Openssl(
      {"verify", "-purpose", "sslserver", "-CAfile", dir + "/ca/ca.pem", dir + "/cp/cert.pem"});
  EXPECT_EQ(purpose.exit_code, 0) << purpose.out << purpose.err;
  std::string address = absl::StrCat("127.0.0.1:", FreePort());
  auto server = Subprocess::Start(
      {BinPath("certgate-control"), "--db", dir + "/certgate.db", "--listen", address,
       "--admin-token-file", dir + "/admin.token", "--edge-token-file", dir + "/edge.token",
       "--tls-cert", dir + "/cp/cert.pem", "--tls-key", dir + "/cp/key.pem", "--origin-allow",
       "127.0.0.0/8", "--verify-hostnames", "off"},
      dir + "/control.log");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains((*server)->ReadLog(), "listening on"); },
                      absl::Seconds(20)))
      << (*server)->ReadLog();
  std::string admin_token(absl::StripAsciiWhitespace(ReadFile(dir + "/admin.token")));

  CommandResult login =
      cli.Run({"login", "--server", address, "--token", admin_token, "--ca", dir + "/ca/ca.pem"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(ReadFile(cli.home() + "/.config/certgate/config.json").find(dir + "/ca/ca.pem"),
            std::string::npos);
  // The saved CA is used: no flags needed.
  CommandResult list = cli.Run({"admin", "tenant", "list", "--json"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  CommandResult created = cli.Run({"admin", "tenant", "create", "tls-tenant", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string token = ParseJson<v1::CreateTenantResponse>(created.out).token();
  CommandResult env_ca = cli.Run({"zone", "list"}, {{"CERTGATE_SERVER", address},
                                                    {"CERTGATE_TOKEN", token},
                                                    {"CERTGATE_CA", dir + "/ca/ca.pem"}});
  EXPECT_EQ(env_ca.exit_code, 0) << env_ca.err;

  // Another CA does not vouch for this server; plaintext finds no plaintext
  // server. Both are refusals on one line, and the saved login is kept.
  ASSERT_EQ(Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", dir + "/other.key", "-subj", "/CN=other", "-days", "30",
                     "-out", dir + "/other.pem"})
                .exit_code,
            0);
  std::string saved = ReadFile(cli.home() + "/.config/certgate/config.json");
  CommandResult wrong_ca =
      cli.Run({"login", "--server", address, "--token", admin_token, "--ca", dir + "/other.pem"});
  EXPECT_EQ(wrong_ca.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(wrong_ca.err)) << wrong_ca.err;
  CommandResult plaintext = cli.Run({"admin", "tenant", "list", "--server", address, "--insecure"});
  EXPECT_EQ(plaintext.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(plaintext.err)) << plaintext.err;
  EXPECT_EQ(ReadFile(cli.home() + "/.config/certgate/config.json"), saved);
}

}  // namespace
}  // namespace certgate::testing
