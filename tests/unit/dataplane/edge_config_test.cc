#include "dataplane/config/edge_config.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/zone_defaults.h"
#include "dataplane/tls/zone_ssl_context.h"
#include "dataplane/tls/zone_trust.h"
#include "gtest/gtest.h"
#include "openssl/bn.h"
#include "openssl/dsa.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/evp.h"
#include "openssl/nid.h"
#include "openssl/rsa.h"
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
  static v1::EdgeZone Zone(uint64_t id, const std::string& hostname,
                           v1::Mode mode = v1::MODE_ENFORCE) {
    return MakeZone(id, hostname, {root_->cert.get()}, mode);
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

TEST_F(EdgeConfigTest, DefaultErrorPageAndHeaderNamesAreNotCopiedIntoEachZone) {
  v1::EdgeZone as_stored = Zone(1, "a.pizza");  // the defaults, as the control plane stores them
  as_stored.mutable_error_response()->set_content_type(ZoneDefaults::kErrorContentType);
  as_stored.mutable_error_response()->set_body(ZoneDefaults::kErrorBody);
  as_stored.mutable_status_header_names()->set_status(ZoneDefaults::kStatusHeader);
  as_stored.mutable_status_header_names()->set_ski(ZoneDefaults::kSkiHeader);
  as_stored.mutable_status_header_names()->set_error(ZoneDefaults::kErrorHeader);
  v1::EdgeZone custom = Zone(2, "b.pizza");
  custom.mutable_error_response()->set_content_type("text/plain");
  custom.mutable_error_response()->set_body(ZoneDefaults::kErrorBody);
  custom.mutable_status_header_names()->set_ski("x-client-cert-ski");  // case differs
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {as_stored, custom}));
  ASSERT_TRUE(config.ok()) << config.status();
  const ZoneConfig* a = (*config)->FindById(1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->error_content_type, "");
  EXPECT_EQ(a->error_body, "");
  EXPECT_EQ(a->status_header, "");
  EXPECT_EQ(a->ski_header, "");
  EXPECT_EQ(a->error_header, "");
  EXPECT_EQ(a->source.Zone().SerializeAsString(), as_stored.SerializeAsString())
      << "the state file keeps the zone as sent";
  const ZoneConfig* b = (*config)->FindById(2);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->error_content_type, "text/plain");
  EXPECT_EQ(b->error_body, ZoneDefaults::kErrorBody);
  EXPECT_EQ(b->status_header, "");
  EXPECT_EQ(b->ski_header, "x-client-cert-ski");
}

TEST_F(EdgeConfigTest, FromSerializedSnapshotBuildsWhatFromSnapshotBuilds) {
  v1::EdgeZone broken = Zone(3, "c.pizza");
  broken.set_server_key_pem("not a key");
  v1::Snapshot snapshot =
      MakeSnapshot(9, {Zone(1, "a.pizza"), Zone(2, "*.b.pizza"), broken, Zone(4, "a.pizza")});
  auto parsed = EdgeConfig::FromSnapshot(snapshot);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto streamed = EdgeConfig::FromSerializedSnapshot(snapshot.SerializeAsString());
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ((*streamed)->version(), 9u);
  EXPECT_EQ((*streamed)->ToSnapshot().SerializeAsString(),
            (*parsed)->ToSnapshot().SerializeAsString());
  ASSERT_EQ((*streamed)->Failures().size(), 2u);
  EXPECT_EQ((*streamed)->Failures()[0].hostname, "c.pizza");
  EXPECT_EQ((*streamed)->Failures()[1].error, "hostname is already served by zone 1");
  EXPECT_EQ((*streamed)->Failures()[1].hostname, "a.pizza");
  // A zone failing now keeps its previous build, as with FromSnapshot.
  v1::EdgeZone broken_a = Zone(1, "a.pizza");
  broken_a.set_server_key_pem("not a key");
  auto next = EdgeConfig::FromSerializedSnapshot(MakeSnapshot(10, {broken_a}).SerializeAsString(),
                                                 streamed->get());
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_NE((*next)->FindBySni("a.pizza"), nullptr);
  EXPECT_EQ((*next)->FindBySni("a.pizza"), (*streamed)->FindBySni("a.pizza"));
  EXPECT_NE((*next)->FindFailure(1), nullptr);
}

