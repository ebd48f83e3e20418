#include "common/cert_factory.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "openssl/bio.h"
#include "openssl/digest.h"
#include "openssl/ec_key.h"
#include "openssl/evp.h"
#include "openssl/nid.h"
#include "openssl/pem.h"
#include "openssl/rsa.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace certgate {
namespace {

using ::certgate::testing::Issue;
using ::certgate::testing::KeyAndCert;
using ::certgate::testing::MakeCa;
using ::certgate::testing::MakeLeaf;

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

// ExtensionIsCritical: -1 when absent.
int ExtensionIsCritical(const X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  if (index < 0) {
    return -1;
  }
  return X509_EXTENSION_get_critical(X509_get_ext(cert, index));
}

uint32_t KeyUsage(const X509* cert) { return X509_get_key_usage(const_cast<X509*>(cert)); }

uint32_t ExtendedKeyUsage(const X509* cert) {
  return X509_get_extended_key_usage(const_cast<X509*>(cert));
}

// VerifyInProcess runs BoringSSL's chain verification for a TLS client.
int VerifyInProcess(const X509* root, const std::vector<const X509*>& intermediates,
                    const X509* leaf, X509_CRL* crl = nullptr) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), const_cast<X509*>(root));
  if (crl != nullptr) {
    X509_STORE_add_crl(store.get(), crl);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (const X509* cert : intermediates) {
    bssl::PushToStack(untrusted.get(), bssl::UpRef(const_cast<X509*>(cert)));
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(leaf), untrusted.get());
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) == 1) {
    return X509_V_OK;
  }
  return X509_STORE_CTX_get_error(ctx.get());
}

struct KeyTypeCase {
  std::string name;
  KeyType type;
};

TEST(ParseKeyTypeTest, KnownNames) {
  const std::vector<KeyTypeCase> cases = {{"ec-p256", KeyType::kEcP256},
                                          {"EC-P384", KeyType::kEcP384},
                                          {"rsa-2048", KeyType::kRsa2048},
                                          {"rsa-3072", KeyType::kRsa3072}};
  for (const KeyTypeCase& c : cases) {
    auto type = ParseKeyType(c.name);
    ASSERT_TRUE(type.ok()) << c.name;
    EXPECT_EQ(*type, c.type) << c.name;
  }
  auto bad = ParseKeyType("dsa");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "unknown key type \"dsa\" (use ec-p256, ec-p384, rsa-2048 or rsa-3072)");
}

TEST(GenerateKeyTest, MakesTheRequestedKey) {
  struct Want {
    KeyType type;
    int id;
    unsigned bits;
  };
  for (const Want& want :
       {Want{KeyType::kEcP256, EVP_PKEY_EC, 256}, Want{KeyType::kEcP384, EVP_PKEY_EC, 384},
        Want{KeyType::kRsa2048, EVP_PKEY_RSA, 2048}, Want{KeyType::kRsa3072, EVP_PKEY_RSA, 3072}}) {
    auto key = GenerateKey(want.type);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(EVP_PKEY_id(key->get()), want.id);
    EXPECT_EQ(static_cast<unsigned>(EVP_PKEY_bits(key->get())), want.bits);
  }
  auto a = GenerateKey(KeyType::kEcP256);
  auto b = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(EVP_PKEY_cmp(a->get(), b->get()), 1);
}

TEST(IssueCertificateTest, SelfSignedCaHasTheRightExtensions) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = "Acme Devices CA";
  spec.organization = "Acme";
  spec.is_ca = true;
  spec.path_len = 1;
  spec.days = 10;
  int64_t before = Now();
  auto ca = IssueCertificate(spec, key->get(), nullptr, nullptr);
  ASSERT_TRUE(ca.ok()) << ca.status();
  X509* cert = ca->get();

  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(cert)), "O=Acme,CN=Acme Devices CA");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
  EXPECT_EQ(X509_verify(cert, key->get()), 1);
  EXPECT_TRUE(IsCaCertificate(cert));
  EXPECT_EQ(X509_get_pathlen(cert), 1);
  EXPECT_EQ(ExtensionIsCritical(cert, NID_basic_constraints), 1);
  EXPECT_EQ(ExtensionIsCritical(cert, NID_key_usage), 1);
  EXPECT_EQ(KeyUsage(cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(ExtensionIsCritical(cert, NID_ext_key_usage), -1);
  EXPECT_EQ(ExtensionIsCritical(cert, NID_subject_key_identifier), 0);
  EXPECT_EQ(AuthorityKeyIdHex(cert), SubjectKeyIdHex(cert));
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);

  // Five minutes of clock skew before now, `days` after that.
  EXPECT_NEAR(static_cast<double>(NotBeforeUnix(cert)), static_cast<double>(before - 300), 5);
  EXPECT_EQ(NotAfterUnix(cert) - NotBeforeUnix(cert), 10 * 86400);
}

