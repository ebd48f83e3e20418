#include "common/field_selector.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "openssl/base64.h"
#include "openssl/bio.h"
#include "openssl/digest.h"
#include "openssl/pem.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "tests/support/test_pki.h"

namespace certgate {
namespace {

using ::certgate::testing::Issue;
using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
using ::certgate::testing::MakeLeaf;

constexpr int64_t k2026 = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t k2036 = 2082758400;  // 2036-01-01T00:00:00Z

std::string Base64Decode(const std::string& text) {
  size_t max_len = 0;
  if (!EVP_DecodedLength(&max_len, text.size())) {
    return "<bad length>";
  }
  std::string out(max_len, '\0');
  size_t len = 0;
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(&out[0]), &len, max_len,
                        reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    return "<bad base64>";
  }
  out.resize(len);
  return out;
}

std::string Base64Encode(const std::string& bytes) {
  size_t len = 0;
  EXPECT_TRUE(EVP_EncodedLength(&len, bytes.size()));
  std::string out(len, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<uint8_t*>(&out[0]),
                             reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  return out;
}

std::string UrlDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// MakeCsrPem builds a CSR for `key` whose subject has every attribute the
// selectors read, in the usual C, ST, L, O, OU, CN order.
std::string MakeCsrPem(EVP_PKEY* key) {
  bssl::UniquePtr<X509_REQ> req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  const std::vector<std::pair<int, std::string>> entries = {
      {NID_countryName, "DE"},
      {NID_stateOrProvinceName, "Berlin"},
      {NID_localityName, "Kreuzberg"},
      {NID_organizationName, "Acme Devices"},
      {NID_organizationalUnitName, "Sensors"},
      {NID_organizationalUnitName, "Fleet 7"},
      {NID_commonName, "device-42"},
      {NID_serialNumber, "SN-0042"},
  };
  for (const auto& [nid, value] : entries) {
    EXPECT_TRUE(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                           reinterpret_cast<const uint8_t*>(value.data()),
                                           static_cast<int>(value.size()), -1, 0));
  }
  EXPECT_TRUE(X509_REQ_set_pubkey(req.get(), key));
  EXPECT_TRUE(X509_REQ_sign(req.get(), key, EVP_sha256()));
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_TRUE(PEM_write_bio_X509_REQ(bio.get(), req.get()));
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

class FieldSelectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto root_key = GenerateKey(KeyType::kEcP256);
    ASSERT_TRUE(root_key.ok());
    CertificateSpec root_spec;
    root_spec.common_name = "Selector Root";
    root_spec.organization = "Acme";
    root_spec.is_ca = true;
    auto root = IssueCertificate(root_spec, root_key->get(), nullptr, nullptr);
    ASSERT_TRUE(root.ok()) << root.status();
    root_.key = std::move(root_key).value();
    root_.cert = std::move(root).value();

    CertificateSpec intermediate_spec;
    intermediate_spec.common_name = "Selector Intermediate";
    intermediate_spec.organization = "Acme";
    intermediate_spec.is_ca = true;
    intermediate_spec.path_len = 0;
    intermediate_ = Issue(intermediate_spec, root_);
    ASSERT_NE(intermediate_.cert, nullptr);

    auto leaf_key = GenerateKey(KeyType::kEcP256);
    ASSERT_TRUE(leaf_key.ok());
    CertificateSpec spec;
    spec.client_auth = true;
    spec.not_before_unix = k2026;
    spec.not_after_unix = k2036;
    spec.dns_names = {"device-42.acme.example", "backup.acme.example"};
    spec.uris = {"https://acme.example/devices/42", "spiffe://acme.example/device/42",
                 "spiffe://acme.example/second"};
    spec.emails = {"ops@acme.example"};
    spec.ips = {"192.0.2.7", "2001:db8::1"};
    auto leaf = SignCsr(MakeCsrPem(leaf_key->get()), spec, intermediate_.cert.get(),
                        intermediate_.key.get());
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    leaf_.key = std::move(leaf_key).value();
    leaf_.cert = std::move(leaf).value();

    chain_.reset(sk_X509_new_null());
    // As SSL_get_peer_full_cert_chain gives it: leaf first.
    ASSERT_TRUE(bssl::PushToStack(chain_.get(), bssl::UpRef(leaf_.cert)));
    ASSERT_TRUE(bssl::PushToStack(chain_.get(), bssl::UpRef(intermediate_.cert)));
    ASSERT_TRUE(bssl::PushToStack(chain_.get(), bssl::UpRef(root_.cert)));
  }

