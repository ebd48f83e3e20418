#include "common/pem.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/cert_factory.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/ec_key.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "tests/support/test_pki.h"

namespace certgate {
namespace {

using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
using ::certgate::testing::MakeLeaf;

class PemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = MakeCa("PEM Test Root");
    ASSERT_NE(ca_.cert, nullptr);
    leaf_ = MakeLeaf("device-1", ca_);
    ASSERT_NE(leaf_.cert, nullptr);
    other_ = MakeLeaf("device-2", ca_);
    ASSERT_NE(other_.cert, nullptr);
  }

  KeyAndCert ca_;
  KeyAndCert leaf_;
  KeyAndCert other_;
};

TEST_F(PemTest, CertificatePemRoundTrip) {
  std::string pem = CertificateToPem(leaf_.cert.get());
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  auto certs = ParseCertificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ(X509_cmp(certs->front().get(), leaf_.cert.get()), 0);
  EXPECT_EQ(CertificateToDer(certs->front().get()), CertificateToDer(leaf_.cert.get()));
}

TEST_F(PemTest, MultiCertificatePemKeepsOrderAndIgnoresTextBetweenBlocks) {
  std::string pem = absl::StrCat("Subject: device-1\n", CertificateToPem(leaf_.cert.get()),
                                 "\nsome explanatory text\n", CertificateToPem(other_.cert.get()),
                                 CertificateToPem(ca_.cert.get()), "\n");
  auto certs = ParseCertificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 3u);
  EXPECT_EQ(CertificateToDer((*certs)[0].get()), CertificateToDer(leaf_.cert.get()));
  EXPECT_EQ(CertificateToDer((*certs)[1].get()), CertificateToDer(other_.cert.get()));
  EXPECT_EQ(CertificateToDer((*certs)[2].get()), CertificateToDer(ca_.cert.get()));
}

TEST_F(PemTest, CrlfLineEndingsAreAccepted) {
  std::string pem = absl::StrReplaceAll(CertificateToPem(leaf_.cert.get()), {{"\n", "\r\n"}});
  auto certs = ParseCertificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ(CertificateToDer(certs->front().get()), CertificateToDer(leaf_.cert.get()));
}

TEST_F(PemTest, DerCertificateIsParsed) {
  std::string der = CertificateToDer(leaf_.cert.get());
  ASSERT_FALSE(der.empty());
  auto certs = ParseCertificates(der);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ(CertificateToDer(certs->front().get()), der);

  auto one = CertificateFromDer(der);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(X509_cmp(one->get(), leaf_.cert.get()), 0);
}

