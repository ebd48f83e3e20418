// gRPC end to end: a real grpcio client (TLS, client certificate) through a
// real certgate-edge to a real grpcio server behind an h2c:// origin
// (tests/integration/h2_origins/grpc_server.py and grpc_client.py). Unary
// and bidirectional streaming calls work in enforce mode with a valid
// certificate; without one the client gets UNAUTHENTICATED; in report mode
// the server sees the certificate status and SKI as gRPC metadata, and
// x-client-cert-* metadata the client sent never reaches it.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/integration/edge/edge_environment.h"

namespace certgate::testing {
namespace {

constexpr char kEnforce[] = "rpc-enforce.grpc.pizza";
constexpr char kReport[] = "rpc-report.grpc.pizza";

class GrpcEdgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("certgate-grpc-edge"));
    env_ = new EdgeEnvironment(*dir_);
    pki_ = new Pki(*dir_);
    std::string error;
    ASSERT_TRUE(env_->StartControl(&error)) << error;
    ASSERT_TRUE(env_->StartEdge(&error)) << error;
    server_port_ = FreePort();
    auto server = Subprocess::Start(
        {"/usr/bin/python3", CERTGATE_GRPC_SERVER_PY, "--port", std::to_string(server_port_)},
        *dir_ + "/grpc-server.log");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(WaitForPort(server_port_)) << server_->ReadLog();
    tenant_ = new std::string(env_->NewTenant("acme"));
    v1::GetEdgeCaResponse edge_ca;
    ASSERT_TRUE(
        env_->tenant()->GetEdgeCa(EdgeEnvironment::Context(*tenant_).get(), {}, &edge_ca).ok());
    edge_ca_path_ = new std::string(*dir_ + "/edge-ca.pem");
    WriteFile(*edge_ca_path_, edge_ca.certificate_pem());
    ca_ = new Identity(pki_->Ca("device-ca"));
    device_ = new Identity(pki_->Leaf("device", *ca_));
    rogue_ca_ = new Identity(pki_->Ca("rogue-ca"));
    rogue_ = new Identity(pki_->Leaf("rogue", *rogue_ca_));
    std::string origin = absl::StrCat("h2c://127.0.0.1:", server_port_);
    env_->CreateZone(*tenant_, kEnforce, v1::MODE_ENFORCE, origin);
    env_->CreateZone(*tenant_, kReport, v1::MODE_REPORT, origin);
    env_->AddRoot(*tenant_, kEnforce, *ca_);
    uint64_t v = env_->AddRoot(*tenant_, kReport, *ca_);
    ASSERT_GT(v, 0u);
    ASSERT_TRUE(env_->WaitForVersion(v));
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete env_;
    env_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      env_->PrintEdgeLogTail();
      std::cerr << server_->ReadLog();
    }
  }

  // Call runs grpc_client.py and returns its JSON lines.
  static std::vector<std::string> Call(const std::string& host, const Identity* id,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     CERTGATE_GRPC_CLIENT_PY,
                                     "--port",
                                     std::to_string(env_->edge_port()),
                                     "--host",
                                     host,
                                     "--ca",
                                     *edge_ca_path_};
    if (id != nullptr) {
      argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult r = RunCommand(argv, "", {}, absl::Seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  }

  static inline std::string* dir_ = nullptr;
  static inline EdgeEnvironment* env_ = nullptr;
  static inline Pki* pki_ = nullptr;
  static inline Subprocess* server_ = nullptr;
  static inline int server_port_ = 0;
  static inline std::string* tenant_ = nullptr;
  static inline std::string* edge_ca_path_ = nullptr;
  static inline Identity* ca_ = nullptr;
  static inline Identity* device_ = nullptr;
  static inline Identity* rogue_ca_ = nullptr;
  static inline Identity* rogue_ = nullptr;
};

