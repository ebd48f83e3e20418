#pragma once

// Small helpers that make keys and certificates for tests with the
// certificate factory, so no test certificate is pasted into the tree.

#include <string>
#include <utility>

#include "common/cert_factory.h"
#include "common/pem.h"
#include "gtest/gtest.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::testing {

// An issued certificate with its private key.
struct KeyAndCert {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;

  // PEM text, for APIs and files that take certificates as text.
  std::string cert_pem() const { return CertificateToPem(cert.get()); }
  std::string key_pem() const { return PrivateKeyToPem(key.get()); }
};

// Issue makes a certificate described by `spec`, signed by `issuer`; on
// failure it records a test failure and returns nulls.
inline KeyAndCert Issue(const CertificateSpec& spec, const KeyAndCert& issuer,
                        KeyType type = KeyType::kEcP256) {
  KeyAndCert out;
  auto key = GenerateKey(type);
  if (!key.ok()) {
    ADD_FAILURE() << key.status();
    return out;
  }
  auto cert = IssueCertificate(spec, key->get(), issuer.cert.get(), issuer.key.get());
  if (!cert.ok()) {
    ADD_FAILURE() << cert.status();
    return out;
  }
  out.key = std::move(key).value();
  out.cert = std::move(cert).value();
  return out;
}

// SelfSign makes a certificate described by `spec`, signed by its own key.
inline KeyAndCert SelfSign(const CertificateSpec& spec, KeyType type = KeyType::kEcP256) {
  // No issuer certificate and key: IssueCertificate signs with the new key.
  return Issue(spec, KeyAndCert(), type);
}

// MakeCa makes a self-signed CA; on failure it records a test failure and
// returns nulls.
inline KeyAndCert MakeCa(const std::string& common_name, KeyType type = KeyType::kEcP256) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.is_ca = true;
  return SelfSign(spec, type);
}

// MakeLeaf makes a client certificate named `common_name` signed by `issuer`.
inline KeyAndCert MakeLeaf(const std::string& common_name, const KeyAndCert& issuer) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.client_auth = true;
  return Issue(spec, issuer);
}

// MakeServerCert makes a server certificate for `hostname` (its common name
// and only DNS name) signed by `issuer`.
inline KeyAndCert MakeServerCert(const std::string& hostname, const KeyAndCert& issuer) {
  CertificateSpec spec;
  spec.common_name = hostname;
  spec.dns_names = {hostname};
  spec.server_auth = true;
  return Issue(spec, issuer);
}

}  // namespace certgate::testing
