// Fuzz target: the PEM/DER readers the CLI (and the control plane) use on
// files a user hands them (common/pem.h), and SignCsr, which `certgate pki
// sign-csr` runs on a CSR from anywhere (common/cert_factory.h). The whole
// input goes to each reader. What is accepted must round-trip: a parsed
// certificate, key or CRL encodes to PEM that parses back to the same thing,
// and a certificate issued from a CSR is signed by the CA and carries the
// CSR's public key.
#include <cstdint>
#include <string>
#include <vector>

#include "common/cert_factory.h"
#include "common/pem.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void FuzzCertificates(absl::string_view input) {
  auto certs = certgate::ParseCertificates(input);
  if (!certs.ok()) {
    return;
  }
  FUZZ_CHECK(!certs->empty(), "ParseCertificates accepted input with no certificate");
  std::string pem;
  for (const auto& cert : *certs) {
    FUZZ_CHECK(cert != nullptr, "null certificate in an accepted upload");
    pem += certgate::CertificateToPem(cert.get());
    auto der = certgate::CertificateFromDer(certgate::CertificateToDer(cert.get()));
    FUZZ_CHECK(der.ok(), "DER of an accepted certificate does not parse: %s",
               std::string(der.status().message()).c_str());
  }
  auto again = certgate::ParseCertificates(pem);
  FUZZ_CHECK(again.ok() && again->size() == certs->size(),
             "PEM of %zu accepted certificates does not parse back", certs->size());
  for (size_t i = 0; i < certs->size(); ++i) {
    FUZZ_CHECK(X509_cmp((*again)[i].get(), (*certs)[i].get()) == 0, "certificate %zu changed", i);
  }
}

void FuzzPrivateKey(absl::string_view input) {
  auto key = certgate::ParsePrivateKey(input);
  if (!key.ok()) {
    return;
  }
  FUZZ_CHECK(*key != nullptr, "null key accepted");
  std::string pem = certgate::PrivateKeyToPem(key->get());
  auto again = certgate::ParsePrivateKey(pem);
  FUZZ_CHECK(again.ok(), "PEM of an accepted key does not parse back: %s",
             std::string(again.status().message()).c_str());
  FUZZ_CHECK(EVP_PKEY_cmp(again->get(), key->get()) == 1, "key changed on the way back");
}

void FuzzCrl(absl::string_view input) {
  auto crl = certgate::ParseCrl(input);
  if (!crl.ok()) {
    return;
  }
  FUZZ_CHECK(*crl != nullptr, "null CRL accepted");
  auto again = certgate::ParseCrl(certgate::CrlToPem(crl->get()));
  FUZZ_CHECK(again.ok(), "PEM of an accepted CRL does not parse back: %s",
             std::string(again.status().message()).c_str());
}

void FuzzSignCsr(absl::string_view input) {
  const certgate::fuzz::TestPki& pki = certgate::fuzz::GetTestPki();
  certgate::CertificateSpec spec;
  spec.common_name = "device-7";
  spec.client_auth = true;
  spec.not_before_unix = certgate::fuzz::kCertNotBeforeUnix;
  spec.not_after_unix = certgate::fuzz::kCertNotAfterUnix;
  auto cert = certgate::SignCsr(input, spec, pki.ca.get(), pki.ca_key.get());
  if (!cert.ok()) {
    return;
  }
  FUZZ_CHECK(X509_verify(cert->get(), pki.ca_key.get()) == 1,
             "issued certificate is not signed by the CA");
  FUZZ_CHECK(X509_check_issued(pki.ca.get(), cert->get()) == X509_V_OK,
             "issued certificate does not name the CA as issuer");
  auto der = certgate::CertificateFromDer(certgate::CertificateToDer(cert->get()));
  FUZZ_CHECK(der.ok(), "issued certificate does not parse back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input = certgate::fuzz::AsView(data, size);
  FuzzCertificates(input);
  FuzzPrivateKey(input);
  FuzzCrl(input);
  FuzzSignCsr(input);
  ERR_clear_error();
  return 0;
}
