#include "dataplane/config/zone_source.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "dataplane/tls/zone_ssl_context.h"
#include "dataplane/tls/zone_trust.h"
#include "gtest/gtest.h"
#include "openssl/pool.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

using testing::KeyAndCert;
using testing::MakeCa;
using testing::MakeZone;

class ZoneSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { root_ = new KeyAndCert(MakeCa("Zone Source Test Root")); }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static v1::EdgeZone Zone(uint64_t id, const std::string& hostname) {
    v1::EdgeZone zone = MakeZone(id, hostname, {root_->cert.get()});
    zone.add_header_mappings()->set_header("X-Cn");
    zone.mutable_header_mappings(0)->set_selector("subject.cn");
    return zone;
  }
  static KeyAndCert* root_;
};

KeyAndCert* ZoneSourceTest::root_ = nullptr;

TEST_F(ZoneSourceTest, GivesBackTheZoneExactlyAndHoldsTheChainAsDer) {
  v1::EdgeZone zone = Zone(1, "a.pizza");
  ZoneSource source = ZoneSource::From(zone);
  EXPECT_TRUE(source.compact());
  EXPECT_EQ(source.chain().size(), 2u) << "leaf and CA";
  EXPECT_EQ(source.Zone().SerializeAsString(), zone.SerializeAsString());
  EXPECT_TRUE(source.Is(zone));
  // Held smaller than the parsed proto it came from.
  EXPECT_LT(source.SpaceUsed(), zone.SpaceUsedLong());
}

TEST_F(ZoneSourceTest, ZonesShareTheCertificatesTheyHaveInCommon) {
  ZoneSource a = ZoneSource::From(Zone(1, "a.pizza"));
  ZoneSource b = ZoneSource::From(Zone(2, "b.pizza"));
  ASSERT_EQ(a.chain().size(), 2u);
  ASSERT_EQ(b.chain().size(), 2u);
  EXPECT_NE(a.chain()[0], b.chain()[0]) << "each zone its own leaf";
  EXPECT_EQ(a.chain()[1], b.chain()[1]) << "the CA certificate is held once";
}

TEST_F(ZoneSourceTest, TheZonesSslContextSharesItsChain) {
  v1::EdgeZone zone = Zone(1, "a.pizza");
  ZoneSource source = ZoneSource::From(zone);
  auto trust = ZoneTrust::Create(zone);
  ASSERT_TRUE(trust.ok()) << trust.status();
  auto ctx = NewZoneSslContext(source.Zone(), **trust);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const STACK_OF(CRYPTO_BUFFER)* chain = SSL_CTX_get0_chain(ctx->get());
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(sk_CRYPTO_BUFFER_num(chain), 2u);
  EXPECT_EQ(sk_CRYPTO_BUFFER_value(chain, 0), source.chain()[0]);
  EXPECT_EQ(sk_CRYPTO_BUFFER_value(chain, 1), source.chain()[1]);
}

TEST_F(ZoneSourceTest, TextThatWouldNotComeBackAsSentIsKeptAsText) {
  v1::EdgeZone base = Zone(1, "a.pizza");
  struct Case {
    const char* what;
    std::string chain;
    std::string key;
  };
  const Case cases[] = {
      {"comment before the chain", "issued by our CA\n" + base.server_chain_pem(),
       base.server_key_pem()},
      {"CRLF line ends", absl::StrReplaceAll(base.server_chain_pem(), {{"\n", "\r\n"}}),
       base.server_key_pem()},
      {"text after the key", base.server_chain_pem(), base.server_key_pem() + "\n"},
      {"not PEM at all", "not a certificate", "not a key"},
      {"a label no chain has", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
       base.server_key_pem()},
      {"encrypted key headers", base.server_chain_pem(),
       absl::StrReplaceAll(base.server_key_pem(),
                           {{"-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n"}})},
  };
  for (const Case& c : cases) {
    v1::EdgeZone zone = base;
    zone.set_server_chain_pem(c.chain);
    zone.set_server_key_pem(c.key);
    ZoneSource source = ZoneSource::From(zone);
    EXPECT_FALSE(source.compact()) << c.what;
    EXPECT_EQ(source.Zone().SerializeAsString(), zone.SerializeAsString()) << c.what;
    EXPECT_TRUE(source.Is(zone)) << c.what;
    EXPECT_FALSE(source.Is(base)) << c.what;
  }
}

TEST_F(ZoneSourceTest, NoChainAndKeyIsKeptAsNone) {
  v1::EdgeZone zone = Zone(1, "a.pizza");
  zone.clear_server_chain_pem();
  zone.clear_server_key_pem();
  ZoneSource source = ZoneSource::From(zone);
  EXPECT_TRUE(source.compact());
  EXPECT_TRUE(source.chain().empty());
  EXPECT_EQ(source.Zone().SerializeAsString(), zone.SerializeAsString());
}

TEST_F(ZoneSourceTest, IsTellsEveryChange) {
  v1::EdgeZone zone = Zone(1, "a.pizza");
  ZoneSource source = ZoneSource::From(zone);
  v1::EdgeZone other_key = zone;
  other_key.set_server_key_pem(Zone(2, "a.pizza").server_key_pem());
  v1::EdgeZone other_chain = zone;
  other_chain.set_server_chain_pem(Zone(3, "a.pizza").server_chain_pem());
  v1::EdgeZone other_mapping = zone;
  other_mapping.mutable_header_mappings(0)->set_header("X-Other");
  v1::EdgeZone other_mode = zone;
  other_mode.set_mode(v1::MODE_REPORT);
  for (const v1::EdgeZone* changed : {&other_key, &other_chain, &other_mapping, &other_mode}) {
    EXPECT_FALSE(source.Is(*changed)) << changed->ShortDebugString().substr(0, 80);
  }
  EXPECT_TRUE(source.Is(zone));
}

}  // namespace
}  // namespace certgate::edge
