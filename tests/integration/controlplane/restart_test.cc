// certgate-control as a process: durability across kill -9, token files,
// TLS or explicit plaintext, config files, clean shutdown.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_callback.h>
#include <signal.h>
#include <sys/stat.h>

#include <future>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/controlplane/edge_client.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/test_pki.h"

namespace certgate::testing {
namespace {

int FileMode(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return -1;
  }
  return info.st_mode & 0777;
}

std::string BufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) {
    return "";
  }
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

grpc::ByteBuffer StringToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// OneRequestStream sends one raw message on a bidi stream and keeps the
// first answer: enough to ask server reflection for its services.
class OneRequestStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit OneRequestStream(const std::string& request) : request_(StringToBuffer(request)) {}
  void Run() {
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (ok) {
      answer_ = BufferToString(response_);
    }
  }
  void OnDone(const grpc::Status& status) override { done_.set_value(status); }
  std::future<grpc::Status> done() { return done_.get_future(); }
  const std::string& answer() const { return answer_; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string answer_;
  std::promise<grpc::Status> done_;
};

TEST(RestartTest, HealthAndReflectionAreServed) {
  ControlPlaneProcess server(MakeTempDir("cp-health"));
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  grpc::GenericStub stub(server.Channel());

  // grpc.health.v1.Health/Check with an empty request: status SERVING (1).
  grpc::ClientContext health_context;
  grpc::ByteBuffer request = StringToBuffer("");
  grpc::ByteBuffer response;
  std::promise<grpc::Status> health_done;
  stub.UnaryCall(&health_context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status status) { health_done.set_value(status); });
  grpc::Status health = health_done.get_future().get();
  ASSERT_TRUE(health.ok()) << health.error_message();
  EXPECT_EQ(BufferToString(response), std::string("\x08\x01", 2));

  // ServerReflectionRequest{list_services: "*"} names our services.
  grpc::ClientContext reflection_context;
  OneRequestStream reflection(std::string("\x3a\x01*", 3));
  auto done = reflection.done();
  stub.PrepareBidiStreamingCall(&reflection_context,
                                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                grpc::StubOptions(), &reflection);
  reflection.Run();
  grpc::Status reflected = done.get();
  ASSERT_TRUE(reflected.ok()) << reflected.error_message();
  for (const char* service : {"certgate.v1.TenantService", "certgate.v1.AdminService",
                              "certgate.v1.EdgeConfigService", "grpc.health.v1.Health"}) {
    EXPECT_TRUE(absl::StrContains(reflection.answer(), service)) << service;
  }
}