  std::string Extract(const std::string& selector) {
    auto value = ExtractField(leaf_.cert.get(), chain_.get(), selector);
    EXPECT_TRUE(value.ok()) << selector << ": " << value.status();
    return value.ok() ? *value : "<error>";
  }

  KeyAndCert root_;
  KeyAndCert intermediate_;
  KeyAndCert leaf_;
  bssl::UniquePtr<STACK_OF(X509)> chain_;
};

TEST_F(FieldSelectorTest, NameSelectors) {
  EXPECT_EQ(Extract("subject"),
            "serialNumber=SN-0042,CN=device-42,OU=Fleet 7,OU=Sensors,O=Acme Devices,"
            "L=Kreuzberg,ST=Berlin,C=DE");
  EXPECT_EQ(Extract("subject.CN"), "device-42");
  EXPECT_EQ(Extract("subject.O"), "Acme Devices");
  EXPECT_EQ(Extract("subject.OU"), "Sensors, Fleet 7");
  EXPECT_EQ(Extract("subject.C"), "DE");
  EXPECT_EQ(Extract("subject.ST"), "Berlin");
  EXPECT_EQ(Extract("subject.L"), "Kreuzberg");
  EXPECT_EQ(Extract("subject.serialNumber"), "SN-0042");
  EXPECT_EQ(Extract("issuer"), "O=Acme,CN=Selector Intermediate");
  EXPECT_EQ(Extract("issuer.CN"), "Selector Intermediate");
  EXPECT_EQ(Extract("issuer.O"), "Acme");
  EXPECT_EQ(Extract("issuer.OU"), "");
  EXPECT_EQ(Extract("issuer.C"), "");
  EXPECT_EQ(Extract("issuer.ST"), "");
  EXPECT_EQ(Extract("issuer.L"), "");
  EXPECT_EQ(Extract("issuer.serialNumber"), "");
}

TEST_F(FieldSelectorTest, SerialValidityAndDigests) {
  EXPECT_EQ(Extract("serial"), SerialHex(leaf_.cert.get()));
  EXPECT_FALSE(Extract("serial").empty());
  EXPECT_EQ(Extract("not_before"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Extract("not_after"), "2036-01-01T00:00:00Z");

  std::string der = CertificateToDer(leaf_.cert.get());
  uint8_t sha256[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), sha256);
  uint8_t sha1[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const uint8_t*>(der.data()), der.size(), sha1);
  EXPECT_EQ(Extract("fingerprint.sha256"),
            HexEncode(std::string(reinterpret_cast<char*>(sha256), sizeof(sha256))));
  EXPECT_EQ(Extract("fingerprint.sha1"),
            HexEncode(std::string(reinterpret_cast<char*>(sha1), sizeof(sha1))));
}

TEST_F(FieldSelectorTest, KeyIdentifiers) {
  // RFC 5280 method 1: SHA-1 of the subjectPublicKey bits.
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(leaf_.cert.get());
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(ASN1_STRING_get0_data(bits), ASN1_STRING_length(bits), digest);
  EXPECT_EQ(Extract("ski"),
            HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof(digest))));
  EXPECT_EQ(Extract("aki"), SubjectKeyIdHex(intermediate_.cert.get()));
}

TEST_F(FieldSelectorTest, SubjectAltNames) {
  EXPECT_EQ(Extract("san.dns"), "device-42.acme.example, backup.acme.example");
  EXPECT_EQ(Extract("san.uri"),
            "https://acme.example/devices/42, spiffe://acme.example/device/42, "
            "spiffe://acme.example/second");
  EXPECT_EQ(Extract("san.email"), "ops@acme.example");
  EXPECT_EQ(Extract("san.ip"), "192.0.2.7, 2001:db8::1");
  EXPECT_EQ(Extract("spiffe_id"), "spiffe://acme.example/device/42");
}

// RFC 8705 3.1: base64url (no padding) of the SHA-256 of the DER.
TEST_F(FieldSelectorTest, X5tS256IsBase64UrlOfTheDigest) {
  uint8_t digest[32];
  std::string der = CertificateToDer(leaf_.cert.get());
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  std::string want = absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
  std::string got = Extract("x5t#S256");
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.size(), 43u);  // 32 bytes, unpadded
  EXPECT_EQ(got.find_first_of("+/="), std::string::npos);
}

