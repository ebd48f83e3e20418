// OriginTlsContext: what a zone's https origin settings build into, and what
// they are refused for.
#include "dataplane/tls/origin_tls_context.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "openssl/ssl.h"
#include "tests/support/test_pki.h"

namespace certgate::edge {
namespace {

using certgate::testing::KeyAndCert;
using certgate::testing::MakeCa;
using certgate::testing::MakeLeaf;

struct Case {
  const char* name;
  std::string host;
  std::string server_name;
  std::string expect_sni;  // "" none
  std::string expect_verify_name;
};

TEST(OriginTlsContextTest, SniAndCheckedName) {
  KeyAndCert ca = MakeCa("origin CA");
  for (const Case& c : {
           Case{"ip origin: no SNI, IP checked", "127.0.0.1", "", "", "127.0.0.1"},
           Case{"ipv6 origin", "::1", "", "", "::1"},
           Case{"named origin", "origin.internal", "", "origin.internal", "origin.internal"},
           Case{"server name wins", "127.0.0.1", "origin.internal", "origin.internal",
                "origin.internal"},
       }) {
    v1::EdgeZone zone;
    zone.set_origin_ca_pem(ca.cert_pem());
    zone.set_origin_server_name(c.server_name);
    auto context = OriginTlsContext::Create(zone, c.host);
    ASSERT_TRUE(context.ok()) << c.name << ": " << context.status();
    EXPECT_EQ((*context)->verify_name(), c.expect_verify_name) << c.name;
    bssl::UniquePtr<SSL> ssl = (*context)->NewSsl();
    ASSERT_NE(ssl, nullptr) << c.name;
    const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
    EXPECT_EQ(sni == nullptr ? "" : std::string(sni), c.expect_sni) << c.name;
    EXPECT_FALSE((*context)->has_client_certificate()) << c.name;
  }
}

TEST(OriginTlsContextTest, ClientCertificateAndRefusals) {
  KeyAndCert ca = MakeCa("edge CA");
  KeyAndCert leaf = MakeLeaf("auth.pizza", ca);
  KeyAndCert other = MakeLeaf("other", ca);
  v1::EdgeZone zone;
  zone.set_origin_client_chain_pem(leaf.cert_pem() + ca.cert_pem());
  zone.set_origin_client_key_pem(leaf.key_pem());
  auto good = OriginTlsContext::Create(zone, "origin.internal");
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE((*good)->has_client_certificate());
  // Contexts of two zone versions never share pooled connections.
  auto again = OriginTlsContext::Create(zone, "origin.internal");
  ASSERT_TRUE(again.ok());
  EXPECT_NE((*good)->serial(), (*again)->serial());

  struct Refusal {
    const char* name;
    std::string chain, key, ca;
    const char* expect;
  };
  for (const Refusal& r : {
           Refusal{"key of another certificate", leaf.cert_pem(), other.key_pem(), "",
                   "does not match"},
           Refusal{"garbage certificate", "garbage", leaf.key_pem(), "",
                   "origin client certificate"},
           Refusal{"garbage key", leaf.cert_pem(), "garbage", "", "origin client key"},
           Refusal{"garbage origin CA", "", "", "-----BEGIN CERTIFICATE-----\nAAAA\n", "origin CA"},
       }) {
    v1::EdgeZone bad;
    bad.set_origin_client_chain_pem(r.chain);
    bad.set_origin_client_key_pem(r.key);
    bad.set_origin_ca_pem(r.ca);
    auto context = OriginTlsContext::Create(bad, "origin.internal");
    ASSERT_FALSE(context.ok()) << r.name;
    EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument) << r.name;
    EXPECT_TRUE(absl::StrContains(context.status().message(), r.expect))
        << r.name << ": " << context.status();
  }
}

}  // namespace
}  // namespace certgate::edge