TEST_F(EdgeConfigTest, FromSerializedSnapshotRefusesUnreadableBytesAndAnIdTwice) {
  std::string bytes = MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza")}).SerializeAsString();
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{3}}) {
    auto truncated = EdgeConfig::FromSerializedSnapshot(bytes.substr(0, cut));
    EXPECT_TRUE(absl::IsDataLoss(truncated.status())) << cut << ": " << truncated.status();
  }
  auto garbage = EdgeConfig::FromSerializedSnapshot(std::string("\x12\x03\xff\xff\xff", 5));
  EXPECT_TRUE(absl::IsDataLoss(garbage.status())) << garbage.status();
  auto twice = EdgeConfig::FromSerializedSnapshot(
      MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(1, "b.pizza")}).SerializeAsString());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "snapshot lists zone id 1 twice");
  auto empty = EdgeConfig::FromSerializedSnapshot("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->zone_count(), 0u);
}

TEST_F(EdgeConfigTest, ZoneFieldsAndDefaults) {
  v1::EdgeZone source = Zone(5, "auth.pizza");
  source.set_origin("https://origin.internal:9443");
  auto* mapping = source.add_header_mappings();
  mapping->set_header("X-Device-Id");
  mapping->set_selector("subject.CN");
  source.mutable_status_header_names()->set_status("X-Mtls-Status");
  source.set_mode(v1::MODE_UNSPECIFIED);
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {source}));
  ASSERT_TRUE(config.ok()) << config.status();
  const ZoneConfig* zone = (*config)->FindById(5);
  ASSERT_NE(zone, nullptr);
  EXPECT_TRUE(zone->origin.tls);
  EXPECT_EQ(zone->origin.host, "origin.internal");
  EXPECT_EQ(zone->origin.port, 9443);
  EXPECT_EQ(zone->status_header, "X-Mtls-Status");
  // Defaults are left empty (the request path reads empty as the default)
  // rather than held by every zone.
  EXPECT_EQ(zone->ski_header, "");
  EXPECT_EQ(zone->error_header, "");
  EXPECT_EQ(zone->error_content_type, "");
  EXPECT_EQ(zone->error_body, "");
  EXPECT_EQ(zone->mode, ZoneDefaults::kMode);
  ASSERT_EQ(zone->header_mappings.size(), 1u);
  EXPECT_EQ(zone->header_mappings[0].header, "X-Device-Id");
  EXPECT_NE(zone->build_serial, 0u);
  EXPECT_NE(zone->trust, nullptr);
  // The SSL_CTX is made on first use, from what was checked here.
  EXPECT_TRUE(NewZoneSslContext(zone->source.Zone(), *zone->trust).ok());
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

v1::EdgeZone BadZone(uint64_t id, const std::string& hostname) {
  v1::EdgeZone zone = MakeZone(id, hostname, {});
  zone.set_server_key_pem("not a key");
  return zone;
}

// Failure: the failure recorded for zone `id`, or null.
const ZoneFailure* FindFailure(const std::vector<ZoneFailure>& failures, uint64_t id) {
  for (const ZoneFailure& failure : failures) {
    if (failure.zone_id == id) {
      return &failure;
    }
  }
  return nullptr;
}

TEST_F(EdgeConfigTest, ApplyDeltaWithABadZoneAppliesEveryOtherZone) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  delta.add_removed_zone_ids(1);
  *delta.add_upserted() = Zone(2, "b.pizza");
  *delta.add_upserted() = BadZone(3, "c.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->version(), 2u);
  EXPECT_EQ((*next)->FindBySni("a.pizza"), nullptr);
  EXPECT_NE((*next)->FindBySni("b.pizza"), nullptr);
  EXPECT_EQ((*next)->FindBySni("c.pizza"), nullptr);  // never had a good build
  std::vector<ZoneFailure> failures = (*next)->Failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].zone_id, 3u);
  EXPECT_EQ(failures[0].hostname, "c.pizza");
  EXPECT_NE(failures[0].error.find("server key"), std::string::npos) << failures[0].error;
  EXPECT_EQ(failures[0].error.find("c.pizza"), std::string::npos) << failures[0].error;
  EXPECT_EQ((*next)->new_failures().size(), 1u);
  // The config it was applied to is untouched.
  EXPECT_NE((*base)->FindBySni("a.pizza"), nullptr);
  EXPECT_TRUE((*base)->Failures().empty());
}

