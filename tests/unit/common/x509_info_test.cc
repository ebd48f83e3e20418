#include "common/x509_info.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "gtest/gtest.h"
#include "openssl/digest.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "tests/support/test_pki.h"

namespace certgate {
namespace {

using ::certgate::testing::Issue;
using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
using ::certgate::testing::MakeLeaf;

constexpr int64_t k2019 = 1546300800;  // 2019-01-01T00:00:00Z
constexpr int64_t k2020 = 1577836800;  // 2020-01-01T00:00:00Z
constexpr int64_t k2026 = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t k2050 = 2524608000;  // 2050-01-01T00:00:00Z (GeneralizedTime)

std::string Bytes(const uint8_t* data, size_t len) {
  return std::string(reinterpret_cast<const char*>(data), len);
}

// Reparse forgets any extension cache a modified certificate may hold.
bssl::UniquePtr<X509> Reparse(const X509* cert) {
  auto parsed = CertificateFromDer(CertificateToDer(cert));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? std::move(parsed).value() : nullptr;
}

void DeleteExtension(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  ASSERT_GE(index, 0);
  bssl::UniquePtr<X509_EXTENSION> removed(X509_delete_ext(cert, index));
}

TEST(HexEncodeTest, LowercaseWithoutSeparators) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

struct SerialCase {
  std::string input;
  std::string want;
  std::string error;
};

class NormalizeSerialHexTest : public ::testing::TestWithParam<SerialCase> {};

TEST_P(NormalizeSerialHexTest, NormalizesOrRefuses) {
  const SerialCase& c = GetParam();
  auto got = NormalizeSerialHex(c.input);
  if (c.error.empty()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  } else {
    ASSERT_FALSE(got.ok()) << "accepted as " << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeSerialHexTest,
    ::testing::Values(
        SerialCase{"1a2B", "1a2b", ""}, SerialCase{"0x00FF", "ff", ""}, SerialCase{"0X0a", "a", ""},
        SerialCase{"0a:1b:2C", "a1b2c", ""}, SerialCase{" 7f ", "7f", ""},
        SerialCase{std::string(40, 'f'), std::string(40, 'f'), ""},
        SerialCase{"00" + std::string(40, 'f'), std::string(40, 'f'), ""},
        SerialCase{"", "", "serial \"\": empty"}, SerialCase{"0x", "", "serial \"0x\": empty"},
        SerialCase{"0", "", "serial \"0\": must be positive, not zero"},
        SerialCase{"00:00", "", "serial \"00:00\": must be positive, not zero"},
        SerialCase{"-1", "", "serial \"-1\": not a hex number"},
        SerialCase{"12g4", "", "serial \"12g4\": not a hex number"},
        SerialCase{"1" + std::string(40, '0'), "",
                   "serial \"1" + std::string(40, '0') + "\": longer than 20 bytes"}));

TEST(FormatRfc3339Test, Utc) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(k2020), "2020-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(k2050 + 3661), "2050-01-01T01:01:01Z");
}

class X509InfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeCa("Info Root");
    ASSERT_NE(ca_.cert, nullptr);
    leaf_ = MakeLeaf("device-1", ca_);
    ASSERT_NE(leaf_.cert, nullptr);
  }
  KeyAndCert ca_;
  KeyAndCert leaf_;
};

TEST_F(X509InfoTest, SerialHexIsLowercaseWithoutLeadingZeros) {
  std::string hex = SerialHex(leaf_.cert.get());
  ASSERT_FALSE(hex.empty());
  EXPECT_NE(hex[0], '0');
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  auto normalized = NormalizeSerialHex(hex);
  ASSERT_TRUE(normalized.ok());
  EXPECT_EQ(*normalized, hex);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf_.cert.get());
  std::string from_der =
      HexEncode(Bytes(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial)));
  EXPECT_EQ(from_der.substr(from_der.find_first_not_of('0')), hex);
}

TEST_F(X509InfoTest, FingerprintsAreDigestsOfTheDer) {
  std::string der = CertificateToDer(leaf_.cert.get());
  uint8_t sha256[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), sha256);
  uint8_t sha1[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const uint8_t*>(der.data()), der.size(), sha1);
  EXPECT_EQ(Sha256FingerprintHex(leaf_.cert.get()), HexEncode(Bytes(sha256, sizeof(sha256))));
  EXPECT_EQ(Sha1FingerprintHex(leaf_.cert.get()), HexEncode(Bytes(sha1, sizeof(sha1))));
  EXPECT_EQ(Sha256FingerprintHex(leaf_.cert.get()).size(), 64u);
}