TEST(IssueCertificateTest, SkiIsSha1OfThePublicKeyBits) {
  KeyAndCert ca = MakeCa("SKI Root");
  ASSERT_NE(ca.cert, nullptr);
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(ca.cert.get());
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(ASN1_STRING_get0_data(bits), ASN1_STRING_length(bits), digest);
  EXPECT_EQ(SubjectKeyIdHex(ca.cert.get()),
            HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof(digest))));
}

TEST(IssueCertificateTest, SerialsAreRandomPositiveSixteenBytes) {
  KeyAndCert ca = MakeCa("Serial Root");
  ASSERT_NE(ca.cert, nullptr);
  std::vector<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    KeyAndCert leaf = MakeLeaf(absl::StrCat("device-", i), ca);
    ASSERT_NE(leaf.cert, nullptr);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.cert.get());
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);
    EXPECT_EQ(ASN1_STRING_length(serial), 16);
    EXPECT_EQ(ASN1_STRING_get0_data(serial)[0] & 0x80, 0);
    EXPECT_NE(ASN1_STRING_get0_data(serial)[0], 0);
    std::string hex = SerialHex(leaf.cert.get());
    for (const std::string& other : seen) {
      EXPECT_NE(hex, other);
    }
    seen.push_back(hex);
  }
}

TEST(IssueCertificateTest, LeafHasSansEkuAndLeafKeyUsage) {
  KeyAndCert ca = MakeCa("Leaf Root");
  ASSERT_NE(ca.cert, nullptr);
  CertificateSpec spec;
  spec.common_name = "device-1";
  spec.client_auth = true;
  spec.server_auth = true;
  spec.dns_names = {"device-1.example"};
  spec.uris = {"spiffe://example/device-1"};
  spec.emails = {"device-1@example.com"};
  spec.ips = {"10.0.0.1", "::1"};
  KeyAndCert leaf = Issue(spec, ca);
  ASSERT_NE(leaf.cert, nullptr);
  X509* cert = leaf.cert.get();
  EXPECT_FALSE(IsCaCertificate(cert));
  EXPECT_EQ(ExtensionIsCritical(cert, NID_basic_constraints), 1);
  EXPECT_EQ(KeyUsage(cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(ExtendedKeyUsage(cert), static_cast<uint32_t>(XKU_SSL_CLIENT | XKU_SSL_SERVER));
  EXPECT_EQ(ExtensionIsCritical(cert, NID_subject_alt_name), 0);
  EXPECT_EQ(DnsNames(cert), std::vector<std::string>{"device-1.example"});
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca.cert.get())), 0);
  EXPECT_EQ(AuthorityKeyIdHex(cert), SubjectKeyIdHex(ca.cert.get()));
  bssl::UniquePtr<EVP_PKEY> ca_public(X509_get_pubkey(ca.cert.get()));
  EXPECT_EQ(X509_verify(cert, ca_public.get()), 1);
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, cert), X509_V_OK);
}

TEST(IssueCertificateTest, RsaLeafAlsoGetsKeyEncipherment) {
  KeyAndCert ca = MakeCa("RSA Root", KeyType::kRsa2048);
  ASSERT_NE(ca.cert, nullptr);
  EXPECT_EQ(X509_get_signature_nid(ca.cert.get()), NID_sha256WithRSAEncryption);
  CertificateSpec spec;
  spec.common_name = "rsa-device";
  spec.client_auth = true;
  KeyAndCert leaf = Issue(spec, ca, KeyType::kRsa2048);
  ASSERT_NE(leaf.cert, nullptr);
  EXPECT_EQ(KeyUsage(leaf.cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, leaf.cert.get()), X509_V_OK);
}

