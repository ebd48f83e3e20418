#pragma once

// Small helpers that make keys and certificates for tests with the
// certificate factory, so no test certificate is pasted into the tree.

#include <string>
#include <utility>

#include "common/cert_factory.h"
#include "gtest/gtest.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::testing {

// An issued certificate with its private key.
struct KeyAndCert {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

// MakeCa makes a self-signed CA; on failure it records a test failure and
// returns nulls.
inline KeyAndCert MakeCa(const std::string& common_name, KeyType type = KeyType::kEcP256) {
  KeyAndCert out;
  auto key = GenerateKey(type);
  if (!key.ok()) {
    ADD_FAILURE() << key.status();
    return out;
  }
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.is_ca = true;
  auto cert = IssueCertificate(spec, key->get(), nullptr, nullptr);
  if (!cert.ok()) {
    ADD_FAILURE() << cert.status();
    return out;
  }
  out.key = std::move(key).value();
  out.cert = std::move(cert).value();
  return out;
}

// Issue makes a certificate described by `spec`, signed by `issuer`.
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

// MakeLeaf makes a client certificate named `common_name` signed by `issuer`.
inline KeyAndCert MakeLeaf(const std::string& common_name, const KeyAndCert& issuer) {
  CertificateSpec spec;
  spec.common_name = common_name;
  spec.client_auth = true;
  return Issue(spec, issuer);
}

}  // namespace certgate::testing