TEST_F(X509InfoTest, SkiAndAkiChainUp) {
  std::string ca_ski = SubjectKeyIdHex(ca_.cert.get());
  EXPECT_EQ(ca_ski.size(), 40u);
  EXPECT_EQ(AuthorityKeyIdHex(leaf_.cert.get()), ca_ski);
  EXPECT_NE(SubjectKeyIdHex(leaf_.cert.get()), ca_ski);
}

TEST_F(X509InfoTest, AbsentSkiAndAkiAreEmpty) {
  bssl::UniquePtr<X509> copy(X509_dup(leaf_.cert.get()));
  DeleteExtension(copy.get(), NID_subject_key_identifier);
  DeleteExtension(copy.get(), NID_authority_key_identifier);
  ASSERT_TRUE(X509_sign(copy.get(), ca_.key.get(), EVP_sha256()));
  bssl::UniquePtr<X509> bare = Reparse(copy.get());
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(SubjectKeyIdHex(bare.get()), "");
  EXPECT_EQ(AuthorityKeyIdHex(bare.get()), "");
}

TEST_F(X509InfoTest, ValidityIsReadBothSidesOf2050) {
  CertificateSpec spec;
  spec.common_name = "long-lived";
  spec.not_before_unix = k2026;
  spec.not_after_unix = k2050;
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  EXPECT_EQ(NotBeforeUnix(cert.cert.get()), k2026);
  EXPECT_EQ(NotAfterUnix(cert.cert.get()), k2050);
}

TEST_F(X509InfoTest, NameToRfc4514OrdersAndEscapes) {
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(ca_.cert.get())), "CN=Info Root");
  CertificateSpec spec;
  spec.common_name = "a,b+c";
  spec.organization = "Acme \"Devices\"";
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  // Most significant RDN last: O was added after CN.
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(cert.cert.get())),
            "O=Acme \\\"Devices\\\",CN=a\\,b\\+c");
}

TEST_F(X509InfoTest, NameToRfc4514KeepsUtf8AndEscapesControlBytes) {
  CertificateSpec spec;
  spec.common_name = std::string("Ger\xc3\xa4t\r\n\0x", 10);
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  std::string name = NameToRfc4514(X509_get_subject_name(cert.cert.get()));
  EXPECT_EQ(name.find_first_of(std::string("\r\n\0", 3)), std::string::npos) << name;
  EXPECT_EQ(name.rfind("CN=Ger\xc3\xa4t", 0), 0u) << name;
}

TEST_F(X509InfoTest, NameToDerRoundTrips) {
  const X509_NAME* name = X509_get_subject_name(leaf_.cert.get());
  std::string der = NameToDer(name);
  ASSERT_FALSE(der.empty());
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_NAME> parsed(d2i_X509_NAME(nullptr, &p, der.size()));
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(X509_NAME_cmp(parsed.get(), name), 0);
}

TEST_F(X509InfoTest, IsCaCertificate) {
  EXPECT_TRUE(IsCaCertificate(ca_.cert.get()));
  EXPECT_FALSE(IsCaCertificate(leaf_.cert.get()));
}

TEST_F(X509InfoTest, ValidateCaCertificateAcceptsAValidRoot) {
  EXPECT_TRUE(ValidateCaCertificate(ca_.cert.get(), absl::ToUnixSeconds(absl::Now())).ok());
}

TEST_F(X509InfoTest, LeafUploadedAsCaIsRefused) {
  absl::Status status = ValidateCaCertificate(leaf_.cert.get(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "\"CN=device-1\" is not a CA certificate (basicConstraints CA:FALSE)");
}

TEST_F(X509InfoTest, ExpiredAndNotYetValidCasAreRefused) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = "Old Root";
  spec.is_ca = true;
  spec.not_before_unix = k2019;
  spec.not_after_unix = k2020;
  auto old_root = IssueCertificate(spec, key->get(), nullptr, nullptr);
  ASSERT_TRUE(old_root.ok()) << old_root.status();
  absl::Status status = ValidateCaCertificate(old_root->get(), k2026);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "\"CN=Old Root\" expired on 2020-01-01T00:00:00Z");
  // Still fine on its last day.
  EXPECT_TRUE(ValidateCaCertificate(old_root->get(), k2020).ok());

  status = ValidateCaCertificate(old_root->get(), k2019 - 1);
  EXPECT_EQ(status.message(), "\"CN=Old Root\" is not valid before 2019-01-01T00:00:00Z");
}