TEST(IssueCertificateTest, P384IssuerSignsWithSha384) {
  KeyAndCert ca = MakeCa("P-384 Root", KeyType::kEcP384);
  ASSERT_NE(ca.cert, nullptr);
  EXPECT_EQ(X509_get_signature_nid(ca.cert.get()), NID_ecdsa_with_SHA384);
  KeyAndCert leaf = MakeLeaf("device", ca);
  ASSERT_NE(leaf.cert, nullptr);
  EXPECT_EQ(X509_get_signature_nid(leaf.cert.get()), NID_ecdsa_with_SHA384);
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, leaf.cert.get()), X509_V_OK);
}

TEST(IssueCertificateTest, IntermediateChainVerifiesAndPathLenIsEnforced) {
  KeyAndCert root = MakeCa("Chain Root");
  ASSERT_NE(root.cert, nullptr);
  CertificateSpec intermediate_spec;
  intermediate_spec.common_name = "Chain Intermediate";
  intermediate_spec.is_ca = true;
  intermediate_spec.path_len = 0;
  KeyAndCert intermediate = Issue(intermediate_spec, root);
  ASSERT_NE(intermediate.cert, nullptr);
  KeyAndCert leaf = MakeLeaf("device", intermediate);
  ASSERT_NE(leaf.cert, nullptr);
  EXPECT_EQ(VerifyInProcess(root.cert.get(), {intermediate.cert.get()}, leaf.cert.get()),
            X509_V_OK);
  // Without the intermediate the leaf does not chain.
  EXPECT_NE(VerifyInProcess(root.cert.get(), {}, leaf.cert.get()), X509_V_OK);

  // pathLen 0: a CA under the intermediate may not issue.
  CertificateSpec sub_spec;
  sub_spec.common_name = "Too Deep";
  sub_spec.is_ca = true;
  KeyAndCert sub = Issue(sub_spec, intermediate);
  ASSERT_NE(sub.cert, nullptr);
  KeyAndCert deep_leaf = MakeLeaf("deep", sub);
  ASSERT_NE(deep_leaf.cert, nullptr);
  EXPECT_EQ(VerifyInProcess(root.cert.get(), {intermediate.cert.get(), sub.cert.get()},
                            deep_leaf.cert.get()),
            X509_V_ERR_PATH_LENGTH_EXCEEDED);
}

TEST(IssueCertificateTest, ExplicitValidityAndUtf8Names) {
  KeyAndCert ca = MakeCa("Validity Root");
  ASSERT_NE(ca.cert, nullptr);
  CertificateSpec spec;
  spec.common_name = "Ger\xc3\xa4t";
  spec.not_before_unix = 1767225600;  // 2026-01-01
  spec.days = 2;
  KeyAndCert leaf = Issue(spec, ca);
  ASSERT_NE(leaf.cert, nullptr);
  EXPECT_EQ(NotBeforeUnix(leaf.cert.get()), 1767225600);
  EXPECT_EQ(NotAfterUnix(leaf.cert.get()), 1767225600 + 2 * 86400);
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(leaf.cert.get())), "CN=Ger\xc3\xa4t");
}

struct RefusalCase {
  std::string name;
  CertificateSpec spec;
  std::string error;
};