TEST_F(EdgeConfigTest, ABadZoneKeepsItsLastGoodBuildAcrossDeltasUntilFixed) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza")}));
  ASSERT_TRUE(base.ok());
  const ZoneConfig* good_b = (*base)->FindBySni("b.pizza");

  v1::Delta breaking;
  breaking.set_from_version(1);
  breaking.set_version(2);
  *breaking.add_upserted() = BadZone(2, "b.pizza");
  auto broken = (*base)->ApplyDelta(breaking);
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_EQ((*broken)->FindBySni("b.pizza"), good_b);  // the last good build serves
  ASSERT_NE(FindFailure((*broken)->Failures(), 2), nullptr);

  // A later delta about another zone: the failure is still reported.
  v1::Delta other;
  other.set_from_version(2);
  other.set_version(3);
  *other.add_upserted() = Zone(1, "a.pizza", v1::MODE_REPORT);
  auto later = (*broken)->ApplyDelta(other);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ((*later)->FindBySni("a.pizza")->mode, v1::MODE_REPORT);
  EXPECT_EQ((*later)->FindBySni("b.pizza"), good_b);
  ASSERT_NE(FindFailure((*later)->Failures(), 2), nullptr);
  EXPECT_TRUE((*later)->new_failures().empty());  // carried over, not a new failure

  // The state file keeps the last good zone and the failure.
  auto restarted = EdgeConfig::FromStateFile((*later)->ToSnapshot());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  ASSERT_NE((*restarted)->FindBySni("b.pizza"), nullptr);
  EXPECT_EQ((*restarted)->FindBySni("b.pizza")->source.Zone().SerializeAsString(),
            good_b->source.Zone().SerializeAsString());
  std::vector<ZoneFailure> after_restart = (*restarted)->Failures();
  std::vector<ZoneFailure> before_restart = (*later)->Failures();
  const ZoneFailure* kept = FindFailure(after_restart, 2);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->error, FindFailure(before_restart, 2)->error);

  // Fixed: the new build serves and the failure is gone.
  v1::Delta fixing;
  fixing.set_from_version(3);
  fixing.set_version(4);
  *fixing.add_upserted() = Zone(2, "b.pizza", v1::MODE_OFF);
  auto fixed = (*later)->ApplyDelta(fixing);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_EQ((*fixed)->FindBySni("b.pizza")->mode, v1::MODE_OFF);
  EXPECT_TRUE((*fixed)->Failures().empty());

  // Removing a failed zone removes its failure too.
  v1::Delta removing;
  removing.set_from_version(2);
  removing.set_version(5);
  removing.add_removed_zone_ids(2);
  auto removed = (*broken)->ApplyDelta(removing);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ((*removed)->FindBySni("b.pizza"), nullptr);
  EXPECT_TRUE((*removed)->Failures().empty());
}

TEST_F(EdgeConfigTest, ASnapshotKeepsTheHeldBuildOfAZoneThatFails) {
  auto held = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "b.pizza")}));
  ASSERT_TRUE(held.ok());
  v1::Snapshot next = MakeSnapshot(
      2, {Zone(1, "a.pizza", v1::MODE_REPORT), BadZone(2, "b.pizza"), BadZone(3, "c.pizza")});
  auto config = EdgeConfig::FromSnapshot(next, held->get());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->FindBySni("a.pizza")->mode, v1::MODE_REPORT);
  EXPECT_EQ((*config)->FindBySni("b.pizza"), (*held)->FindBySni("b.pizza"));
  EXPECT_EQ((*config)->FindBySni("c.pizza"), nullptr);
  EXPECT_EQ((*config)->Failures().size(), 2u);
  // Without a held config, the bad zones are simply not served.
  auto fresh = EdgeConfig::FromSnapshot(next);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE((*fresh)->FindBySni("a.pizza"), nullptr);
  EXPECT_EQ((*fresh)->FindBySni("b.pizza"), nullptr);
  EXPECT_EQ((*fresh)->zone_count(), 1u);
}

