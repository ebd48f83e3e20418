#pragma once

#include <string>
#include <vector>

#include "common/cert_factory.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::testing {

// TestIdentity: a certificate made at test time, with its key.
struct TestIdentity {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
  std::string cert_pem;
  std::string key_pem;
};

// MakeCa: a CA (self-signed when `issuer` is null).
TestIdentity MakeCa(const std::string& common_name, const TestIdentity* issuer = nullptr,
                    int64_t not_after_unix = 0);
// MakeLeaf: a leaf signed by `issuer`, with optional DNS names.
TestIdentity MakeLeaf(const std::string& common_name, const TestIdentity& issuer,
                      const std::vector<std::string>& dns_names = {}, bool server = false);

}  // namespace certgate::testing