TEST(IssueCertificateTest, BadSpecsAreRefused) {
  KeyAndCert ca = MakeCa("Refusal Root");
  ASSERT_NE(ca.cert, nullptr);
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  auto with = [](auto change) {
    CertificateSpec spec;
    spec.common_name = "device";
    change(&spec);
    return spec;
  };
  const std::vector<RefusalCase> cases = {
      {"empty subject", with([](CertificateSpec* s) { s->common_name = ""; }),
       "certificate needs a common name or organization"},
      {"cn too long", with([](CertificateSpec* s) { s->common_name = std::string(65, 'a'); }),
       "common name is not valid (UTF-8, at most 64 characters)"},
      {"cn not utf-8", with([](CertificateSpec* s) { s->common_name = "bad\xff"; }),
       "common name is not valid (UTF-8, at most 64 characters)"},
      {"zero days", with([](CertificateSpec* s) { s->days = 0; }),
       "days must be from 1 to 36500; got 0"},
      {"end before start", with([](CertificateSpec* s) {
         s->not_before_unix = 1767225600;
         s->not_after_unix = 1767225600 - 1;
       }),
       "not_after (2025-12-31T23:59:59Z) must be after not_before (2026-01-01T00:00:00Z)"},
      {"bad ip", with([](CertificateSpec* s) { s->ips = {"10.0.0.256"}; }),
       "IP SAN \"10.0.0.256\" is not an IPv4 or IPv6 address"},
      {"dns with space", with([](CertificateSpec* s) { s->dns_names = {"a b.example"}; }),
       "DNS SAN \"a b.example\" must be non-empty printable ASCII without spaces"},
      {"uri with newline", with([](CertificateSpec* s) { s->uris = {"spiffe://x\n"}; }),
       "URI SAN \"spiffe://x\n\" must be non-empty printable ASCII without spaces"},
      {"empty email", with([](CertificateSpec* s) { s->emails = {""}; }),
       "email SAN \"\" must be non-empty printable ASCII without spaces"},
  };
  for (const RefusalCase& c : cases) {
    auto cert = IssueCertificate(c.spec, key->get(), ca.cert.get(), ca.key.get());
    ASSERT_FALSE(cert.ok()) << c.name;
    EXPECT_EQ(cert.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(cert.status().message(), c.error) << c.name;
  }
}

TEST(IssueCertificateTest, BadIssuersAreRefused) {
  KeyAndCert ca = MakeCa("Issuer Root");
  ASSERT_NE(ca.cert, nullptr);
  KeyAndCert leaf = MakeLeaf("not-a-ca", ca);
  ASSERT_NE(leaf.cert, nullptr);
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = "device";

  auto by_leaf = IssueCertificate(spec, key->get(), leaf.cert.get(), leaf.key.get());
  ASSERT_FALSE(by_leaf.ok());
  EXPECT_EQ(by_leaf.status().message(), "issuer \"CN=not-a-ca\" is not a CA certificate");

  auto wrong_key = IssueCertificate(spec, key->get(), ca.cert.get(), leaf.key.get());
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().message(),
            "issuer key does not match the certificate \"CN=Issuer Root\"");

  auto no_key = IssueCertificate(spec, key->get(), ca.cert.get(), nullptr);
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().message(), "no issuer key");

  auto self_signed_other_key = IssueCertificate(spec, key->get(), nullptr, ca.key.get());
  ASSERT_FALSE(self_signed_other_key.ok());
  EXPECT_EQ(self_signed_other_key.status().message(),
            "a self-signed certificate must be signed with its own key (no issuer certificate "
            "given)");
}

// MakeCsr builds a CSR for `key`, signed by `signer` (normally the same key).
std::string MakeCsr(EVP_PKEY* key, EVP_PKEY* signer, const std::string& cn, bool pem = true) {
  bssl::UniquePtr<X509_REQ> req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  EXPECT_TRUE(X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                         reinterpret_cast<const uint8_t*>("Acme"), 4, -1, 0));
  EXPECT_TRUE(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         reinterpret_cast<const uint8_t*>(cn.data()),
                                         static_cast<int>(cn.size()), -1, 0));
  EXPECT_TRUE(X509_REQ_set_pubkey(req.get(), key));
  EXPECT_TRUE(X509_REQ_sign(req.get(), signer, EVP_sha256()));
  if (!pem) {
    uint8_t* der = nullptr;
    int len = i2d_X509_REQ(req.get(), &der);
    bssl::UniquePtr<uint8_t> owner(der);
    return std::string(reinterpret_cast<char*>(der), len > 0 ? len : 0);
  }
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_TRUE(PEM_write_bio_X509_REQ(bio.get(), req.get()));
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

