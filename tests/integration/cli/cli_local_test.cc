// The CLI without a server: the local PKI checked by openssl, --help on every
// command, and refusals of bad local input.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/cli/cli_runner.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return -1;
  }
  return st.st_mode & 0777;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Field returns the value of a "Name:  value" line of the human output.
std::string Field(const std::string& out, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, name + ":")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    }
  }
  return "";
}

CommandResult Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

// OpensslSerial: the serial as openssl reads it, lowercase and without the
// leading zeros openssl prints to fill whole bytes.
std::string OpensslSerial(const std::string& cert_path) {
  std::string text = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(Openssl({"x509", "-in", cert_path, "-noout", "-serial"}).out));
  if (!absl::StartsWith(text, "serial=")) {
    return "";
  }
  text.erase(0, 7);
  text.erase(0, text.find_first_not_of('0'));
  return text;
}

class CliLocalTest : public ::testing::Test {
 protected:
  CliLocalTest() : dir_(MakeTempDir("cli-local")), cli_(dir_) {}

  // MakeCa runs `pki init-ca` and checks it worked.
  void MakeCa(const std::string& out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"pki", "init-ca", "--cn", "Acme Devices CA", "--out", out};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult result = cli_.Run(args);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  std::string P(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
  CliRunner cli_;
};

TEST_F(CliLocalTest, InitCaAndIssueAreAcceptedByOpensslVerify) {
  CommandResult ca = cli_.Run({"pki", "init-ca", "--cn", "Acme Devices CA", "--out", P("ca")});
  ASSERT_EQ(ca.exit_code, 0) << ca.err;
  EXPECT_EQ(Field(ca.out, "Subject"), "CN=Acme Devices CA");
  EXPECT_EQ(FileMode(P("ca/ca.key")), 0600);
  EXPECT_FALSE(Exists(P("ca/chain.pem")));

  CommandResult issue =
      cli_.Run({"pki", "issue", "--ca", P("ca"), "--cn", "device-123", "--out", P("dev"),
                "--san-uri", "spiffe://acme/device-123", "--san-dns", "device-123.acme.test",
                "--san-email", "ops@acme.test", "--san-ip", "10.1.2.3", "--days", "30"});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  EXPECT_EQ(Field(issue.out, "Subject"), "CN=device-123");
  EXPECT_EQ(FileMode(P("dev/key.pem")), 0600);
  EXPECT_TRUE(absl::EndsWith(Field(issue.out, "Not after"), "UTC")) << issue.out;

  CommandResult verify = Openssl({"verify", "-CAfile", P("ca/ca.pem"), P("dev/cert.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find(": OK"), std::string::npos);

  // What openssl reads matches what the CLI printed, and the certificate has
  // every promised extension.
  CommandResult text = Openssl({"x509", "-in", P("dev/cert.pem"), "-noout", "-text"});
  ASSERT_EQ(text.exit_code, 0);
  std::string serial = Field(issue.out, "Serial");
  EXPECT_GE(serial.size(), 16u) << "serial of at least 64 bits";
  EXPECT_EQ(OpensslSerial(P("dev/cert.pem")), serial);
  EXPECT_NE(text.out.find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_NE(text.out.find("X509v3 Subject Key Identifier"), std::string::npos);
  EXPECT_NE(text.out.find("X509v3 Authority Key Identifier"), std::string::npos);
  EXPECT_NE(text.out.find("URI:spiffe://acme/device-123"), std::string::npos);
  EXPECT_NE(text.out.find("DNS:device-123.acme.test"), std::string::npos);
  EXPECT_NE(text.out.find("email:ops@acme.test"), std::string::npos);
  EXPECT_NE(text.out.find("IP Address:10.1.2.3"), std::string::npos);
  std::string ski = Field(issue.out, "SKI");
  ASSERT_FALSE(ski.empty());
  std::string colon_ski;
  for (size_t i = 0; i < ski.size(); i += 2) {
    absl::StrAppend(&colon_ski, i == 0 ? "" : ":", absl::AsciiStrToUpper(ski.substr(i, 2)));
  }
  EXPECT_NE(text.out.find(colon_ski), std::string::npos) << colon_ski;

  // A root CA's chain.pem is the leaf alone; the key matches the certificate.
  EXPECT_EQ(ReadFile(P("dev/chain.pem")), ReadFile(P("dev/cert.pem")));
  CommandResult cert_key = Openssl({"x509", "-in", P("dev/cert.pem"), "-noout", "-pubkey"});
  CommandResult key_key = Openssl({"pkey", "-in", P("dev/key.pem"), "-pubout"});
  EXPECT_EQ(cert_key.out, key_key.out);
}

TEST_F(CliLocalTest, ThroughAnIntermediateWithUntrustedChain) {
  MakeCa(P("root"), {"--path-len", "1", "--key", "ec-p384"});
  CommandResult inter = cli_.Run({"pki", "init-intermediate", "--ca", P("root"), "--cn",
                                  "Acme Issuing CA", "--out", P("inter")});
  ASSERT_EQ(inter.exit_code, 0) << inter.err;
  EXPECT_EQ(FileMode(P("inter/ca.key")), 0600);
  EXPECT_EQ(ReadFile(P("inter/chain.pem")), ReadFile(P("inter/ca.pem")));

  CommandResult issue = cli_.Run({"pki", "issue", "--ca", P("inter"), "--cn", "device-9", "--out",
                                  P("dev"), "--key", "rsa-2048"});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  std::string chain = ReadFile(P("dev/chain.pem"));
  EXPECT_EQ(chain, ReadFile(P("dev/cert.pem")) + ReadFile(P("inter/ca.pem")));

  CommandResult verify = Openssl(
      {"verify", "-CAfile", P("root/ca.pem"), "-untrusted", P("dev/chain.pem"), P("dev/cert.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // Without the intermediate there is no path: the chain really goes through it.
  CommandResult no_path = Openssl({"verify", "-CAfile", P("root/ca.pem"), P("dev/cert.pem")});
  EXPECT_NE(no_path.exit_code, 0);

  // The intermediate has path length 0 by default: it cannot sign another.
  CommandResult deeper = cli_.Run(
      {"pki", "init-intermediate", "--ca", P("inter"), "--cn", "Too Deep", "--out", P("deep")});
  EXPECT_EQ(deeper.exit_code, 2);
  EXPECT_TRUE(IsOneErrorLine(deeper.err)) << deeper.err;
  EXPECT_NE(deeper.err.find("path length 0"), std::string::npos) << deeper.err;
  EXPECT_FALSE(Exists(P("deep")));
}

TEST_F(CliLocalTest, TwoIntermediatesDeepChainVerifies) {
  MakeCa(P("root"), {"--key", "rsa-3072", "--days", "100"});
  ASSERT_EQ(cli_.Run({"pki", "init-intermediate", "--ca", P("root"), "--cn", "Mid", "--out",
                      P("mid"), "--path-len", "1"})
                .exit_code,
            0);
  ASSERT_EQ(
      cli_.Run({"pki", "init-intermediate", "--ca", P("mid"), "--cn", "Low", "--out", P("low")})
          .exit_code,
      0);
  EXPECT_EQ(ReadFile(P("low/chain.pem")), ReadFile(P("low/ca.pem")) + ReadFile(P("mid/ca.pem")));
  ASSERT_EQ(
      cli_.Run({"pki", "issue", "--ca", P("low"), "--cn", "leaf", "--out", P("leaf")}).exit_code,
      0);
  CommandResult verify = Openssl({"verify", "-CAfile", P("root/ca.pem"), "-untrusted",
                                  P("leaf/chain.pem"), P("leaf/cert.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(CliLocalTest, JsonOutputOfIssue) {
  MakeCa(P("ca"));
  CommandResult issue =
      cli_.Run({"pki", "issue", "--ca", P("ca"), "--cn", "dev-json", "--out", P("dev"), "--json"});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(issue.out, &json).ok()) << issue.out;
  const auto& fields = json.fields();
  EXPECT_EQ(fields.at("subject").string_value(), "CN=dev-json");
  EXPECT_EQ(fields.at("issuer").string_value(), "CN=Acme Devices CA");
  EXPECT_GE(fields.at("serial").string_value().size(), 16u);
  EXPECT_EQ(fields.at("ski").string_value().size(), 40u);
  EXPECT_FALSE(fields.at("aki").string_value().empty());
  EXPECT_TRUE(absl::EndsWith(fields.at("notAfter").string_value(), "Z"));
  EXPECT_EQ(fields.at("files").list_value().values_size(), 3);

  EXPECT_EQ(OpensslSerial(P("dev/cert.pem")), fields.at("serial").string_value());
}

TEST_F(CliLocalTest, CrlIsAcceptedByOpensslCrlVerify) {
  MakeCa(P("ca"));
  ASSERT_EQ(
      cli_.Run({"pki", "issue", "--ca", P("ca"), "--cn", "lost", "--out", P("lost")}).exit_code, 0);
  std::string serial =
      Field(cli_.Run({"pki", "issue", "--ca", P("ca"), "--cn", "stolen", "--out", P("stolen")}).out,
            "Serial");
  ASSERT_FALSE(serial.empty());
  CommandResult crl = cli_.Run({"pki", "crl", "--ca", P("ca"), "--revoke", serial, "0x0A:0B",
                                "--out", P("ca.crl"), "--days", "7"});
  ASSERT_EQ(crl.exit_code, 0) << crl.err;
  EXPECT_EQ(Field(crl.out, "Issuer"), "CN=Acme Devices CA");

  CommandResult verify =
      Openssl({"crl", "-in", P("ca.crl"), "-CAfile", P("ca/ca.pem"), "-verify", "-noout"});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE((verify.out + verify.err).find("verify OK"), std::string::npos);
  CommandResult text = Openssl({"crl", "-in", P("ca.crl"), "-noout", "-text"});
  EXPECT_NE(text.out.find(absl::AsciiStrToUpper(serial)), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("0A0B"), std::string::npos) << text.out;

  // openssl verify with the CRL in force refuses the revoked certificate
  // and accepts the other one.
  CommandResult revoked = Openssl({"verify", "-crl_check", "-CAfile", P("ca/ca.pem"), "-CRLfile",
                                   P("ca.crl"), P("stolen/cert.pem")});
  EXPECT_NE(revoked.exit_code, 0);
  EXPECT_NE((revoked.out + revoked.err).find("revoked"), std::string::npos);
  CommandResult fine = Openssl({"verify", "-crl_check", "-CAfile", P("ca/ca.pem"), "-CRLfile",
                                P("ca.crl"), P("lost/cert.pem")});
  EXPECT_EQ(fine.exit_code, 0) << fine.out << fine.err;

  CommandResult json =
      cli_.Run({"pki", "crl", "--ca", P("ca"), "--revoke", "1f", "--out", P("two.crl"), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok()) << json.out;
  EXPECT_EQ(parsed.fields().at("revokedSerials").list_value().values(0).string_value(), "1f");
}

TEST_F(CliLocalTest, SignCsrFromOpensslReqVerifiesAndKeepsTheDeviceKey) {
  MakeCa(P("root"), {"--path-len", "1"});
  ASSERT_EQ(cli_.Run({"pki", "init-intermediate", "--ca", P("root"), "--cn", "Issuing", "--out",
                      P("inter")})
                .exit_code,
            0);
  CommandResult req = Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt",
                               "ec_paramgen_curve:P-256", "-nodes", "-keyout", P("device.key"),
                               "-subj", "/O=Acme/CN=device-csr", "-out", P("device.csr")});
  ASSERT_EQ(req.exit_code, 0) << req.err;

  CommandResult sign = cli_.Run({"pki", "sign-csr", "--ca", P("inter"), "--csr", P("device.csr"),
                                 "--out", P("signed"), "--san-uri", "spiffe://acme/csr"});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  EXPECT_NE(Field(sign.out, "Subject").find("CN=device-csr"), std::string::npos) << sign.out;
  EXPECT_FALSE(Exists(P("signed/key.pem")));

  CommandResult verify = Openssl({"verify", "-CAfile", P("root/ca.pem"), "-untrusted",
                                  P("signed/chain.pem"), P("signed/cert.pem")});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // The certificate carries the device's own public key (usable with
  // `curl --cert signed/chain.pem --key device.key`).
  CommandResult cert_key = Openssl({"x509", "-in", P("signed/cert.pem"), "-noout", "-pubkey"});
  CommandResult key_key = Openssl({"pkey", "-in", P("device.key"), "-pubout"});
  EXPECT_EQ(cert_key.out, key_key.out);
  CommandResult text = Openssl({"x509", "-in", P("signed/cert.pem"), "-noout", "-text"});
  EXPECT_NE(text.out.find("TLS Web Client Authentication"), std::string::npos);
  EXPECT_NE(text.out.find("URI:spiffe://acme/csr"), std::string::npos);

  // A CSR that is not one is refused, and nothing is written.
  WriteFile(P("bad.csr"),
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
            "REQUEST-----\n");
  CommandResult bad =
      cli_.Run({"pki", "sign-csr", "--ca", P("inter"), "--csr", P("bad.csr"), "--out", P("bad")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(IsOneErrorLine(bad.err)) << bad.err;
  EXPECT_NE(bad.err.find("bad.csr"), std::string::npos) << bad.err;
  EXPECT_FALSE(Exists(P("bad/cert.pem")));
}

// What sign-csr writes works with curl: chain.pem as --cert (leaf and
// intermediate) with the device's own key, against a server that trusts only
// the root and requires a client certificate.
TEST_F(CliLocalTest, SignCsrOutputWorksWithCurlCertAndKey) {
  MakeCa(P("root"), {"--path-len", "1"});
  ASSERT_EQ(cli_.Run({"pki", "init-intermediate", "--ca", P("root"), "--cn", "Issuing", "--out",
                      P("inter")})
                .exit_code,
            0);
  ASSERT_EQ(Openssl({"req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", P("device.key"),
                     "-subj", "/CN=curl-device", "-out", P("device.csr")})
                .exit_code,
            0);
  ASSERT_EQ(cli_.Run({"pki", "sign-csr", "--ca", P("inter"), "--csr", P("device.csr"), "--out",
                      P("signed")})
                .exit_code,
            0);
  ASSERT_EQ(Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", P("server.key"), "-subj", "/CN=localhost", "-days", "2",
                     "-addext", "subjectAltName=DNS:localhost", "-out", P("server.pem")})
                .exit_code,
            0);
  int port = FreePort();
  auto server =
      Subprocess::Start({"openssl", "s_server", "-accept", absl::StrCat("127.0.0.1:", port),
                         "-cert", P("server.pem"), "-key", P("server.key"), "-CAfile",
                         P("root/ca.pem"), "-Verify", "3", "-verify_return_error", "-www"},
                        P("s_server.log"));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(WaitForPort(port)) << (*server)->ReadLog();

  std::string url = absl::StrCat("https://localhost:", port, "/");
  std::string resolve = absl::StrCat("localhost:", port, ":127.0.0.1");
  CommandResult curl =
      RunCommand({"curl", "-sS", "--max-time", "20", "--cacert", P("server.pem"), "--resolve",
                  resolve, "--cert", P("signed/chain.pem"), "--key", P("device.key"), url},
                 "", {}, absl::Seconds(30));
  EXPECT_EQ(curl.exit_code, 0) << curl.err << (*server)->ReadLog();
  EXPECT_NE(curl.out.find("Subject: CN=curl-device"), std::string::npos) << curl.out;

  // cert.pem alone lacks the intermediate this server does not have.
  CommandResult leaf_only =
      RunCommand({"curl", "-sS", "--max-time", "20", "--cacert", P("server.pem"), "--resolve",
                  resolve, "--cert", P("signed/cert.pem"), "--key", P("device.key"), url},
                 "", {}, absl::Seconds(30));
  EXPECT_NE(leaf_only.exit_code, 0) << leaf_only.out;
}

TEST_F(CliLocalTest, PkiRefusesBadLocalInputWithOneLineAndWritesNothing) {
  MakeCa(P("ca"));
  std::string ca_pem = ReadFile(P("ca/ca.pem"));
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"pki", "issue", "--ca", P("missing"), "--cn", "x", "--out", P("o1")}, "missing"},
      {{"pki", "issue", "--ca", P("ca"), "--cn", "x", "--out", P("o2"), "--key", "dsa-1024"},
       "unknown key type \"dsa-1024\""},
      {{"pki", "issue", "--ca", P("ca"), "--cn", "x", "--out", P("o3"), "--days", "0"},
       "--days must be a positive"},
      {{"pki", "init-ca", "--cn", "again", "--out", P("ca")}, "already exists"},
      {{"pki", "crl", "--ca", P("ca"), "--revoke", "xyz", "--out", P("o4.crl")}, "xyz"},
      {{"pki", "sign-csr", "--ca", P("ca"), "--csr", P("none.csr"), "--out", P("o5")}, "none.csr"},
      {{"pki", "init-ca", "--cn", "x", "--out", P("o6"), "--path-len", "-5"}, "--path-len"},
      {{"pki", "issue", "--cn", "x", "--out", P("o7")}, "--ca"},
  };
  for (const auto& c : cases) {
    CommandResult result = cli_.Run(c.args);
    EXPECT_EQ(result.exit_code, 2) << c.args[1] << " " << c.message << ": " << result.err;
    EXPECT_TRUE(IsOneErrorLine(result.err)) << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
  }
  for (const char* name : {"o1", "o2", "o3", "o4.crl", "o5", "o6", "o7"}) {
    EXPECT_FALSE(Exists(P(name))) << name;
  }
  EXPECT_EQ(ReadFile(P("ca/ca.pem")), ca_pem);

  // A directory whose key is not its certificate's is not a CA directory.
  MakeCa(P("other"));
  WriteFile(P("ca/ca.key"), ReadFile(P("other/ca.key")), 0600);
  CommandResult mismatch =
      cli_.Run({"pki", "issue", "--ca", P("ca"), "--cn", "x", "--out", P("o8")});
  EXPECT_EQ(mismatch.exit_code, 2);
  EXPECT_NE(mismatch.err.find("is not the key of"), std::string::npos) << mismatch.err;
}

TEST_F(CliLocalTest, HelpOnEveryCommandAndSubcommand) {
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"login"},
      {"zone"},
      {"zone", "create"},
      {"zone", "list"},
      {"zone", "show"},
      {"zone", "delete"},
      {"zone", "set"},
      {"root"},
      {"root", "add"},
      {"root", "list"},
      {"root", "remove"},
      {"intermediate"},
      {"intermediate", "add"},
      {"intermediate", "list"},
      {"intermediate", "remove"},
      {"cert"},
      {"cert", "set"},
      {"cert", "reset"},
      {"cert", "show"},
      {"cert", "edge-ca"},
      {"mode"},
      {"mode", "set"},
      {"error-page"},
      {"error-page", "set"},
      {"error-page", "show"},
      {"header"},
      {"header", "set"},
      {"header", "list"},
      {"header", "remove"},
      {"header", "names"},
      {"revoke"},
      {"revoke", "list"},
      {"revoke", "remove"},
      {"crl"},
      {"crl", "add"},
      {"crl", "remove"},
      {"status"},
      {"admin"},
      {"admin", "tenant"},
      {"admin", "tenant", "create"},
      {"admin", "tenant", "list"},
      {"admin", "tenant", "delete"},
      {"admin", "token"},
      {"admin", "token", "create"},
      {"admin", "token", "revoke"},
      {"pki"},
      {"pki", "init-ca"},
      {"pki", "init-intermediate"},
      {"pki", "issue"},
      {"pki", "sign-csr"},
      {"pki", "crl"},
  };
  for (const auto& command : commands) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    CommandResult result = cli_.Run(args);
    std::string name = absl::StrJoin(command, " ");
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.err;
    EXPECT_NE(result.out.find("Usage:"), std::string::npos) << name;
    // Leaf commands offer --json.
    bool is_group = command.empty() || name == "zone" || name == "root" || name == "intermediate" ||
                    name == "cert" || name == "mode" || name == "error-page" || name == "header" ||
                    name == "crl" || name == "admin" || name == "admin tenant" ||
                    name == "admin token" || name == "pki";
    if (!is_group) {
      EXPECT_NE(result.out.find("--json"), std::string::npos) << name;
    }
  }
}

TEST_F(CliLocalTest, UsageErrorsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"no-such-command"},
      {"zone"},
      {"zone", "create", "auth.pizza"},  // --origin missing
      {"pki", "init-ca", "--out", "x"},  // --cn missing
      {"zone", "list", "--bogus-flag"},
  };
  for (const auto& args : cases) {
    CommandResult result = cli_.Run(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_TRUE(IsOneErrorLine(result.err)) << result.err;
  }
}

TEST_F(CliLocalTest, ServerCommandsWithoutServerOrTokenSayHowToGiveThem) {
  CommandResult no_server = cli_.Run({"zone", "list"});
  EXPECT_EQ(no_server.exit_code, 2);
  EXPECT_TRUE(IsOneErrorLine(no_server.err)) << no_server.err;
  EXPECT_NE(no_server.err.find("CERTGATE_SERVER"), std::string::npos);

  CommandResult no_token = cli_.Run({"zone", "list"}, {{"CERTGATE_SERVER", "127.0.0.1:1"}});
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_NE(no_token.err.find("CERTGATE_TOKEN"), std::string::npos) << no_token.err;

  // A CA file that is not one is refused before any connection.
  WriteFile(P("not-a-ca.pem"), "hello\n");
  CommandResult bad_ca = cli_.Run(
      {"zone", "list", "--server", "127.0.0.1:1", "--token", "t", "--ca", P("not-a-ca.pem")});
  EXPECT_EQ(bad_ca.exit_code, 2);
  EXPECT_NE(bad_ca.err.find("not-a-ca.pem"), std::string::npos) << bad_ca.err;

  // A damaged login file is named.
  ASSERT_EQ(mkdir(P(".config").c_str(), 0700), 0);
  ASSERT_EQ(mkdir(P(".config/certgate").c_str(), 0700), 0);
  WriteFile(P(".config/certgate/config.json"), "{", 0600);
  CommandResult damaged = cli_.Run({"zone", "list"});
  EXPECT_EQ(damaged.exit_code, 2);
  EXPECT_NE(damaged.err.find("config.json"), std::string::npos) << damaged.err;

  // Bad local input is refused before the (unreachable) server is asked.
  CommandResult mode =
      cli_.Run({"mode", "set", "auth.pizza", "strict", "--server", "127.0.0.1:1", "--token", "t"});
  EXPECT_EQ(mode.exit_code, 2);
  EXPECT_EQ(mode.err, "error: unknown mode \"strict\" (want enforce, report or off)\n");
}

TEST_F(CliLocalTest, UnreachableServerIsARefusalOnOneLine) {
  int port = FreePort();
  CommandResult result = cli_.Run(
      {"zone", "list", "--server", absl::StrCat("127.0.0.1:", port), "--token", "t", "--insecure"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(IsOneErrorLine(result.err)) << result.err;
}

}  // namespace
}  // namespace certgate::testing