TEST_F(PemTest, CertificateFromDerRefusesTrailingBytesAndGarbage) {
  std::string der = CertificateToDer(leaf_.cert.get());
  auto trailing = CertificateFromDer(der + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().message(), "trailing bytes after the DER certificate");
  auto empty = CertificateFromDer("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "empty DER");
  auto truncated = CertificateFromDer(der.substr(0, der.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().message(), "malformed DER certificate");
}

struct BadUpload {
  std::string name;
  std::string input;
  std::string error;
};

TEST_F(PemTest, GarbageIsRefusedWithAMessageNamingTheProblem) {
  std::string good = CertificateToPem(leaf_.cert.get());
  std::string second = CertificateToPem(other_.cert.get());
  // Flip base64 in the middle of the second block into something invalid.
  std::string corrupted = second;
  corrupted[corrupted.size() / 2] = '!';
  corrupted[corrupted.size() / 2 + 1] = '@';
  std::string not_a_cert =
      "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
  std::string der = CertificateToDer(leaf_.cert.get());
  std::string key_pem = PrivateKeyToPem(leaf_.key.get());

  const std::vector<BadUpload> cases = {
      {"empty", "", "no certificate found (empty input)"},
      {"whitespace", " \n\t ", "no certificate found (empty input)"},
      {"text", "hello world",
       "upload is neither PEM nor a DER certificate (no \"-----BEGIN CERTIFICATE-----\" line "
       "and not valid DER)"},
      {"der with trailing bytes", der + "junk",
       "upload is neither PEM nor a DER certificate (no \"-----BEGIN CERTIFICATE-----\" line "
       "and not valid DER)"},
      {"bad base64 in second block", good + corrupted, "certificate 2 in upload: malformed PEM"},
      {"valid base64 that is not a certificate", not_a_cert,
       "certificate 1 in upload: malformed DER certificate"},
      {"begin without end", good + "-----BEGIN CERTIFICATE-----\nMIIB\n",
       "certificate 2 in upload: \"-----BEGIN CERTIFICATE-----\" without its END line"},
      {"private key block", key_pem, "block 1 in upload is a \"PRIVATE KEY\", not a CERTIFICATE"},
      {"key after certificate", good + key_pem,
       "block 2 in upload is a \"PRIVATE KEY\", not a CERTIFICATE"},
  };
  for (const BadUpload& c : cases) {
    auto got = ParseCertificates(c.input);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(got.status().message(), c.error) << c.name;
  }
}

class PrivateKeyTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(PrivateKeyTest, Pkcs8PemAndDerRoundTrip) {
  auto key = GenerateKey(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  std::string pem = PrivateKeyToPem(key->get());
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  auto parsed = ParsePrivateKey(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(EVP_PKEY_cmp(parsed->get(), key->get()), 1);

  uint8_t* der = nullptr;
  int len = i2d_PrivateKey(key->get(), &der);
  ASSERT_GT(len, 0);
  bssl::UniquePtr<uint8_t> owner(der);
  auto from_der = ParsePrivateKey(std::string(reinterpret_cast<char*>(der), len));
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(EVP_PKEY_cmp(from_der->get(), key->get()), 1);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, PrivateKeyTest,
                         ::testing::Values(KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048));

TEST(ParsePrivateKeyTest, TraditionalEcPemIsAccepted) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  ASSERT_TRUE(PEM_write_bio_ECPrivateKey(bio.get(), EVP_PKEY_get0_EC_KEY(key->get()), nullptr,
                                         nullptr, 0, nullptr, nullptr));
  const uint8_t* data = nullptr;
  size_t len = 0;
  ASSERT_TRUE(BIO_mem_contents(bio.get(), &data, &len));
  std::string pem(reinterpret_cast<const char*>(data), len);
  ASSERT_EQ(pem.rfind("-----BEGIN EC PRIVATE KEY-----", 0), 0u);
  auto parsed = ParsePrivateKey(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(EVP_PKEY_cmp(parsed->get(), key->get()), 1);
}

TEST(ParsePrivateKeyTest, RefusesGarbageEncryptedAndNonKeyBlocks) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  std::string pem = PrivateKeyToPem(key->get());
  std::string corrupted = pem;
  corrupted[40] = '!';
  const std::vector<BadUpload> cases = {
      {"empty", "", "no private key found (empty input)"},
      {"text", "not a key",
       "private key is neither PEM nor DER (no \"-----BEGIN PRIVATE KEY-----\" line)"},
      {"corrupted", corrupted, "private key: malformed \"PRIVATE KEY\" PEM"},
      {"two keys", pem + pem, "more than one private key in upload"},
      {"encrypted",
       "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
       "encrypted private keys are not supported"},
      {"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
       "\"CERTIFICATE\" block where a private key was expected"},
  };
  for (const BadUpload& c : cases) {
    auto got = ParsePrivateKey(c.input);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(got.status().message(), c.error) << c.name;
  }
}

TEST_F(PemTest, CrlRoundTripsThroughPemAndDer) {
  auto crl = IssueCrl(ca_.cert.get(), ca_.key.get(), {"0a1b", "ff"}, 7);
  ASSERT_TRUE(crl.ok()) << crl.status();
  std::string pem = CrlToPem(crl->get());
  EXPECT_EQ(pem.rfind("-----BEGIN X509 CRL-----\n", 0), 0u);
  auto parsed = ParseCrl(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  uint8_t* der_a = nullptr;
  uint8_t* der_b = nullptr;
  int len_a = i2d_X509_CRL(crl->get(), &der_a);
  int len_b = i2d_X509_CRL(parsed->get(), &der_b);
  bssl::UniquePtr<uint8_t> owner_a(der_a);
  bssl::UniquePtr<uint8_t> owner_b(der_b);
  ASSERT_GT(len_a, 0);
  std::string der(reinterpret_cast<char*>(der_a), len_a);
  EXPECT_EQ(der, std::string(reinterpret_cast<char*>(der_b), len_b));
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(parsed->get())), 2u);

  auto from_der = ParseCrl(der);
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(from_der->get())), 2u);
}

TEST_F(PemTest, CrlGarbageIsRefused) {
  auto crl = IssueCrl(ca_.cert.get(), ca_.key.get(), {"01"}, 7);
  ASSERT_TRUE(crl.ok());
  std::string pem = CrlToPem(crl->get());
  const std::vector<BadUpload> cases = {
      {"empty", "", "no CRL found (empty input)"},
      {"text", "garbage", "CRL: malformed DER"},
      {"certificate", CertificateToPem(leaf_.cert.get()),
       "\"CERTIFICATE\" block where an X509 CRL was expected"},
      {"two crls", pem + pem, "expected one X509 CRL block, found 2 blocks"},
      {"bad base64", "-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n",
       "CRL: malformed PEM"},
  };
  for (const BadUpload& c : cases) {
    auto got = ParseCrl(c.input);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().message(), c.error) << c.name;
  }
}

}  // namespace
}  // namespace certgate
