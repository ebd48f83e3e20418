#include "tests/integration/controlplane/test_pki.h"

#include "common/pem.h"
#include "gtest/gtest.h"

namespace certgate::testing {
namespace {

TestIdentity Issue(const CertificateSpec& spec, const TestIdentity* issuer) {
  TestIdentity identity;
  auto key = GenerateKey(KeyType::kEcP256);
  EXPECT_TRUE(key.ok()) << key.status();
  identity.key = std::move(*key);
  auto cert = IssueCertificate(spec, identity.key.get(), issuer ? issuer->cert.get() : nullptr,
                               issuer ? issuer->key.get() : identity.key.get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  identity.cert = std::move(*cert);
  identity.cert_pem = CertificateToPem(identity.cert.get());
  identity.key_pem = PrivateKeyToPem(identity.key.get());
  return identity;
}

}  // namespace

TestIdentity MakeCa(const std::string& common_name, const TestIdentity* issuer,
                    int64_t not_after_unix) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.is_ca = true;
  spec.days = 365;
  if (not_after_unix != 0) {
    spec.not_before_unix = not_after_unix - 86400 * 30;
    spec.not_after_unix = not_after_unix;
  }
  return Issue(spec, issuer);
}

TestIdentity MakeLeaf(const std::string& common_name, const TestIdentity& issuer,
                      const std::vector<std::string>& dns_names, bool server) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.dns_names = dns_names;
  spec.server_auth = server;
  spec.client_auth = !server;
  return Issue(spec, &issuer);
}

}  // namespace certgate::testing