TEST_F(X509InfoTest, CaWithoutKeyCertSignIsRefused) {
  bssl::UniquePtr<X509> copy(X509_dup(ca_.cert.get()));
  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  ASSERT_TRUE(ASN1_BIT_STRING_set_bit(usage.get(), 0, 1));  // digitalSignature only
  ASSERT_TRUE(X509_add1_ext_i2d(copy.get(), NID_key_usage, usage.get(), 1, X509V3_ADD_REPLACE));
  ASSERT_TRUE(X509_sign(copy.get(), ca_.key.get(), EVP_sha256()));
  bssl::UniquePtr<X509> cert = Reparse(copy.get());
  ASSERT_NE(cert, nullptr);
  EXPECT_FALSE(IsCaCertificate(cert.get()));
  absl::Status status = ValidateCaCertificate(cert.get(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(status.message(),
            "\"CN=Info Root\" is not a CA certificate (keyUsage lacks keyCertSign)");
}

TEST_F(X509InfoTest, CaWithoutBasicConstraintsIsRefused) {
  bssl::UniquePtr<X509> copy(X509_dup(ca_.cert.get()));
  DeleteExtension(copy.get(), NID_basic_constraints);
  ASSERT_TRUE(X509_sign(copy.get(), ca_.key.get(), EVP_sha256()));
  bssl::UniquePtr<X509> cert = Reparse(copy.get());
  ASSERT_NE(cert, nullptr);
  absl::Status status = ValidateCaCertificate(cert.get(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(status.message(), "\"CN=Info Root\" is not a CA certificate (no basicConstraints)");
}

TEST_F(X509InfoTest, OversizedCaIsRefused) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = "Big Root";
  spec.is_ca = true;
  for (int i = 0; i < 1200; ++i) {
    spec.dns_names.push_back(absl::StrCat("name-", i, "-", std::string(50, 'x'), ".example"));
  }
  auto big = IssueCertificate(spec, key->get(), nullptr, nullptr);
  ASSERT_TRUE(big.ok()) << big.status();
  size_t size = CertificateToDer(big->get()).size();
  ASSERT_GT(size, 65536u);
  absl::Status status = ValidateCaCertificate(big->get(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(status.message(),
            absl::StrCat("\"CN=Big Root\" is too large (", size, " bytes; at most 65536)"));
}

TEST_F(X509InfoTest, DnsNamesListsDnsSansOnly) {
  CertificateSpec spec;
  spec.common_name = "server";
  spec.dns_names = {"auth.pizza", "*.wild.pizza"};
  spec.uris = {"spiffe://pizza/server"};
  spec.ips = {"192.0.2.1"};
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  EXPECT_EQ(DnsNames(cert.cert.get()), (std::vector<std::string>{"auth.pizza", "*.wild.pizza"}));
  EXPECT_TRUE(DnsNames(leaf_.cert.get()).empty());
}

struct CoverCase {
  std::string hostname;
  bool covered;
};

TEST_F(X509InfoTest, CertificateCoversHostname) {
  CertificateSpec spec;
  spec.common_name = "ignored.pizza";  // CN is not used when SANs exist
  spec.dns_names = {"auth.pizza", "*.wild.pizza"};
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  const std::vector<CoverCase> cases = {
      {"auth.pizza", true},         {"AUTH.PIZZA", true},
      {"x.wild.pizza", true},       {"*.wild.pizza", true},
      {"a.b.wild.pizza", false},    {"wild.pizza", false},
      {"*.auth.pizza", false},      {"ignored.pizza", false},
      {"client.auth.pizza", false}, {"", false},
  };
  for (const CoverCase& c : cases) {
    EXPECT_EQ(CertificateCoversHostname(cert.cert.get(), c.hostname), c.covered) << c.hostname;
  }
}

TEST_F(X509InfoTest, CommonNameCoversHostnameOnlyWithoutSans) {
  CertificateSpec spec;
  spec.common_name = "legacy.pizza";
  KeyAndCert cert = Issue(spec, ca_);
  ASSERT_NE(cert.cert, nullptr);
  EXPECT_TRUE(CertificateCoversHostname(cert.cert.get(), "legacy.pizza"));
  EXPECT_FALSE(CertificateCoversHostname(cert.cert.get(), "other.pizza"));
}

}  // namespace
}  // namespace certgate