TEST(SignCsrTest, IssuesForTheCsrKeyAndSubject) {
  KeyAndCert ca = MakeCa("CSR Root");
  ASSERT_NE(ca.cert, nullptr);
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  CertificateSpec spec;
  spec.client_auth = true;
  spec.uris = {"spiffe://acme/device/7"};
  auto cert =
      SignCsr(MakeCsr(key->get(), key->get(), "device-7"), spec, ca.cert.get(), ca.key.get());
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(cert->get())), "CN=device-7,O=Acme");
  bssl::UniquePtr<EVP_PKEY> public_key(X509_get_pubkey(cert->get()));
  EXPECT_EQ(EVP_PKEY_cmp(public_key.get(), key->get()), 1);
  EXPECT_EQ(ExtendedKeyUsage(cert->get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, cert->get()), X509_V_OK);

  // DER works too, and the spec's CN replaces the CSR's.
  spec.common_name = "renamed";
  auto from_der = SignCsr(MakeCsr(key->get(), key->get(), "device-7", /*pem=*/false), spec,
                          ca.cert.get(), ca.key.get());
  ASSERT_TRUE(from_der.ok()) << from_der.status();
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(from_der->get())), "CN=renamed,O=Acme");
}

TEST(SignCsrTest, RefusesForgedAndMalformedCsrs) {
  KeyAndCert ca = MakeCa("CSR Root");
  ASSERT_NE(ca.cert, nullptr);
  auto key = GenerateKey(KeyType::kEcP256);
  auto other = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok() && other.ok());
  CertificateSpec spec;

  // The CSR names `key` but was signed by `other`: no proof of possession.
  auto forged =
      SignCsr(MakeCsr(key->get(), other->get(), "device"), spec, ca.cert.get(), ca.key.get());
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.status().message(), "CSR: its signature does not verify");

  auto garbage = SignCsr("not a csr", spec, ca.cert.get(), ca.key.get());
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message(),
            "CSR: not a PEM \"CERTIFICATE REQUEST\" or DER certificate request");

  auto no_issuer = SignCsr(MakeCsr(key->get(), key->get(), "device"), spec, nullptr, nullptr);
  ASSERT_FALSE(no_issuer.ok());
  EXPECT_EQ(no_issuer.status().message(), "signing a CSR needs an issuer certificate");
}

TEST(IssueCrlTest, ListsNormalizedSerialsAndVerifies) {
  KeyAndCert ca = MakeCa("CRL Root");
  ASSERT_NE(ca.cert, nullptr);
  auto crl = IssueCrl(ca.cert.get(), ca.key.get(), {"0x0A:1B", "ff", "FF", "abc123"}, 30);
  ASSERT_TRUE(crl.ok()) << crl.status();
  EXPECT_EQ(X509_CRL_get_version(crl->get()), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl->get()), X509_get_subject_name(ca.cert.get())),
            0);
  bssl::UniquePtr<EVP_PKEY> ca_public(X509_get_pubkey(ca.cert.get()));
  EXPECT_EQ(X509_CRL_verify(crl->get(), ca_public.get()), 1);
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl->get());
  std::vector<std::string> serials;
  for (size_t i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
    std::string hex = HexEncode(std::string(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)), ASN1_STRING_length(serial)));
    serials.push_back(hex.substr(hex.find_first_not_of('0')));
  }
  std::sort(serials.begin(), serials.end());
  // Normalized, and duplicates (ff, FF) listed once.
  EXPECT_EQ(serials, (std::vector<std::string>{"a1b", "abc123", "ff"}));
  int64_t next_update_days = 0;
  {
    int days = 0;
    int seconds = 0;
    ASSERT_TRUE(ASN1_TIME_diff(&days, &seconds, X509_CRL_get0_lastUpdate(crl->get()),
                               X509_CRL_get0_nextUpdate(crl->get())));
    next_update_days = days;
  }
  EXPECT_EQ(next_update_days, 30);
}

TEST(IssueCrlTest, RevokedLeafFailsVerificationOthersPass) {
  KeyAndCert ca = MakeCa("CRL Root");
  ASSERT_NE(ca.cert, nullptr);
  KeyAndCert revoked = MakeLeaf("revoked", ca);
  KeyAndCert good = MakeLeaf("good", ca);
  ASSERT_NE(revoked.cert, nullptr);
  ASSERT_NE(good.cert, nullptr);
  auto crl = IssueCrl(ca.cert.get(), ca.key.get(), {SerialHex(revoked.cert.get())}, 7);
  ASSERT_TRUE(crl.ok()) << crl.status();
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, revoked.cert.get(), crl->get()),
            X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(VerifyInProcess(ca.cert.get(), {}, good.cert.get(), crl->get()), X509_V_OK);
}

