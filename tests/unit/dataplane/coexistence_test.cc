// BoringSSL (ours, static, hidden) and OpenSSL 3 (gRPC's, from Debian) in
// one process: our code sees BoringSSL, gRPC's TLS channel still works, and
// a BoringSSL mTLS handshake with a custom verify callback works beside it.

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/pem.h"
#include "dataplane/config/config_subscription.h"
#include "dataplane/handshake/tls_server.h"
#include "gtest/gtest.h"
#include "openssl/crypto.h"
#include "tests/support/process.h"
#include "tests/unit/dataplane/edge_test_util.h"
#include "tests/unit/dataplane/fake_control_plane.h"

namespace certgate::edge {
namespace {

TEST(CoexistenceTest, BoringSslForTheEdgeAndOpenSslForGrpcInOneProcess) {
  // Our code is linked against BoringSSL.
  EXPECT_TRUE(absl::StrContains(OpenSSL_version(OPENSSL_VERSION), "BoringSSL"))
      << OpenSSL_version(OPENSSL_VERSION);
  EXPECT_TRUE(absl::StrContains(TlsLibraryVersion(), "BoringSSL")) << TlsLibraryVersion();

  // A gRPC server and client in this process talk over TLS; the certificates
  // come from our BoringSSL-based factory, the TLS from gRPC's OpenSSL 3.
  testing::KeyAndCert ca = testing::MakeCa("Control Plane Test CA");
  CertificateSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  spec.ips = {"127.0.0.1"};
  spec.server_auth = true;
  testing::KeyAndCert server_cert = testing::Issue(spec, ca);
  grpc::SslServerCredentialsOptions ssl_options;
  ssl_options.pem_key_cert_pairs.push_back(
      {PrivateKeyToPem(server_cert.key.get()), CertificateToPem(server_cert.cert.get())});
  testing::FakeControlPlane control(grpc::SslServerCredentials(ssl_options));
  ASSERT_GT(control.port(), 0);

  std::string dir = certgate::testing::MakeTempDir("coexistence");
  certgate::testing::WriteFile(dir + "/ca.pem", CertificateToPem(ca.cert.get()));
  ConfigSlot slot;
  ConfigSubscriptionOptions options;
  options.control_address = absl::StrCat("localhost:", control.port());
  options.node_id = "edge-tls";
  options.token = "t";
  options.control_ca_file = dir + "/ca.pem";
  auto subscription = ConfigSubscription::Create(std::move(options), &slot);
  ASSERT_TRUE(subscription.ok()) << subscription.status();
  (*subscription)->Start();

  testing::KeyAndCert root = testing::MakeCa("Coexistence Client Root");
  v1::ControlMessage message;
  *message.mutable_snapshot() =
      testing::MakeSnapshot(1, {testing::MakeZone(1, "tls.pizza", {root.cert.get()})});
  control.Push(message);
  ASSERT_TRUE(control.WaitFor([](const auto& received) {
    for (const auto& r : received) {
      if (r.message.has_ack() && r.message.ack().version() == 1) {
        return true;
      }
    }
    return false;
  })) << "no Ack over the gRPC TLS channel";
  (*subscription)->Stop();

  // And an mTLS handshake through SSL_CTX_set_custom_verify, in memory, on
  // the config that just came over gRPC.
  auto server = TlsServer::Create(&slot, TlsServerOptions{});
  ASSERT_TRUE(server.ok());
  testing::KeyAndCert client = testing::MakeClient("device-1", root);
  testing::ClientOptions client_options;
  client_options.sni = "tls.pizza";
  client_options.cert = &client;
  testing::HandshakeResult result = testing::Handshake(server->get(), client_options);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->status, CertStatus::kValid);
  EXPECT_EQ((*server)->stats().chain_verifications.load(), 1u);
}

}  // namespace
}  // namespace certgate::edge