TEST_F(EdgeConfigTest, AStaleBuildGivesItsNameToTheZoneThatNowHasIt) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  // Zone 1 moves to a2.pizza but fails; zone 2 takes a.pizza.
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = BadZone(1, "a2.pizza");
  *delta.add_upserted() = Zone(2, "a.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_NE((*next)->FindBySni("a.pizza"), nullptr);
  EXPECT_EQ((*next)->FindBySni("a.pizza")->id, 2u);
  EXPECT_EQ((*next)->FindById(1), nullptr);
  ASSERT_NE(FindFailure((*next)->Failures(), 1), nullptr);
  EXPECT_EQ(FindFailure((*next)->Failures(), 2), nullptr);
}

TEST_F(EdgeConfigTest, ApplyDeltaFailsAZoneThatTakesAHealthyZonesHostname) {
  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza")}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(2, "a.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)->FindBySni("a.pizza")->id, 1u);
  std::vector<ZoneFailure> failures = (*next)->Failures();
  const ZoneFailure* failure = FindFailure(failures, 2);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->error, "hostname is already served by zone 1");
}

TEST_F(EdgeConfigTest, AMessageThatContradictsItselfIsRefusedWhole) {
  auto twice = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(1, "b.pizza")}));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "snapshot lists zone id 1 twice");

  auto base = EdgeConfig::FromSnapshot(MakeSnapshot(1, {}));
  ASSERT_TRUE(base.ok());
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  *delta.add_upserted() = Zone(2, "b.pizza");
  *delta.add_upserted() = Zone(2, "c.pizza");
  auto next = (*base)->ApplyDelta(delta);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(), "delta upserts zone id 2 twice");
}

struct BadZoneCase {
  const char* name;
  void (*spoil)(v1::EdgeZone* zone);
  const char* expected;  // substring of the error
};

class MalformedSnapshotTest : public EdgeConfigTest,
                              public ::testing::WithParamInterface<BadZoneCase> {};

TEST_P(MalformedSnapshotTest, FailsOnlyThatZone) {
  v1::EdgeZone bad = Zone(2, "bad.pizza");
  GetParam().spoil(&bad);
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "good.pizza"), bad}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_NE((*config)->FindBySni("good.pizza"), nullptr);
  EXPECT_EQ((*config)->FindById(2), nullptr);
  std::vector<ZoneFailure> failures = (*config)->Failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].zone_id, 2u);
  EXPECT_EQ(failures[0].hostname, bad.hostname());
  EXPECT_NE(failures[0].error.find(GetParam().expected), std::string::npos) << failures[0].error;
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

TEST_F(EdgeConfigTest, DuplicateHostnameFailsTheSecondZoneOnly) {
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, {Zone(1, "a.pizza"), Zone(2, "a.pizza")}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->FindBySni("a.pizza")->id, 1u);
  ASSERT_EQ((*config)->Failures().size(), 1u);
  EXPECT_EQ((*config)->Failures()[0].zone_id, 2u);
  EXPECT_EQ((*config)->Failures()[0].error, "hostname is already served by zone 1");
}

// ZoneWithServerKey: `zone` presenting a certificate for `key` (any type the
// certificate factory can put in a certificate), issued by `ca`.
v1::EdgeZone ZoneWithServerKey(v1::EdgeZone zone, EVP_PKEY* key, const KeyAndCert& ca) {
  CertificateSpec spec;
  spec.common_name = zone.hostname();
  spec.dns_names = {zone.hostname()};
  spec.server_auth = true;
  auto cert = IssueCertificate(spec, key, ca.cert.get(), ca.key.get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (cert.ok()) {
    zone.set_server_chain_pem(CertificateToPem(cert->get()));
    zone.set_server_key_pem(PrivateKeyToPem(key));
  }
  return zone;
}

bssl::UniquePtr<EVP_PKEY> EcKey(int curve) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(curve));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) {
    ADD_FAILURE() << "EC key on curve " << curve;
  }
  return key;
}