TEST(IssueCrlTest, RefusesBadInput) {
  KeyAndCert ca = MakeCa("CRL Root");
  ASSERT_NE(ca.cert, nullptr);
  KeyAndCert leaf = MakeLeaf("leaf", ca);
  ASSERT_NE(leaf.cert, nullptr);

  auto bad_serial = IssueCrl(ca.cert.get(), ca.key.get(), {"12", "xyz"}, 7);
  ASSERT_FALSE(bad_serial.ok());
  EXPECT_EQ(bad_serial.status().message(), "serial \"xyz\": not a hex number");

  auto zero_days = IssueCrl(ca.cert.get(), ca.key.get(), {"12"}, 0);
  ASSERT_FALSE(zero_days.ok());
  EXPECT_EQ(zero_days.status().message(), "days must be from 1 to 36500; got 0");

  auto by_leaf = IssueCrl(leaf.cert.get(), leaf.key.get(), {"12"}, 7);
  ASSERT_FALSE(by_leaf.ok());
  EXPECT_EQ(by_leaf.status().message(), "issuer \"CN=leaf\" is not a CA certificate");

  auto wrong_key = IssueCrl(ca.cert.get(), leaf.key.get(), {"12"}, 7);
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().message(),
            "issuer key does not match the certificate \"CN=CRL Root\"");
}

// Interop: the system's OpenSSL command line accepts what the factory makes.
class OpensslInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = certgate::testing::MakeTempDir("certgate-common");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (getenv("CERTGATE_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    certgate::testing::WriteFile(path, content);
    return path;
  }

  std::string dir_;
};

TEST_F(OpensslInteropTest, OpensslVerifiesIssuedChains) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEcP384, KeyType::kRsa2048}) {
    KeyAndCert root = MakeCa("Interop Root", type);
    ASSERT_NE(root.cert, nullptr);
    CertificateSpec intermediate_spec;
    intermediate_spec.common_name = "Interop Intermediate";
    intermediate_spec.is_ca = true;
    intermediate_spec.path_len = 0;
    KeyAndCert intermediate = Issue(intermediate_spec, root, type);
    ASSERT_NE(intermediate.cert, nullptr);
    CertificateSpec leaf_spec;
    leaf_spec.common_name = "interop-device";
    leaf_spec.client_auth = true;
    leaf_spec.uris = {"spiffe://interop/device"};
    KeyAndCert leaf = Issue(leaf_spec, intermediate, type);
    ASSERT_NE(leaf.cert, nullptr);
    KeyAndCert direct = MakeLeaf("direct-device", root);
    ASSERT_NE(direct.cert, nullptr);

    std::string ca = Write("ca.pem", CertificateToPem(root.cert.get()));
    std::string untrusted = Write("int.pem", CertificateToPem(intermediate.cert.get()));
    std::string leaf_path = Write("leaf.pem", CertificateToPem(leaf.cert.get()));
    std::string direct_path = Write("direct.pem", CertificateToPem(direct.cert.get()));

    auto result = certgate::testing::RunCommand({"openssl", "verify", "-CAfile", ca, direct_path});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_EQ(result.out, direct_path + ": OK\n");

    result =
        certgate::testing::RunCommand({"openssl", "verify", "-x509_strict", "-purpose", "sslclient",
                                       "-CAfile", ca, "-untrusted", untrusted, leaf_path});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_EQ(result.out, leaf_path + ": OK\n");

    // And it can fail: the leaf does not chain to the wrong root.
    KeyAndCert stranger = MakeCa("Interop Root", type);
    ASSERT_NE(stranger.cert, nullptr);
    std::string wrong = Write("wrong.pem", CertificateToPem(stranger.cert.get()));
    result = certgate::testing::RunCommand(
        {"openssl", "verify", "-CAfile", wrong, "-untrusted", untrusted, leaf_path});
    EXPECT_NE(result.exit_code, 0) << result.out;
  }
}