TEST(RestartTest, AcknowledgedChangeSurvivesKill9) {
  ControlPlaneProcess server(MakeTempDir("cp-kill9"));
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  std::string admin_token = server.admin_token();
  std::string edge_token = server.edge_token();
  EXPECT_EQ(FileMode(server.dir() + "/admin.token"), 0600);
  EXPECT_EQ(FileMode(server.dir() + "/edge.token"), 0600);
  EXPECT_EQ(FileMode(server.dir() + "/state/edge-ca/edge-ca.key"), 0600);
  std::string edge_ca = ReadFile(server.dir() + "/state/edge-ca/edge-ca.pem");

  std::string tenant = NewTenant(server, "durable");
  auto ca = MakeCa("Durable CA");
  auto stub = server.Tenant();
  {
    grpc::ClientContext context;
    Authorize(&context, tenant);
    v1::CreateZoneRequest request;
    request.set_hostname("durable.example.test");
    request.set_origin("https://origin.example.test:8443");
    v1::ZoneResponse response;
    ASSERT_TRUE(stub->CreateZone(&context, request, &response).ok());
  }
  uint64_t acknowledged = 0;
  {
    grpc::ClientContext context;
    Authorize(&context, tenant);
    v1::AddCaCertificatesRequest request;
    request.set_hostname("durable.example.test");
    request.set_data(ca.cert_pem());
    v1::AddCaCertificatesResponse response;
    ASSERT_TRUE(stub->AddRoots(&context, request, &response).ok());
    acknowledged = response.config_version();
  }
  {
    EdgeClient edge(server, edge_token);
    ASSERT_TRUE(edge.Hello("edge-k", 0));
    ASSERT_TRUE(edge.Next().has_value());
    ASSERT_TRUE(edge.Ack(acknowledged));
    ASSERT_TRUE(WaitFor(
        [&] {
          grpc::ClientContext context;
          Authorize(&context, admin_token);
          v1::StatusResponse status;
          return server.Admin()
                     ->GetFleetStatus(&context, v1::GetFleetStatusRequest(), &status)
                     .ok() &&
                 status.edges_size() == 1 && status.edges(0).acked_version() == acknowledged;
        },
        absl::Seconds(10)));
  }

  // No chance to flush anything: the data must already be on disk.
  EXPECT_EQ(server.Stop(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(server.Start(&error)) << error;

  EXPECT_EQ(server.admin_token(), admin_token);
  EXPECT_EQ(server.edge_token(), edge_token);
  EXPECT_EQ(ReadFile(server.dir() + "/state/edge-ca/edge-ca.pem"), edge_ca);
  EXPECT_EQ(ConfigVersion(server), acknowledged);
  stub = server.Tenant();
  grpc::ClientContext context;
  Authorize(&context, tenant);
  v1::GetZoneRequest request;
  request.set_hostname("durable.example.test");
  v1::ZoneResponse zone;
  grpc::Status status = stub->GetZone(&context, request, &zone);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(zone.zone().roots_size(), 1);
  EXPECT_EQ(zone.zone().roots(0).subject(), "CN=Durable CA");
  EXPECT_EQ(zone.zone().origin(), "https://origin.example.test:8443");

  // The edge's ACK survived too; its stream is gone.
  grpc::ClientContext fleet_context;
  Authorize(&fleet_context, admin_token);
  v1::StatusResponse fleet;
  ASSERT_TRUE(
      server.Admin()->GetFleetStatus(&fleet_context, v1::GetFleetStatusRequest(), &fleet).ok());
  ASSERT_EQ(fleet.edges_size(), 1);
  EXPECT_EQ(fleet.edges(0).acked_version(), acknowledged);
  EXPECT_FALSE(fleet.edges(0).connected());

  // An edge holding the acknowledged version needs nothing after restart.
  EdgeClient edge(server, edge_token);
  ASSERT_TRUE(edge.Hello("edge-k", acknowledged));
  EXPECT_FALSE(edge.Next(absl::Milliseconds(500)).has_value());
}

TEST(RestartTest, SigtermShutsDownCleanly) {
  ControlPlaneProcess server(MakeTempDir("cp-sigterm"));
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EdgeClient edge(server, server.edge_token());
  ASSERT_TRUE(edge.Hello("edge-t", 0));
  ASSERT_TRUE(edge.Next().has_value());
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.log();
  EXPECT_TRUE(absl::StrContains(server.log(), "shutting down"));
}

TEST(RestartTest, PlaintextNeedsInsecure) {
  std::string dir = MakeTempDir("cp-flags");
  std::vector<std::string> base = {BinPath("certgate-control"),
                                   "--db",
                                   dir + "/db",
                                   "--listen",
                                   absl::StrCat("127.0.0.1:", FreePort()),
                                   "--admin-token-file",
                                   dir + "/admin.token",
                                   "--edge-token-file",
                                   dir + "/edge.token"};
  CommandResult plain = RunCommand(base);
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(plain.err, "--insecure")) << plain.err;

  std::vector<std::string> both = base;
  both.insert(both.end(), {"--insecure", "--tls-cert", "x.pem", "--tls-key", "x.key"});
  CommandResult conflicting = RunCommand(both);
  EXPECT_NE(conflicting.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(conflicting.err, "cannot be combined")) << conflicting.err;

  CommandResult help = RunCommand({BinPath("certgate-control"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--db", "--listen", "--admin-token-file", "--edge-token-file", "--tls-cert", "--tls-key",
        "--insecure", "--max-roots-per-zone", "--edge-ca-dir", "--config", "--origin-allow",
        "--max-zones", "--max-cas-per-zone", "--max-revocations-per-zone", "--max-config-bytes",
        "--verify-hostnames", "--dns-server", "--verify-interval", "--dns-timeout"}) {
    EXPECT_TRUE(absl::StrContains(help.out, flag)) << flag;
  }
}

// --origin-allow: a bad CIDR stops the start with one line; a range as wide
// as 0.0.0.0/0 opens private addresses but never link-local (cloud metadata),
// however it is spelled.
TEST(RestartTest, OriginAllowFlag) {
  std::string dir = MakeTempDir("cp-origin-allow");
  CommandResult bad = RunCommand({BinPath("certgate-control"), "--db", dir + "/db", "--listen",
                                  absl::StrCat("127.0.0.1:", FreePort()), "--admin-token-file",
                                  dir + "/admin.token", "--edge-token-file", dir + "/edge.token",
                                  "--insecure", "--origin-allow", "10.0.0.1/8"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(bad.err,
            "certgate-control: --origin-allow: CIDR \"10.0.0.1/8\": bits are set past the prefix "
            "length (did you mean 10.0.0.0/8?)\n");

  ControlPlaneProcess server(
      dir, {"--insecure", "--origin-allow", "0.0.0.0/0", "--origin-allow", "::/0"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  std::string token = NewTenant(server, "wide");
  auto tenant = server.Tenant();
  auto create = [&](const std::string& host, const std::string& origin) {
    v1::CreateZoneRequest request;
    request.set_hostname(host);
    request.set_origin(origin);
    v1::ZoneResponse response;
    grpc::ClientContext context;
    Authorize(&context, token);
    return tenant->CreateZone(&context, request, &response);
  };
  EXPECT_TRUE(create("private.example.test", "http://10.0.0.1").ok());
  EXPECT_TRUE(create("ula.example.test", "http://[fd00::1]").ok());
  for (const std::string origin :
       {"http://169.254.169.254", "http://[fe80::1]", "http://[::ffff:169.254.169.254]",
        "http://0xa9fea9fe", "http://224.0.0.1"}) {
    grpc::Status status = create("meta.example.test", origin);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << origin;
    EXPECT_TRUE(absl::StrContains(status.error_message(), "link-local") ||
                absl::StrContains(status.error_message(), "multicast") ||
                absl::StrContains(status.error_message(), "non-standard spelling"))
        << origin << ": " << status.error_message();
  }
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

TEST(RestartTest, FlagsFromAConfigFile) {
  std::string dir = MakeTempDir("cp-config");
  int port = FreePort();
  WriteFile(dir + "/control.toml",
            absl::StrCat("db = \"", dir, "/state/c.db\"\nlisten = \"127.0.0.1:", port,
                         "\"\nadmin-token-file = \"", dir, "/admin.token\"\nedge-token-file = \"",
                         dir, "/edge.token\"\ninsecure = true\nedge-ca-dir = \"", dir, "/ca\"\n"));
  auto process = Subprocess::Start({BinPath("certgate-control"), "--config", dir + "/control.toml"},
                                   dir + "/control.log");
  ASSERT_TRUE(process.ok());
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains((*process)->ReadLog(), "listening on"); },
                      absl::Seconds(15)))
      << (*process)->ReadLog();
  EXPECT_TRUE(absl::StrContains((*process)->ReadLog(),
                                absl::StrCat("certgate-control listening on 127.0.0.1:", port)));
  EXPECT_EQ(FileMode(dir + "/ca/edge-ca.key"), 0600);
  EXPECT_EQ(FileMode(dir + "/admin.token"), 0600);
  (*process)->Signal(SIGTERM);
  EXPECT_EQ((*process)->Wait(), 0);
}

TEST(RestartTest, ServesTlsThatAClientVerifies) {
  std::string dir = MakeTempDir("cp-tls");
  auto ca = MakeCa("Control Plane Test CA");
  auto cert = MakeServerCert("localhost", ca);
  WriteFile(dir + "/cp.pem", cert.cert_pem() + ca.cert_pem());
  WriteFile(dir + "/cp.key", cert.key_pem(), 0600);
  ControlPlaneProcess server(dir, {"--tls-cert", dir + "/cp.pem", "--tls-key", dir + "/cp.key"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  auto call = [&](std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(server.address(), credentials, args);
    auto admin = v1::AdminService::NewStub(channel);
    grpc::ClientContext context;
    Authorize(&context, server.admin_token());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::StatusResponse status;
    return admin->GetFleetStatus(&context, v1::GetFleetStatusRequest(), &status);
  };
  grpc::SslCredentialsOptions trusted;
  trusted.pem_root_certs = ca.cert_pem();
  grpc::Status ok = call(grpc::SslCredentials(trusted));
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  grpc::SslCredentialsOptions untrusted;
  untrusted.pem_root_certs = MakeCa("Some Other CA").cert_pem();
  EXPECT_EQ(call(grpc::SslCredentials(untrusted)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace certgate::testing
