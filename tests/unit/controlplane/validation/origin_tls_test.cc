// What a tenant may set for TLS to its https origin, as a table of refusals.
#include "controlplane/validation/origin_tls.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certgate::controlplane {
namespace {

using certgate::testing::Issue;
using certgate::testing::KeyAndCert;
using certgate::testing::MakeCa;

TEST(OriginTlsValidationTest, OriginClientCertificate) {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  KeyAndCert ca = MakeCa("acme origin client CA");
  CertificateSpec spec;
  spec.common_name = "edge-client";
  spec.dns_names = {"auth.pizza"};
  spec.client_auth = true;
  KeyAndCert good = Issue(spec, ca);
  KeyAndCert other = Issue(spec, ca);
  CertificateSpec expired_spec = spec;
  expired_spec.not_before_unix = now - 10 * 86400;
  expired_spec.not_after_unix = now - 86400;
  KeyAndCert expired = Issue(expired_spec, ca);
  CertificateSpec server_spec = spec;
  server_spec.client_auth = false;
  server_spec.server_auth = true;
  KeyAndCert server_only = Issue(server_spec, ca);

  auto ok = ValidateOriginClientCertificate(good.cert_pem() + ca.cert_pem(), good.key_pem(), now);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(ok->issued_by_edge_ca());
  EXPECT_EQ(ok->subject(), "CN=edge-client");
  ASSERT_EQ(ok->dns_names_size(), 1);
  EXPECT_EQ(ok->dns_names(0), "auth.pizza");

  struct Case {
    const char* name;
    std::string chain, key;
    const char* expect;
  };
  for (const Case& c : {
           Case{"empty chain", "", good.key_pem(), "chain is empty"},
           Case{"empty key", good.cert_pem(), "", "key is empty"},
           Case{"garbage chain", "garbage", good.key_pem(), "origin client certificate chain"},
           Case{"garbage key", good.cert_pem(), "garbage", "origin client certificate key"},
           Case{"key of another certificate", good.cert_pem(), other.key_pem(), "does not match"},
           Case{"expired", expired.cert_pem(), expired.key_pem(), "expired"},
           Case{"serverAuth only", server_only.cert_pem(), server_only.key_pem(), "clientAuth"},
       }) {
    auto result = ValidateOriginClientCertificate(c.chain, c.key, now);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_TRUE(absl::StrContains(result.status().message(), c.expect))
        << c.name << ": " << result.status();
    EXPECT_FALSE(absl::StrContains(result.status().message(), "\n")) << c.name;
  }
}

TEST(OriginTlsValidationTest, OriginCaAndServerName) {
  KeyAndCert ca = MakeCa("origin CA");
  auto normalized = ValidateOriginCa("junk before\n" + ca.cert_pem());
  ASSERT_TRUE(normalized.ok()) << normalized.status();
  EXPECT_EQ(*normalized, ca.cert_pem());
  EXPECT_FALSE(ValidateOriginCa("not a certificate").ok());
  std::string many;
  for (int i = 0; i < 65; ++i) {
    many += ca.cert_pem();
  }
  EXPECT_FALSE(ValidateOriginCa(many).ok());

  EXPECT_EQ(ValidateOriginServerName("Origin.Internal").value(), "origin.internal");
  EXPECT_FALSE(ValidateOriginServerName("*.internal.example").ok());
  EXPECT_FALSE(ValidateOriginServerName("127.0.0.1").ok());
  EXPECT_FALSE(ValidateOriginServerName("bad name").ok());
}

}  // namespace
}  // namespace certgate::controlplane