// Envoy's X-Forwarded-Client-Cert element: a table of leaves and the exact
// value, quoting included.
TEST_F(FieldSelectorTest, XfccTable) {
  struct Case {
    const char* name;
    CertificateSpec spec;
    std::string want_after_hash;  // everything after "Hash=<hex>;"
  };
  std::vector<Case> cases;
  {
    CertificateSpec spec;
    spec.common_name = "plain";
    cases.push_back({"subject only", spec, "Subject=\"CN=plain\""});
  }
  {
    CertificateSpec spec;
    spec.common_name = "dev";
    spec.organization = "Acme, Inc.";
    spec.uris = {"spiffe://acme.example/device/1"};
    spec.dns_names = {"a.acme.example", "b.acme.example"};
    cases.push_back({"uri and two dns", spec,
                     "Subject=\"O=Acme\\\\, Inc.,CN=dev\";URI=spiffe://acme.example/device/1;"
                     "DNS=a.acme.example;DNS=b.acme.example"});
  }
  {
    CertificateSpec spec;
    spec.common_name = "q\"uote";
    spec.uris = {"https://acme.example/a;b=c"};
    cases.push_back({"quotes and separators", spec,
                     "Subject=\"CN=q\\\\\\\"uote\";URI=\"https://acme.example/a;b=c\""});
  }
  for (Case& c : cases) {
    c.spec.client_auth = true;
    KeyAndCert cert = Issue(c.spec, root_);
    ASSERT_NE(cert.cert, nullptr) << c.name;
    auto value = ExtractField(cert.cert.get(), nullptr, "xfcc");
    ASSERT_TRUE(value.ok()) << c.name;
    EXPECT_EQ(*value,
              absl::StrCat("Hash=", Sha256FingerprintHex(cert.cert.get()), ";", c.want_after_hash))
        << c.name;
  }
}

TEST_F(FieldSelectorTest, AbsentSansAreEmpty) {
  KeyAndCert plain = MakeLeaf("plain", root_);
  ASSERT_NE(plain.cert, nullptr);
  for (const char* selector : {"san.dns", "san.uri", "san.email", "san.ip", "spiffe_id"}) {
    auto value = ExtractField(plain.cert.get(), nullptr, selector);
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(*value, "") << selector;
  }
}

TEST_F(FieldSelectorTest, CertIsRfc9440ByteSequence) {
  std::string value = Extract("cert");
  ASSERT_GE(value.size(), 2u);
  EXPECT_EQ(value.front(), ':');
  EXPECT_EQ(value.back(), ':');
  EXPECT_EQ(Base64Decode(value.substr(1, value.size() - 2)), CertificateToDer(leaf_.cert.get()));
}

TEST_F(FieldSelectorTest, ChainListsEverythingButTheLeaf) {
  std::string value = Extract("chain");
  std::vector<std::string> items;
  for (X509* cert : {intermediate_.cert.get(), root_.cert.get()}) {
    std::string der = CertificateToDer(cert);
    items.push_back(absl::StrCat(":", Base64Encode(der), ":"));
  }
  EXPECT_EQ(value, absl::StrJoin(items, ", "));

  auto without_chain = ExtractField(leaf_.cert.get(), nullptr, "chain");
  ASSERT_TRUE(without_chain.ok());
  EXPECT_EQ(*without_chain, "");
}

TEST_F(FieldSelectorTest, CertPemIsUrlEncodedPem) {
  std::string value = Extract("cert.pem");
  EXPECT_EQ(value.rfind("-----BEGIN%20CERTIFICATE-----%0A", 0), 0u) << value;
  EXPECT_EQ(value.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
            std::string::npos);
  EXPECT_EQ(UrlDecode(value), CertificateToPem(leaf_.cert.get()));
  // '+', '/' and '=' of the base64 are encoded too, as nginx does.
  EXPECT_EQ(value.find_first_of("+/="), std::string::npos);
}

TEST_F(FieldSelectorTest, ExtensionValueAsBase64) {
  // subjectKeyIdentifier's value is the DER OCTET STRING of the key id.
  std::string ski_value = Base64Decode(Extract("ext.2.5.29.14"));
  ASSERT_EQ(ski_value.size(), 22u);
  EXPECT_EQ(ski_value.substr(0, 2), std::string("\x04\x14", 2));
  EXPECT_EQ(HexEncode(ski_value.substr(2)), SubjectKeyIdHex(leaf_.cert.get()));
  // extendedKeyUsage clientAuth: SEQUENCE { OID 1.3.6.1.5.5.7.3.2 }.
  EXPECT_EQ(HexEncode(Base64Decode(Extract("ext.2.5.29.37"))), "300a06082b06010505070302");
  EXPECT_EQ(Extract("ext.1.3.6.1.4.1.99999.1"), "");
}

TEST_F(FieldSelectorTest, NullLeafGivesEmptyValues) {
  for (const std::string& selector : AllFieldSelectors()) {
    auto value = ExtractField(nullptr, nullptr, selector);
    ASSERT_TRUE(value.ok()) << selector;
    EXPECT_EQ(*value, "") << selector;
  }
}