bssl::UniquePtr<EVP_PKEY> RsaKey(unsigned bits) {
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!rsa || !e || !BN_set_word(e.get(), RSA_F4) ||
      !RSA_generate_key_ex(rsa.get(), bits, e.get(), nullptr) ||
      !EVP_PKEY_assign_RSA(key.get(), rsa.release())) {
    ADD_FAILURE() << "RSA key of " << bits << " bits";
  }
  return key;
}

bssl::UniquePtr<EVP_PKEY> DsaKey() {
  bssl::UniquePtr<DSA> dsa(DSA_new());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!dsa || !DSA_generate_parameters_ex(dsa.get(), 1024, nullptr, 0, nullptr, nullptr, nullptr) ||
      !DSA_generate_key(dsa.get()) || !EVP_PKEY_assign_DSA(key.get(), dsa.release())) {
    ADD_FAILURE() << "DSA key";
  }
  return key;
}

bssl::UniquePtr<EVP_PKEY> Ed25519Key() {
  EVP_PKEY* raw = nullptr;
  bssl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  if (!ctx || !EVP_PKEY_keygen_init(ctx.get()) || !EVP_PKEY_keygen(ctx.get(), &raw)) {
    ADD_FAILURE() << "Ed25519 key";
  }
  return bssl::UniquePtr<EVP_PKEY>(raw);
}

TEST_F(EdgeConfigTest, ServerKeysTheTlsStackCannotSignWithAreRefusedByType) {
  KeyAndCert ca = MakeCa("Key Type Test CA");
  struct Case {
    const char* what;
    bssl::UniquePtr<EVP_PKEY> key;
    const char* error;  // "" for a key that builds
  };
  std::vector<Case> cases;
  cases.push_back({"DSA", DsaKey(), "server key: DSA keys cannot be used for TLS"});
  cases.push_back({"P-224", EcKey(NID_secp224r1),
                   "server key: ECDSA on curve secp224r1 cannot be used for TLS"});
  cases.push_back({"RSA 1024", RsaKey(1024), "server key: RSA of 1024 bits cannot be used"});
  cases.push_back({"P-256", EcKey(NID_X9_62_prime256v1), ""});
  cases.push_back({"P-384", EcKey(NID_secp384r1), ""});
  cases.push_back({"P-521", EcKey(NID_secp521r1), ""});
  cases.push_back({"RSA 2048", RsaKey(2048), ""});
  cases.push_back({"Ed25519", Ed25519Key(), ""});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ASSERT_NE(c.key, nullptr);
    v1::EdgeZone zone = ZoneWithServerKey(Zone(1, "key.pizza"), c.key.get(), ca);
    ASSERT_FALSE(zone.server_chain_pem().empty());
    auto built = BuildZone(zone);
    if (c.error[0] == '\0') {
      EXPECT_TRUE(built.ok()) << built.status();
    } else {
      ASSERT_FALSE(built.ok());
      EXPECT_TRUE(absl::IsInvalidArgument(built.status())) << built.status();
      EXPECT_NE(built.status().message().find(c.error), std::string::npos) << built.status();
    }
  }
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

