#include "dataplane/config/edge_config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

using testing::KeyAndCert;
using testing::MakeCa;
using testing::MakeSnapshot;
using testing::MakeZone;

class EdgeConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { root_ = new KeyAndCert(MakeCa("Edge Config Test Root")); }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static v1::EdgeZone Zone(uint64_t id, const std::string& hostname) {
    return MakeZone(id, hostname, {root_->cert.get()});
  }
  static KeyAndCert* root_;
};

KeyAndCert* EdgeConfigTest::root_ = nullptr;

TEST_F(EdgeConfigTest, FindBySniTable) {
  auto config = EdgeConfig::FromSnapshot(
      MakeSnapshot(7, {Zone(1, "auth.pizza"), Zone(2, "client.auth.pizza"), Zone(3, "*.auth.pizza"),
                       Zone(4, "*.fleet.pizza")}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->version(), 7u);
  EXPECT_EQ((*config)->zone_count(), 4u);
  struct Case {
    const char* sni;
    const char* zone;  // nullptr: no match
  };
  const Case cases[] = {
      {"auth.pizza", "auth.pizza"},
      {"AUTH.Pizza", "auth.pizza"},                // case-insensitive
      {"client.auth.pizza", "client.auth.pizza"},  // exact beats wildcard
      {"other.auth.pizza", "*.auth.pizza"},
      {"x.y.auth.pizza", nullptr},  // one level only
      {"truck-1.fleet.pizza", "*.fleet.pizza"},
      {"fleet.pizza", nullptr},  // the wildcard does not cover its parent
      {"pizza", nullptr},
      {"", nullptr},
      {".auth.pizza", nullptr},  // never the index key itself
      {"*.auth.pizza", nullptr},
      {"a..auth.pizza", nullptr},
      {"auth.pizza.example", nullptr},
      {"nope.test", nullptr},
  };
  for (const Case& c : cases) {
    const ZoneConfig* zone = (*config)->FindBySni(c.sni);
    if (c.zone == nullptr) {
      EXPECT_EQ(zone, nullptr) << c.sni << " matched " << zone->hostname;
    } else {
      ASSERT_NE(zone, nullptr) << c.sni;
      EXPECT_EQ(zone->hostname, c.zone) << c.sni;
    }
  }
}

TEST_F(EdgeConfigTest, ZoneFieldsAndDefaults) {
  v1::EdgeZone source = Zone(5, "auth.pizza");
  source.set_origin("https://origin.internal:9443");
  auto* mapping = source.add_header_mappings();
  mapping->set_header("X-Device-Id");
  mapping->set_selector("subject.CN");
  source.mutable_status_header_names()->set_status("X-Mtls-Status");
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {source}));
  ASSERT_TRUE(config.ok()) << config.status();
  const ZoneConfig* zone = (*config)->FindById(5);
  ASSERT_NE(zone, nullptr);
  EXPECT_TRUE(zone->origin.tls);
  EXPECT_EQ(zone->origin.host, "origin.internal");
  EXPECT_EQ(zone->origin.port, 9443);
  EXPECT_EQ(zone->status_header, "X-Mtls-Status");
  EXPECT_EQ(zone->ski_header, "X-Client-Cert-Ski");
  EXPECT_EQ(zone->error_header, "X-Client-Cert-Error");
  ASSERT_EQ(zone->header_mappings.size(), 1u);
  EXPECT_EQ(zone->header_mappings[0].header, "X-Device-Id");
  EXPECT_NE(zone->ssl_ctx, nullptr);
  EXPECT_NE(zone->trust, nullptr);
  EXPECT_EQ((*config)->FindById(6), nullptr);
}

TEST_F(EdgeConfigTest, ApplyDeltaSharesUnchangedZones) {
  auto base = EdgeConfig::FromSnapshot(
      MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza"), Zone(3, "c.pizza")}));
  ASSERT_TRUE(base.ok()) << base.status();
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  v1::EdgeZone changed = Zone(2, "b.pizza");
  changed.set_mode(v1::MODE_REPORT);
  *delta.add_upserted() = changed;
  *delta.add_upserted() = Zone(4, "d.pizza");
  delta.add_removed_zone_ids(3);
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->version(), 2u);
  EXPECT_EQ((*next)->zone_count(), 3u);
  // Zone 1 is the very same object.
  EXPECT_EQ((*next)->FindById(1), (*base)->FindById(1));
  EXPECT_NE((*next)->FindById(2), (*base)->FindById(2));
  EXPECT_EQ((*next)->FindBySni("b.pizza")->mode, v1::MODE_REPORT);
  EXPECT_EQ((*next)->FindBySni("c.pizza"), nullptr);
  EXPECT_NE((*next)->FindBySni("d.pizza"), nullptr);
  // The old version is untouched.
  EXPECT_EQ((*base)->zone_count(), 3u);
  EXPECT_EQ((*base)->FindBySni("b.pizza")->mode, v1::MODE_ENFORCE);
  EXPECT_NE((*base)->FindBySni("c.pizza"), nullptr);
}

TEST_F(EdgeConfigTest, ApplyDeltaWithIdenticalZoneKeepsTheBuiltZone) {
  v1::EdgeZone zone = Zone(1, "a.pizza");
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {zone}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = zone;
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->FindById(1), (*base)->FindById(1));
}