TEST_F(FieldSelectorTest, EverySelectorWorksOnARealCertificate) {
  for (const std::string& selector : AllFieldSelectors()) {
    auto value = ExtractField(leaf_.cert.get(), chain_.get(), selector);
    ASSERT_TRUE(value.ok()) << selector << ": " << value.status();
  }
}

TEST_F(FieldSelectorTest, UnknownSelectorsAreRefusedAtExtraction) {
  auto value = ExtractField(leaf_.cert.get(), chain_.get(), "subject.XX");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "unknown field selector \"subject.XX\"");
}

TEST_F(FieldSelectorTest, ControlBytesInTheSubjectNeverReachTheHeader) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = std::string("evil\r\nX-Injected: 1\0tail%", 25);
  spec.organization = "\tAcme\x7f";
  auto cert = IssueCertificate(spec, key->get(), root_.cert.get(), root_.key.get());
  ASSERT_TRUE(cert.ok()) << cert.status();
  for (const std::string& selector : AllFieldSelectors()) {
    auto value = ExtractField(cert->get(), chain_.get(), selector);
    ASSERT_TRUE(value.ok()) << selector;
    EXPECT_EQ(value->find_first_of(std::string("\r\n\0", 3)), std::string::npos)
        << selector << ": " << *value;
  }
  auto cn = ExtractField(cert->get(), nullptr, "subject.CN");
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(*cn, "evil%0D%0AX-Injected: 1%00tail%25");
  auto o = ExtractField(cert->get(), nullptr, "subject.O");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o, "%09Acme%7F");
}