// Many deltas over 3,000 zones: each version shares the one before's index
// and keeps its changes in a bounded overlay, folded back when it grows;
// every version answers as a config rebuilt whole from its zones would.
TEST_F(EdgeConfigTest, DeltasShareUnchangedZonesAndTheIndexStaysRight) {
  v1::EdgeZone base = Zone(1, "z1.pizza");
  auto zone = [&](uint64_t id, const std::string& hostname) {
    v1::EdgeZone copy = base;
    copy.set_id(id);
    copy.set_hostname(hostname);
    return copy;
  };
  std::vector<v1::EdgeZone> zones;
  for (uint64_t id = 1; id <= 3000; ++id) {
    zones.push_back(zone(id, absl::StrCat("z", id, ".pizza")));
  }
  auto first = EdgeConfig::FromSnapshot(MakeSnapshot(1, zones));
  ASSERT_TRUE(first.ok());
  std::shared_ptr<const EdgeConfig> config = *first;
  const ZoneConfig* untouched = config->FindById(3000);
  size_t largest_overlay = 0;
  for (uint64_t i = 0; i < 1500; ++i) {
    v1::Delta delta;
    delta.set_from_version(config->version());
    delta.set_version(config->version() + 1);
    uint64_t id = 1 + i % 1000;
    if (i % 3 == 0) {
      *delta.add_upserted() = zone(id, absl::StrCat("moved", i, ".pizza"));
    } else if (i % 3 == 1) {
      delta.add_removed_zone_ids(id);
    } else {
      *delta.add_upserted() = zone(5000 + i, absl::StrCat("*.w", i, ".pizza"));
    }
    auto next = config->ApplyDelta(delta);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ((*next)->touched_ids().size(), 1u);
    largest_overlay = std::max(largest_overlay, (*next)->overlay_size());
    config = *next;
  }
  EXPECT_EQ(config->FindById(3000), untouched) << "an unchanged zone is shared, not rebuilt";
  EXPECT_LE(largest_overlay, 1024u + 2) << "the overlay is folded back into the index";
  auto whole = EdgeConfig::FromSnapshot(config->ToSnapshot());
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(config->zone_count(), (*whole)->zone_count());
  EXPECT_EQ(config->Zones().size(), config->zone_count());
  for (const ZoneConfig* served : (*whole)->Zones()) {
    std::string sni =
        served->hostname[0] == '*' ? "x" + served->hostname.substr(1) : served->hostname;
    const ZoneConfig* found = config->FindBySni(sni);
    ASSERT_NE(found, nullptr) << sni;
    EXPECT_EQ(found->id, served->id) << sni;
  }
  for (uint64_t i = 0; i < 1500; i += 3) {
    EXPECT_EQ(config->FindBySni(absl::StrCat("z", 1 + i % 1000, ".pizza")), nullptr);
  }
}

}  // namespace
}  // namespace certgate::edge

namespace certgate::edge {
namespace {

// Zones with the same roots, intermediates and revocations share one parsed
// trust store; any difference in them (one more revoked serial, another
// root) gives a zone its own, so no zone is judged by another's trust.
TEST(ZoneTrustSharingTest, OnlyZonesWithTheSameTrustMaterialShareAStore) {
  testing::KeyAndCert root_a = testing::MakeCa("Sharing Root A");
  testing::KeyAndCert root_b = testing::MakeCa("Sharing Root B");
  v1::EdgeZone one = testing::MakeZone(1, "one.test", {root_a.cert.get()});
  v1::EdgeZone two = testing::MakeZone(2, "two.test", {root_a.cert.get()});
  v1::EdgeZone revoking = testing::MakeZone(3, "three.test", {root_a.cert.get()});
  revoking.add_revoked()->set_serial_hex("01");
  v1::EdgeZone other = testing::MakeZone(4, "four.test", {root_b.cert.get()});
  auto config = EdgeConfig::FromSnapshot(testing::MakeSnapshot(1, {one, two, revoking, other}));
  ASSERT_TRUE(config.ok()) << config.status();
  const ZoneConfig* z1 = (*config)->FindById(1);
  const ZoneConfig* z2 = (*config)->FindById(2);
  const ZoneConfig* z3 = (*config)->FindById(3);
  const ZoneConfig* z4 = (*config)->FindById(4);
  EXPECT_EQ(z1->trust, z2->trust);
  EXPECT_NE(z1->trust, z3->trust);
  EXPECT_TRUE(z3->trust->has_revocations());
  EXPECT_FALSE(z1->trust->has_revocations());
  EXPECT_NE(z1->trust, z4->trust);
  EXPECT_EQ(z4->trust->roots().size(), 1u);
}

}  // namespace
}  // namespace certgate::edge