TEST_F(EdgeConfigTest, ApplyDeltaRenamesAZone) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(1, "*.a.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->FindBySni("a.pizza"), nullptr);
  EXPECT_EQ((*next)->FindBySni("x.a.pizza")->id, 1u);
}

TEST_F(EdgeConfigTest, ApplyDeltaSwapsHostnamesBetweenZones) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(1, "b.pizza");
  *delta.add_upserted() = Zone(2, "a.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->FindBySni("a.pizza")->id, 2u);
  EXPECT_EQ((*next)->FindBySni("b.pizza")->id, 1u);
}

TEST_F(EdgeConfigTest, ApplyDeltaRefusesAVersionMismatch) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(5, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(4);
  delta.set_version(6);
  delta.add_removed_zone_ids(1);
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(next.status()));
  EXPECT_EQ(next.status().message(), "delta from version 4 does not apply to version 5");
  EXPECT_NE((*base)->FindBySni("a.pizza"), nullptr);
}

TEST_F(EdgeConfigTest, ApplyDeltaWithABadZoneIsRefusedWhole) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  delta.add_removed_zone_ids(1);
  *delta.add_upserted() = Zone(2, "b.pizza");
  v1::EdgeZone bad = Zone(3, "c.pizza");
  bad.set_server_key_pem("not a key");
  *delta.add_upserted() = bad;
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("zone \"c.pizza\""), std::string::npos) << next.status();
  EXPECT_EQ((*base)->version(), 1u);
  EXPECT_NE((*base)->FindBySni("a.pizza"), nullptr);
  EXPECT_EQ((*base)->FindBySni("b.pizza"), nullptr);
}

TEST_F(EdgeConfigTest, ApplyDeltaRefusesAHostnameOfAnotherZone) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(2, "a.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(), "zone \"a.pizza\": hostname already belongs to zone 1");
}

struct BadZoneCase {
  const char* name;
  void (*spoil)(v1::EdgeZone* zone);
  const char* expected;  // substring of the error
};

class MalformedSnapshotTest : public EdgeConfigTest,
                              public ::testing::WithParamInterface<BadZoneCase> {};

TEST_P(MalformedSnapshotTest, IsRefusedWholeNamingTheZone) {
  v1::EdgeZone bad = Zone(2, "bad.pizza");
  GetParam().spoil(&bad);
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "good.pizza"), bad}));
  ASSERT_FALSE(config.ok());
  std::string message(config.status().message());
  EXPECT_NE(message.find(absl::StrCat("zone \"", bad.hostname(), "\"")), std::string::npos)
      << message;
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedSnapshotTest,
    ::testing::Values(
        BadZoneCase{"BadKeyPem", [](v1::EdgeZone* z) { z->set_server_key_pem("garbage"); },
                    "server key"},
        BadZoneCase{"WrongKey",
                    [](v1::EdgeZone* z) {
                      z->set_server_key_pem(MakeZone(9, "x.pizza", {}).server_key_pem());
                    },
                    "does not match"},
        BadZoneCase{"BadRootDer", [](v1::EdgeZone* z) { z->add_roots_der("\x30\x03\x02\x01"); },
                    "root 2"},
        BadZoneCase{"BadIntermediateDer", [](v1::EdgeZone* z) { z->add_intermediates_der("nope"); },
                    "intermediate 1"},
        BadZoneCase{"BadChainPem", [](v1::EdgeZone* z) { z->set_server_chain_pem("nope"); },
                    "server certificate"},
        BadZoneCase{"NoServerCertificate", [](v1::EdgeZone* z) { z->clear_server_chain_pem(); },
                    "no server certificate"},
        BadZoneCase{"BadOrigin", [](v1::EdgeZone* z) { z->set_origin("ftp://x"); }, ""},
        BadZoneCase{"BadHostname", [](v1::EdgeZone* z) { z->set_hostname("bad..pizza"); }, ""},
        BadZoneCase{"BadSelector",
                    [](v1::EdgeZone* z) {
                      auto* m = z->add_header_mappings();
                      m->set_header("X-A");
                      m->set_selector("subject.XX");
                    },
                    "subject.XX"}),
    [](const ::testing::TestParamInfo<BadZoneCase>& info) { return info.param.name; });

TEST_F(EdgeConfigTest, DuplicateHostnameIsRefused) {
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "a.pizza")}));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "zone \"a.pizza\": hostname appears twice");
}

TEST_F(EdgeConfigTest, ToSnapshotRecreatesTheSnapshot) {
  v1::Snapshot snapshot = MakeSnapshot(3, {Zone(2, "b.pizza"), Zone(1, "a.pizza")});
  auto config = EdgeConfig::FromSnapshot(snapshot);
  ASSERT_TRUE(config.ok());
  v1::Snapshot again = (*config)->ToSnapshot();
  EXPECT_EQ(again.version(), 3u);
  ASSERT_EQ(again.zones_size(), 2);
  EXPECT_EQ(again.zones(0).SerializeAsString(), snapshot.zones(1).SerializeAsString());
  EXPECT_EQ(again.zones(1).SerializeAsString(), snapshot.zones(0).SerializeAsString());
  EXPECT_EQ((*config)->Zones().size(), 2u);
}

}  // namespace
}  // namespace certgate::edge
