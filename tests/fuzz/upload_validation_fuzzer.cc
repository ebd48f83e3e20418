// Fuzz target: what the control plane checks before it stores a tenant's
// upload (controlplane/validation/). The first input byte picks the check:
//   0: roots / intermediates      ParseCaCertificates(rest)
//   1: CRL                        ParseZoneCrl(part 1, zone whose roots are parts 2..)
//   2: server certificate         ValidateServerCertificate(chain, key, hostname)
//   3: error response             ValidateErrorResponse(content type, body), ValidateJson
// Parts are separated by kPartSeparator. Besides "never crash", what is
// accepted must be what the API promises: CAs that pass ValidateCaCertificate,
// text fields that are valid UTF-8 (proto3 strings: an invalid one makes
// the API's own reply unparseable), serials in canonical hex.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "certgate/v1/common.pb.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "controlplane/validation/ca_certificates.h"
#include "controlplane/validation/crl.h"
#include "controlplane/validation/error_response.h"
#include "controlplane/validation/json_validator.h"
#include "controlplane/validation/server_certificate.h"
#include "openssl/err.h"
#include "openssl/x509.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using certgate::fuzz::IsValidUtf8;
using certgate::fuzz::kFuzzNowUnix;
using certgate::fuzz::SplitParts;

constexpr size_t kMaxParts = 6;

void CheckUtf8(absl::string_view field, const std::string& value) {
  FUZZ_CHECK(IsValidUtf8(value), "%s is not valid UTF-8 (a proto3 string field)",
             std::string(field).c_str());
}

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  return true;
}

void FuzzCaCertificates(absl::string_view data) {
  auto parsed = certgate::controlplane::ParseCaCertificates(data, kFuzzNowUnix);
  if (!parsed.ok()) {
    return;
  }
  FUZZ_CHECK(!parsed->empty(), "ParseCaCertificates accepted an upload with no certificate");
  for (const auto& entry : *parsed) {
    FUZZ_CHECK(certgate::ValidateCaCertificate(entry.cert.get(), kFuzzNowUnix).ok(),
               "accepted a certificate that ValidateCaCertificate refuses");
    FUZZ_CHECK(certgate::IsCaCertificate(entry.cert.get()), "accepted a non-CA certificate");
    CheckUtf8("subject", entry.info.subject());
    CheckUtf8("issuer", entry.info.issuer());
    FUZZ_CHECK(entry.info.id().size() == 16 && IsLowerHex(entry.info.id()), "bad id %s",
               entry.info.id().c_str());
    FUZZ_CHECK(IsLowerHex(entry.info.ski()), "bad SKI %s", entry.info.ski().c_str());
    // What the store keeps must read back as the same certificate.
    auto again = certgate::CertificateFromDer(entry.info.der());
    FUZZ_CHECK(again.ok(), "stored DER does not parse: %s",
               std::string(again.status().message()).c_str());
    FUZZ_CHECK(X509_cmp(again->get(), entry.cert.get()) == 0, "stored DER is another certificate");
  }
}

void FuzzCrl(absl::string_view data) {
  std::vector<absl::string_view> parts = SplitParts(data, kMaxParts);
  certgate::v1::Zone zone;
  zone.set_hostname("auth.pizza");
  for (size_t i = 1; i < parts.size(); ++i) {
    certgate::v1::CaCertificate* ca = (i % 2 == 1) ? zone.add_roots() : zone.add_intermediates();
    ca->set_der(std::string(parts[i]));
  }
  auto parsed = certgate::controlplane::ParseZoneCrl(parts[0], zone, kFuzzNowUnix);
  if (!parsed.ok()) {
    return;
  }
  CheckUtf8("CRL issuer", parsed->info.issuer());
  FUZZ_CHECK(parsed->info.revoked_count() == static_cast<int>(parsed->revocations.size()),
             "revoked_count %d, %zu revocations", parsed->info.revoked_count(),
             parsed->revocations.size());
  auto crl = certgate::ParseCrl(parsed->info.der());
  FUZZ_CHECK(crl.ok(), "stored CRL DER does not parse: %s",
             std::string(crl.status().message()).c_str());
  for (const auto& revocation : parsed->revocations) {
    CheckUtf8("revocation issuer", revocation.issuer());
    CheckUtf8("revocation id", revocation.id());
    FUZZ_CHECK(!revocation.serial_hex().empty(), "empty serial");
  }
}

void FuzzServerCertificate(absl::string_view data) {
  std::vector<absl::string_view> parts = SplitParts(data, 3);
  while (parts.size() < 3) {
    parts.push_back("");
  }
  auto info = certgate::controlplane::ValidateServerCertificate(parts[0], parts[1], parts[2]);
  if (!info.ok()) {
    return;
  }
  CheckUtf8("server certificate subject", info->subject());
  for (const std::string& name : info->dns_names()) {
    CheckUtf8("server certificate DNS name", name);
  }
  auto chain = certgate::ParseCertificates(info->chain_pem());
  FUZZ_CHECK(chain.ok() && !chain->empty(), "normalised chain does not parse");
  auto key = certgate::ParsePrivateKey(parts[1]);
  FUZZ_CHECK(key.ok(), "accepted key does not parse again");
  FUZZ_CHECK(X509_check_private_key((*chain)[0].get(), key->get()) == 1,
             "accepted a key that does not match the leaf");
  ERR_clear_error();
}

void FuzzErrorResponse(absl::string_view data) {
  std::vector<absl::string_view> parts = SplitParts(data, 2);
  certgate::v1::ErrorResponse response;
  response.set_content_type(std::string(parts[0]));
  if (parts.size() > 1) {
    response.set_body(std::string(parts[1]));
  }
  absl::Status status = certgate::controlplane::ValidateErrorResponse(response);
  if (status.ok()) {
    FUZZ_CHECK(response.body().size() <= certgate::controlplane::kMaxErrorBodyBytes,
               "accepted a %zu-byte body", response.body().size());
    FUZZ_CHECK(certgate::fuzz::IsHeaderSafe(response.content_type()),
               "accepted a content type with control bytes (it becomes a header)");
  }
  (void)certgate::controlplane::ValidateJson(data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  absl::string_view rest = certgate::fuzz::AsView(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      FuzzCaCertificates(rest);
      break;
    case 1:
      FuzzCrl(rest);
      break;
    case 2:
      FuzzServerCertificate(rest);
      break;
    default:
      FuzzErrorResponse(rest);
      break;
  }
  ERR_clear_error();
  return 0;
}
