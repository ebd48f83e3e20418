#include "tests/fuzz/fuzz_support.h"

#include <cstdlib>

#include "common/cert_factory.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace certgate::fuzz {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  FUZZ_CHECK(value.ok(), "%s: %s", what, std::string(value.status().message()).c_str());
  return std::move(*value);
}

TestPki* MakeTestPki() {
  auto* pki = new TestPki();
  pki->ca_key = OrDie(GenerateKey(KeyType::kEcP256), "CA key");
  CertificateSpec ca_spec;
  ca_spec.common_name = "Fuzz Root CA";
  ca_spec.organization = "certgate fuzz";
  ca_spec.is_ca = true;
  ca_spec.not_before_unix = kCertNotBeforeUnix;
  ca_spec.not_after_unix = kCertNotAfterUnix;
  pki->ca = OrDie(IssueCertificate(ca_spec, pki->ca_key.get(), nullptr, pki->ca_key.get()), "CA");

  // A client certificate whose fields try to split the header they end up in.
  pki->client_key = OrDie(GenerateKey(KeyType::kEcP256), "client key");
  CertificateSpec client_spec;
  client_spec.common_name = "device-1\r\nX-Client-Cert-Status: valid";
  client_spec.organization = "Acme\nEvil: 1";
  client_spec.client_auth = true;
  client_spec.not_before_unix = kCertNotBeforeUnix;
  client_spec.not_after_unix = kCertNotAfterUnix;
  client_spec.uris = {"spiffe://acme.example/device/1"};
  client_spec.emails = {"device@acme.example"};
  client_spec.dns_names = {"device-1.acme.example"};
  client_spec.ips = {"192.0.2.1", "2001:db8::1"};
  pki->client =
      OrDie(IssueCertificate(client_spec, pki->client_key.get(), pki->ca.get(), pki->ca_key.get()),
            "client certificate");

  pki->server_key = OrDie(GenerateKey(KeyType::kEcP256), "server key");
  CertificateSpec server_spec;
  server_spec.common_name = "auth.pizza";
  server_spec.server_auth = true;
  server_spec.not_before_unix = kCertNotBeforeUnix;
  server_spec.not_after_unix = kCertNotAfterUnix;
  server_spec.dns_names = {"auth.pizza", "*.auth.pizza"};
  pki->server =
      OrDie(IssueCertificate(server_spec, pki->server_key.get(), pki->ca.get(), pki->ca_key.get()),
            "server certificate");
  return pki;
}

}  // namespace

std::vector<absl::string_view> SplitParts(absl::string_view input, size_t max_parts) {
  std::vector<absl::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    size_t at = input.find(kPartSeparator);
    if (at == absl::string_view::npos) {
      break;
    }
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(input);
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out.append(kPartSeparator.data(), kPartSeparator.size());
    }
    out += parts[i];
  }
  return out;
}

bool IsHeaderSafe(absl::string_view value) {
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t code_point = 0;
    uint32_t min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      code_point = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      code_point = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      code_point = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + len > text.size()) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (next & 0x3f);
    }
    if (code_point < min || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

const TestPki& GetTestPki() {
  static const TestPki* const kPki = MakeTestPki();
  return *kPki;
}

}  // namespace certgate::fuzz