TEST_F(OpensslInteropTest, OpensslVerifiesIssuedCrls) {
  KeyAndCert root = MakeCa("CRL Interop Root");
  ASSERT_NE(root.cert, nullptr);
  KeyAndCert revoked = MakeLeaf("revoked-device", root);
  KeyAndCert good = MakeLeaf("good-device", root);
  ASSERT_NE(revoked.cert, nullptr);
  ASSERT_NE(good.cert, nullptr);
  auto crl = IssueCrl(root.cert.get(), root.key.get(), {SerialHex(revoked.cert.get())}, 7);
  ASSERT_TRUE(crl.ok()) << crl.status();

  std::string ca = Write("ca.pem", CertificateToPem(root.cert.get()));
  std::string crl_path = Write("crl.pem", CrlToPem(crl->get()));
  std::string revoked_path = Write("revoked.pem", CertificateToPem(revoked.cert.get()));
  std::string good_path = Write("good.pem", CertificateToPem(good.cert.get()));

  auto result = certgate::testing::RunCommand(
      {"openssl", "crl", "-verify", "-CAfile", ca, "-in", crl_path, "-noout"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(absl::StrContains(result.out + result.err, "verify OK")) << result.out << result.err;

  result = certgate::testing::RunCommand(
      {"openssl", "verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl_path, good_path});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;

  result = certgate::testing::RunCommand(
      {"openssl", "verify", "-crl_check", "-CAfile", ca, "-CRLfile", crl_path, revoked_path});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(result.out + result.err, "certificate revoked"))
      << result.out << result.err;

  // A CRL signed by another CA does not verify against this one.
  KeyAndCert stranger = MakeCa("CRL Interop Root");
  ASSERT_NE(stranger.cert, nullptr);
  auto forged = IssueCrl(stranger.cert.get(), stranger.key.get(), {"01"}, 7);
  ASSERT_TRUE(forged.ok());
  std::string forged_path = Write("forged.pem", CrlToPem(forged->get()));
  result = certgate::testing::RunCommand(
      {"openssl", "crl", "-verify", "-CAfile", ca, "-in", forged_path, "-noout"});
  EXPECT_FALSE(absl::StrContains(result.out + result.err, "verify OK"));
}

TEST_F(OpensslInteropTest, CurlPresentsAnIssuedClientCertificateToAnOpensslServer) {
  KeyAndCert root = MakeCa("Curl Root");
  ASSERT_NE(root.cert, nullptr);
  CertificateSpec server_spec;
  server_spec.common_name = "localhost";
  server_spec.server_auth = true;
  server_spec.dns_names = {"localhost"};
  KeyAndCert server = Issue(server_spec, root);
  ASSERT_NE(server.cert, nullptr);
  CertificateSpec client_spec;
  client_spec.common_name = "curl-device";
  client_spec.client_auth = true;
  KeyAndCert client = Issue(client_spec, root, KeyType::kRsa2048);
  ASSERT_NE(client.cert, nullptr);

  std::string ca = Write("ca.pem", CertificateToPem(root.cert.get()));
  std::string server_cert = Write("server.pem", CertificateToPem(server.cert.get()));
  std::string server_key = Write("server.key", PrivateKeyToPem(server.key.get()));
  std::string client_cert = Write("client.pem", CertificateToPem(client.cert.get()));
  std::string client_key = Write("client.key", PrivateKeyToPem(client.key.get()));

  int port = certgate::testing::FreePort();
  // -Verify makes the client certificate mandatory and checked against ca.pem.
  auto openssl_server = certgate::testing::Subprocess::Start(
      {"openssl", "s_server", "-accept", absl::StrCat("127.0.0.1:", port), "-cert", server_cert,
       "-key", server_key, "-CAfile", ca, "-Verify", "2", "-verify_return_error", "-www"},
      dir_ + "/s_server.log");
  ASSERT_TRUE(openssl_server.ok()) << openssl_server.status();
  ASSERT_TRUE(certgate::testing::WaitForPort(port)) << (*openssl_server)->ReadLog();

  std::string url = absl::StrCat("https://localhost:", port, "/");
  std::string resolve = absl::StrCat("localhost:", port, ":127.0.0.1");
  auto result =
      certgate::testing::RunCommand({"curl", "-sS", "--max-time", "20", "--cacert", ca, "--cert",
                                     client_cert, "--key", client_key, "--resolve", resolve, url},
                                    "", {}, absl::Seconds(30));
  EXPECT_EQ(result.exit_code, 0) << result.err << (*openssl_server)->ReadLog();
  EXPECT_TRUE(absl::StrContains(result.out, "Client certificate")) << result.out;
  EXPECT_TRUE(absl::StrContains(result.out, "Subject: CN=curl-device")) << result.out;

  // Without a client certificate the same server refuses the handshake.
  result = certgate::testing::RunCommand(
      {"curl", "-sS", "--max-time", "20", "--cacert", ca, "--resolve", resolve, url}, "", {},
      absl::Seconds(30));
  EXPECT_NE(result.exit_code, 0) << result.out;
}

TEST_F(OpensslInteropTest, KeysAndCertificatesMadeByOpensslAreRead) {
  struct KeyCommand {
    std::string name;
    std::vector<std::string> argv;
    std::string first_line;
  };
  const std::vector<KeyCommand> commands = {
      {"pkcs8-ec",
       {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"},
       "-----BEGIN PRIVATE KEY-----"},
      {"ecparam",
       {"openssl", "ecparam", "-name", "prime256v1", "-genkey"},
       "-----BEGIN EC PARAMETERS-----"},
      {"rsa-traditional",
       {"openssl", "genrsa", "-traditional", "2048"},
       "-----BEGIN RSA PRIVATE KEY-----"},
  };
  for (const KeyCommand& command : commands) {
    auto result = certgate::testing::RunCommand(command.argv);
    ASSERT_EQ(result.exit_code, 0) << command.name << ": " << result.err;
    EXPECT_EQ(result.out.rfind(command.first_line, 0), 0u) << command.name << ": " << result.out;
    auto key = ParsePrivateKey(result.out);
    EXPECT_TRUE(key.ok()) << command.name << ": " << key.status();
  }

  // `openssl req -x509` makes a CA (basicConstraints CA:TRUE); `-text` puts a
  // dump in front of the PEM, as tenants often upload it.
  std::string key_path = dir_ + "/ca.key";
  auto result = certgate::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", key_path, "-subj", "/O=Acme/CN=Openssl Root", "-days", "2", "-text"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto certs = ParseCertificates(result.out);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ(NameToRfc4514(X509_get_subject_name(certs->front().get())), "CN=Openssl Root,O=Acme");
  EXPECT_TRUE(ValidateCaCertificate(certs->front().get(), Now()).ok());
  auto key = ParsePrivateKey(certgate::testing::ReadFile(key_path));
  ASSERT_TRUE(key.ok()) << key.status();

  // The factory can sign with what openssl made.
  KeyAndCert openssl_ca{std::move(key).value(), std::move(certs->front())};
  KeyAndCert leaf = MakeLeaf("signed-by-openssl-ca", openssl_ca);
  ASSERT_NE(leaf.cert, nullptr);
  std::string ca = Write("openssl-ca.pem", CertificateToPem(openssl_ca.cert.get()));
  std::string leaf_path = Write("leaf.pem", CertificateToPem(leaf.cert.get()));
  result = certgate::testing::RunCommand({"openssl", "verify", "-CAfile", ca, leaf_path});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(OpensslInteropTest, OpensslReadsOurKeysAndCertificatesBack) {
  auto key = GenerateKey(KeyType::kEcP256);
  ASSERT_TRUE(key.ok());
  std::string key_path = Write("key.pem", PrivateKeyToPem(key->get()));
  auto result = certgate::testing::RunCommand({"openssl", "pkey", "-in", key_path, "-noout"});
  EXPECT_EQ(result.exit_code, 0) << result.err;

  KeyAndCert root = MakeCa("Print Root");
  ASSERT_NE(root.cert, nullptr);
  std::string ca = Write("ca.pem", CertificateToPem(root.cert.get()));
  result = certgate::testing::RunCommand({"openssl", "x509", "-in", ca, "-noout", "-subject",
                                          "-ext", "subjectKeyIdentifier", "-nameopt", "RFC2253"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(absl::StrContains(result.out, "subject=CN=Print Root")) << result.out;
  // openssl prints the SKI as colon-separated upper-case hex.
  std::string ski = SubjectKeyIdHex(root.cert.get());
  std::string colon_hex;
  for (size_t i = 0; i < ski.size(); i += 2) {
    absl::StrAppend(&colon_hex, i == 0 ? "" : ":", absl::AsciiStrToUpper(ski.substr(i, 2)));
  }
  EXPECT_TRUE(absl::StrContains(result.out, colon_hex)) << result.out << " want " << colon_hex;
}

}  // namespace
}  // namespace certgate