TEST_F(FieldSelectorTest, BmpStringNamesAreDecodedAndEscaped) {
  // A BMPString (UTF-16) name, as older CAs write them. (BoringSSL refuses
  // to parse or encode names whose strings do not decode, so undecodable
  // names never reach the selectors.)
  bssl::UniquePtr<X509> cert(X509_dup(leaf_.cert.get()));
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  const std::string organization("\0G\0e\0r\0\xe4\0t", 10);  // "Gerät"
  const std::string common_name("\0a\0\r\0\n\0b", 8);        // "a\r\nb"
  ASSERT_TRUE(X509_NAME_add_entry_by_NID(name.get(), NID_organizationName, V_ASN1_BMPSTRING,
                                         reinterpret_cast<const uint8_t*>(organization.data()),
                                         static_cast<int>(organization.size()), -1, 0));
  ASSERT_TRUE(X509_NAME_add_entry_by_NID(name.get(), NID_commonName, V_ASN1_BMPSTRING,
                                         reinterpret_cast<const uint8_t*>(common_name.data()),
                                         static_cast<int>(common_name.size()), -1, 0));
  ASSERT_TRUE(X509_set_subject_name(cert.get(), name.get()));
  ASSERT_TRUE(X509_sign(cert.get(), intermediate_.key.get(), EVP_sha256()));
  auto parsed = CertificateFromDer(CertificateToDer(cert.get()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();

  auto o = ExtractField(parsed->get(), nullptr, "subject.O");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o, "Ger\xc3\xa4t");
  auto cn = ExtractField(parsed->get(), nullptr, "subject.CN");
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(*cn, "a%0D%0Ab");
  auto subject = ExtractField(parsed->get(), nullptr, "subject");
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(*subject, "CN=a\\0D\\0Ab,O=Ger\xc3\xa4t");
}

TEST_F(FieldSelectorTest, Utf8NamesAreKept) {
  CertificateSpec spec;
  spec.common_name = "Ger\xc3\xa4t-\xe6\x97\xa5\xe6\x9c\xac";
  KeyAndCert cert = Issue(spec, root_);
  ASSERT_NE(cert.cert, nullptr);
  auto cn = ExtractField(cert.cert.get(), nullptr, "subject.CN");
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(*cn, spec.common_name);
  auto subject = ExtractField(cert.cert.get(), nullptr, "subject");
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(*subject, "CN=" + spec.common_name);
}

TEST(ValidateFieldSelectorTest, EveryListedSelectorIsValid) {
  EXPECT_EQ(AllFieldSelectors().size(), 33u);
  for (const std::string& selector : AllFieldSelectors()) {
    EXPECT_TRUE(ValidateFieldSelector(selector).ok()) << selector;
  }
}

struct SelectorCase {
  std::string selector;
  std::string error;  // "" when valid
};

class ValidateFieldSelectorTableTest : public ::testing::TestWithParam<SelectorCase> {};

TEST_P(ValidateFieldSelectorTableTest, AcceptsOrRefuses) {
  const SelectorCase& c = GetParam();
  absl::Status status = ValidateFieldSelector(c.selector);
  if (c.error.empty()) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateFieldSelectorTableTest,
    ::testing::Values(
        SelectorCase{"subject.CN", ""}, SelectorCase{"issuer.serialNumber", ""},
        SelectorCase{"ext.2.5.29.17", ""}, SelectorCase{"ext.1.3.6.1.4.1.99999.1", ""},
        SelectorCase{"ext.0.9", ""}, SelectorCase{"x5t#S256", ""}, SelectorCase{"xfcc", ""},
        SelectorCase{"x5t#s256", "unknown field selector \"x5t#s256\""},
        SelectorCase{"subject.XX", "unknown field selector \"subject.XX\""},
        SelectorCase{"subject.cn", "unknown field selector \"subject.cn\""},
        SelectorCase{"Subject", "unknown field selector \"Subject\""},
        SelectorCase{"", "unknown field selector \"\""},
        SelectorCase{"san", "unknown field selector \"san\""},
        SelectorCase{"san.dns ", "unknown field selector \"san.dns \""},
        SelectorCase{"fingerprint.md5", "unknown field selector \"fingerprint.md5\""},
        SelectorCase{"subject.CN\r\nX: y", "unknown field selector \"subject.CN??X: y\""},
        SelectorCase{"ext", "unknown field selector \"ext\""},
        SelectorCase{"ext.", "field selector \"ext.\": no OID after \"ext.\""},
        SelectorCase{"ext.1",
                     "field selector \"ext.1\": an OID needs at least two arcs (like "
                     "1.3.6.1.4.1.99999.1)"},
        SelectorCase{"ext.1..2", "field selector \"ext.1..2\": empty OID arc"},
        SelectorCase{"ext.1.2.", "field selector \"ext.1.2.\": empty OID arc"},
        SelectorCase{"ext.1.2a", "field selector \"ext.1.2a\": an OID is digits and dots only"},
        SelectorCase{"ext.-1.2", "field selector \"ext.-1.2\": an OID is digits and dots only"},
        SelectorCase{"ext.subjectAltName",
                     "field selector \"ext.subjectAltName\": an OID needs at least two arcs "
                     "(like 1.3.6.1.4.1.99999.1)"},
        SelectorCase{"ext.1.02", "field selector \"ext.1.02\": OID arcs have no leading zeros"},
        SelectorCase{"ext.3.1", "field selector \"ext.3.1\": the first OID arc must be 0, 1 or 2"},
        SelectorCase{"ext.1.40", "field selector \"ext.1.40\": not a valid OID"}));

struct EscapeCase {
  std::string input;
  std::string want;
};

class EscapeHeaderValueTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeHeaderValueTest, Escapes) {
  const EscapeCase& c = GetParam();
  std::string got = EscapeHeaderValue(c.input);
  EXPECT_EQ(got, c.want);
  EXPECT_EQ(got.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EscapeHeaderValueTest,
    ::testing::Values(EscapeCase{"plain value", "plain value"}, EscapeCase{"", ""},
                      EscapeCase{"a\r\nb", "a%0D%0Ab"}, EscapeCase{std::string("a\0b", 3), "a%00b"},
                      EscapeCase{"100%", "100%25"}, EscapeCase{"%0D", "%250D"},
                      EscapeCase{"%", "%25"}, EscapeCase{"%25", "%2525"}, EscapeCase{"\x7f", "%7F"},
                      EscapeCase{"a\tb", "a%09b"}, EscapeCase{"\x1b[31m", "%1B[31m"},
                      EscapeCase{"  padded  ", "padded"}, EscapeCase{"   ", ""},
                      EscapeCase{" \r\n ", "%0D%0A"},
                      // Valid UTF-8 stays; anything else is escaped byte by byte.
                      EscapeCase{"Ger\xc3\xa4t \xf0\x9f\x94\x92", "Ger\xc3\xa4t \xf0\x9f\x94\x92"},
                      EscapeCase{"\xff", "%FF"}, EscapeCase{"a\xc3", "a%C3"},
                      EscapeCase{"\xc3(", "%C3("},
                      EscapeCase{"\xc0\xaf", "%C0%AF"},                  // overlong '/'
                      EscapeCase{"\xed\xa0\x80", "%ED%A0%80"},           // UTF-16 surrogate
                      EscapeCase{"\xf4\x90\x80\x80", "%F4%90%80%80"}));  // above U+10FFFF

}  // namespace
}  // namespace certgate