TEST_F(GrpcEdgeTest, UnaryCallWithAValidCertificateInEnforceMode) {
  std::vector<std::string> out = Call(kEnforce, device_, {"--call", "unary"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(absl::StrContains(out[0], "\"code\": \"OK\"")) << out[0];
  EXPECT_TRUE(absl::StrContains(out[0], "\"echo\": \"ping\"")) << out[0];
  EXPECT_TRUE(absl::StrContains(out[0], "\"x-client-cert-status\": \"valid\"")) << out[0];
}

// Each message leaves only after the previous echo came back: the edge
// streams both directions of one call.
TEST_F(GrpcEdgeTest, BidirectionalStreamingInEnforceMode) {
  std::vector<std::string> out = Call(kEnforce, device_, {"--call", "bidi", "--messages", "6"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(absl::StrContains(out[0], "\"code\": \"OK\"")) << out[0];
  EXPECT_TRUE(absl::StrContains(
      out[0], "[\"echo:m0\", \"echo:m1\", \"echo:m2\", \"echo:m3\", \"echo:m4\", \"echo:m5\"]"))
      << out[0];
}

TEST_F(GrpcEdgeTest, NoCertificateIsUnauthenticatedInEnforceMode) {
  for (const char* call : {"unary", "bidi"}) {
    std::vector<std::string> out = Call(kEnforce, nullptr, {"--call", call});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(absl::StrContains(out[0], "\"code\": \"UNAUTHENTICATED\"")) << out[0];
  }
  std::vector<std::string> invalid = Call(kEnforce, rogue_, {"--call", "unary"});
  ASSERT_EQ(invalid.size(), 1u);
  EXPECT_TRUE(absl::StrContains(invalid[0], "\"code\": \"PERMISSION_DENIED\"")) << invalid[0];
}

// Report mode: the server reads the edge's verdict as metadata; what the
// client claims in the same names is gone.
TEST_F(GrpcEdgeTest, ReportModeServerSeesCertificateMetadataNeverTheClientsOwn) {
  std::vector<std::string> spoof = {"--metadata", "x-client-cert-status=valid-spoofed",
                                    "--metadata", "x-client-cert-ski=deadbeef",
                                    "--metadata", "x-app=kept"};
  std::vector<std::string> args = {"--call", "unary"};
  args.insert(args.end(), spoof.begin(), spoof.end());
  std::vector<std::string> valid = Call(kReport, device_, args);
  ASSERT_EQ(valid.size(), 1u);
  EXPECT_TRUE(absl::StrContains(valid[0], "\"code\": \"OK\"")) << valid[0];
  EXPECT_TRUE(absl::StrContains(valid[0], "\"x-client-cert-status\": \"valid\"")) << valid[0];
  EXPECT_TRUE(absl::StrContains(valid[0],
                                absl::StrCat("\"x-client-cert-ski\": \"", SkiHex(*device_), "\"")))
      << valid[0];
  EXPECT_TRUE(absl::StrContains(valid[0], "\"x-app\": \"kept\"")) << valid[0];
  EXPECT_FALSE(absl::StrContains(valid[0], "valid-spoofed")) << valid[0];
  EXPECT_FALSE(absl::StrContains(valid[0], "deadbeef")) << valid[0];

  std::vector<std::string> none = Call(kReport, nullptr, args);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(absl::StrContains(none[0], "\"code\": \"OK\"")) << none[0];
  EXPECT_TRUE(absl::StrContains(none[0], "\"x-client-cert-status\": \"none\"")) << none[0];
  EXPECT_FALSE(absl::StrContains(none[0], "x-client-cert-ski")) << none[0];
  EXPECT_FALSE(absl::StrContains(none[0], "valid-spoofed")) << none[0];
}

// The origin's own gRPC status comes back in its trailers.
TEST_F(GrpcEdgeTest, OriginStatusPassesInTrailers) {
  std::vector<std::string> out = Call(kEnforce, device_, {"--call", "fail"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(absl::StrContains(out[0], "\"code\": \"PERMISSION_DENIED\"")) << out[0];
  EXPECT_TRUE(absl::StrContains(out[0], "origin says no")) << out[0];
}

// Many calls on one client channel, multiplexed through one edge connection.
TEST_F(GrpcEdgeTest, ManyCallsOnOneChannel) {
  std::vector<std::string> out = Call(kEnforce, device_, {"--call", "unary", "--count", "40"});
  ASSERT_EQ(out.size(), 40u);
  for (const std::string& line : out) {
    EXPECT_TRUE(absl::StrContains(line, "\"code\": \"OK\"")) << line;
  }
}

}  // namespace
}  // namespace certgate::testing
