#include "dataplane/handshake/tls_server.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/x509_info.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/config_slot.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/tls/verification_cache.h"
#include "dataplane/tls/zone_ssl_context_cache.h"
#include "gtest/gtest.h"
#include "openssl/ssl.h"
#include "tests/unit/dataplane/edge_test_util.h"

namespace certgate::edge {
namespace {

using testing::ClientOptions;
using testing::Handshake;
using testing::HandshakeResult;
using testing::KeyAndCert;
using testing::MakeCa;
using testing::MakeClient;
using testing::MakeSnapshot;
using testing::MakeZone;

// Two zones with their own roots: a.test trusts root A, b.test trusts root B.
class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_a_ = MakeCa("Tenant A Root");
    root_b_ = MakeCa("Tenant B Root");
    client_a_ = MakeClient("device-a", root_a_);
    zone_a_ = MakeZone(1, "a.test", {root_a_.cert.get()});
    zone_b_ = MakeZone(2, "b.test", {root_b_.cert.get()});
    Publish(1, {zone_a_, zone_b_});
    auto server = TlsServer::Create(&slot_, TlsServerOptions{});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  void Publish(uint64_t version, const std::vector<v1::EdgeZone>& zones) {
    auto config = EdgeConfig::FromSnapshot(MakeSnapshot(version, zones));
    ASSERT_TRUE(config.ok()) << config.status();
    slot_.Publish(*config);
  }

  HandshakeResult Connect(const std::string& sni, const KeyAndCert* cert,
                          SSL_SESSION* session = nullptr) {
    ClientOptions options;
    options.sni = sni;
    options.cert = cert;
    options.session = session;
    return Handshake(server_.get(), options);
  }

  KeyAndCert root_a_, root_b_, client_a_;
  v1::EdgeZone zone_a_, zone_b_;
  ConfigSlot slot_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(TlsServerTest, NoSniFailsTheHandshake) {
  HandshakeResult result = Connect("", &client_a_);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(TlsServer::FailureReason(result.server.get()), "no SNI");
  EXPECT_EQ(result.client_alert, SSL_AD_HANDSHAKE_FAILURE);
  EXPECT_EQ(server_->stats().handshakes_failed.load(), 1u);
  EXPECT_EQ(server_->stats().handshakes_ok.load(), 0u);
}

TEST_F(TlsServerTest, UnknownSniGetsUnrecognizedName) {
  HandshakeResult result = Connect("nope.test", &client_a_);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.client_alert, SSL_AD_UNRECOGNIZED_NAME);
  EXPECT_EQ(TlsServer::FailureReason(result.server.get()), "unknown SNI \"nope.test\"");
  EXPECT_EQ(server_->stats().unknown_sni.load(), 1u);
  EXPECT_EQ(server_->stats().handshakes_failed.load(), 1u);
}

TEST_F(TlsServerTest, ValidClientCertificateIsValidWithSki) {
  HandshakeResult result = Connect("a.test", &client_a_);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  ASSERT_NE(auth, nullptr);
  ASSERT_NE(auth->zone, nullptr);
  EXPECT_EQ(auth->zone->hostname, "a.test");
  EXPECT_EQ(auth->status, CertStatus::kValid);
  EXPECT_EQ(auth->reason, "");
  EXPECT_FALSE(auth->from_cache);
  ASSERT_NE(auth->leaf, nullptr);
  EXPECT_EQ(X509_cmp(auth->leaf.get(), client_a_.cert.get()), 0);
  EXPECT_FALSE(auth->ski_hex.empty());
  EXPECT_EQ(auth->ski_hex, SubjectKeyIdHex(client_a_.cert.get()));
  EXPECT_EQ(server_->stats().chain_verifications.load(), 1u);
  EXPECT_EQ(server_->stats().handshakes_ok.load(), 1u);
  EXPECT_STREQ(CertStatusName(auth->status), "valid");
}

TEST_F(TlsServerTest, NoClientCertificateIsNone) {
  HandshakeResult result = Connect("a.test", nullptr);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kNone);
  EXPECT_EQ(auth->leaf, nullptr);
  EXPECT_EQ(auth->ski_hex, "");
}

TEST_F(TlsServerTest, CertificateOfAnotherTenantIsUnknownCaWithoutChainWalk) {
  KeyAndCert client_b = MakeClient("device-b", root_b_);
  HandshakeResult result = Connect("a.test", &client_b);
  ASSERT_TRUE(result.ok) << "the TLS layer never fails on a bad certificate";
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "unknown_ca");
  EXPECT_EQ(server_->stats().cheap_rejections.load(), 1u);
  EXPECT_EQ(server_->stats().chain_verifications.load(), 0u);
  // The same certificate is valid on its own tenant's zone.
  HandshakeResult on_b = Connect("b.test", &client_b);
  ASSERT_TRUE(on_b.ok);
  EXPECT_EQ(TlsServer::GetAuth(on_b.server.get())->status, CertStatus::kValid);
}

TEST_F(TlsServerTest, SelfSignedCertificateIsUnknownCa) {
  KeyAndCert self_signed;
  self_signed.key = std::move(GenerateKey(KeyType::kEcP256)).value();
  CertificateSpec spec;
  spec.common_name = "device-self";
  spec.client_auth = true;
  self_signed.cert =
      std::move(IssueCertificate(spec, self_signed.key.get(), nullptr, nullptr)).value();
  HandshakeResult result = Connect("a.test", &self_signed);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->reason, "unknown_ca");
  EXPECT_EQ(server_->stats().chain_verifications.load(), 0u);
}

TEST_F(TlsServerTest, ExpiredCertificateIsExpired) {
  CertificateSpec spec;
  spec.common_name = "device-old";
  spec.client_auth = true;
  int64_t now = absl::ToUnixSeconds(absl::Now());
  spec.not_before_unix = now - 10 * 86400;
  spec.not_after_unix = now - 86400;
  KeyAndCert expired = testing::Issue(spec, root_a_);
  HandshakeResult result = Connect("a.test", &expired);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "expired");
}

TEST_F(TlsServerTest, NotYetValidCertificateIsNotYetValid) {
  CertificateSpec spec;
  spec.common_name = "device-future";
  spec.client_auth = true;
  int64_t now = absl::ToUnixSeconds(absl::Now());
  spec.not_before_unix = now + 86400;
  spec.not_after_unix = now + 10 * 86400;
  KeyAndCert future = testing::Issue(spec, root_a_);
  HandshakeResult result = Connect("a.test", &future);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->reason, "not_yet_valid");
}

TEST_F(TlsServerTest, RevokedSerialIsRevoked) {
  v1::EdgeZone revoked_zone = zone_a_;
  v1::RevokedSerial* revoked = revoked_zone.add_revoked();
  revoked->set_issuer_name_der(NameToDer(X509_get_subject_name(root_a_.cert.get())));
  revoked->set_serial_hex(SerialHex(client_a_.cert.get()));
  revoked_zone.set_trust_version(2);
  Publish(2, {revoked_zone, zone_b_});
  HandshakeResult result = Connect("a.test", &client_a_);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "revoked");
  EXPECT_EQ(server_->stats().chain_verifications.load(), 0u);
  // Another certificate of the same root is unaffected.
  KeyAndCert other = MakeClient("device-a2", root_a_);
  HandshakeResult other_result = Connect("a.test", &other);
  EXPECT_EQ(TlsServer::GetAuth(other_result.server.get())->status, CertStatus::kValid);
}

// An established connection follows the config: each step below is what
// the next request on it sees.
TEST_F(TlsServerTest, RecheckMovesAnOpenConnectionToTheCurrentConfig) {
  HandshakeResult result = Connect("a.test", &client_a_);
  ASSERT_TRUE(result.ok);
  SSL* ssl = result.server.get();
  ConnectionAuth* auth = TlsServer::GetAuth(ssl);
  ASSERT_EQ(auth->status, CertStatus::kValid);
  std::weak_ptr<const EdgeConfig> first = auth->config;

  // Nothing published: nothing to do.
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kUnchanged);
  EXPECT_EQ(auth->config.get(), slot_.Get().get());

  // Another zone changed, this one is shared: the connection moves to the
  // new config (the old one is released) and its verdict stands.
  v1::Delta delta;
  delta.set_from_version(1);
  delta.set_version(2);
  v1::EdgeZone b2 = zone_b_;
  b2.set_trust_version(2);
  *delta.add_upserted() = b2;
  auto second = slot_.Get()->ApplyDelta(delta);
  ASSERT_TRUE(second.ok()) << second.status();
  slot_.Publish(*second);
  EXPECT_FALSE(first.expired()) << "the connection holds the config it uses";
  const ZoneConfig* zone_before = auth->zone;
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kUnchanged);
  EXPECT_EQ(auth->zone, zone_before);
  EXPECT_EQ(auth->config.get(), second->get());
  second->reset();
  EXPECT_TRUE(first.expired()) << "a config nobody uses any more is freed";
  EXPECT_EQ(auth->status, CertStatus::kValid);

  // Revoked: judged again, by the cheap checks (no chain walk).
  uint64_t chains = server_->stats().chain_verifications.load();
  v1::EdgeZone revoked_zone = zone_a_;
  revoked_zone.add_revoked()->set_serial_hex(SerialHex(client_a_.cert.get()));
  revoked_zone.set_trust_version(2);
  Publish(3, {revoked_zone, b2});
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kRejudged);
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "revoked");
  EXPECT_EQ(server_->stats().chain_verifications.load(), chains);

  // Revocation lifted, mode changed (same trust as a version the cache
  // holds): valid again from the cache.
  v1::EdgeZone report_zone = zone_a_;
  report_zone.set_mode(v1::MODE_REPORT);
  Publish(4, {report_zone, b2});
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kRejudged);
  EXPECT_EQ(auth->status, CertStatus::kValid);
  EXPECT_TRUE(auth->from_cache);
  EXPECT_EQ(auth->zone->mode, v1::MODE_REPORT);
  EXPECT_EQ(server_->stats().chain_verifications.load(), chains);

  // Root removed: unknown_ca, still no chain walk.
  Publish(5, {MakeZone(1, "a.test", {}, v1::MODE_REPORT, /*trust_version=*/3), b2});
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kRejudged);
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "unknown_ca");
  EXPECT_EQ(server_->stats().chain_verifications.load(), chains);

  // The name now leads to another zone (deleted, created again): gone. The
  // connection keeps its last config to answer with.
  Publish(6, {MakeZone(9, "a.test", {root_a_.cert.get()}), b2});
  const EdgeConfig* held = auth->config.get();
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kGone);
  EXPECT_EQ(auth->config.get(), held);
  EXPECT_EQ(auth->zone->id, 1u);
  // Deleted outright: gone too.
  Publish(7, {b2});
  EXPECT_EQ(server_->Recheck(ssl), ZoneRecheck::kGone);
}

TEST_F(TlsServerTest, SerialRevokedUnderAnyIssuerIsRevoked) {
  v1::EdgeZone revoked_zone = zone_a_;
  revoked_zone.add_revoked()->set_serial_hex(SerialHex(client_a_.cert.get()));
  Publish(2, {revoked_zone, zone_b_});
  HandshakeResult result = Connect("a.test", &client_a_);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->reason, "revoked");
}

TEST_F(TlsServerTest, LeafAndIntermediateSentByClientIsValid) {
  KeyAndCert intermediate = testing::MakeIntermediate("Tenant A Issuing CA", root_a_);
  KeyAndCert leaf = MakeClient("device-i", intermediate);
  ClientOptions options;
  options.sni = "a.test";
  options.cert = &leaf;
  options.chain = {intermediate.cert.get()};
  HandshakeResult result = Handshake(server_.get(), options);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kValid) << auth->reason;
  ASSERT_NE(auth->chain, nullptr);
  EXPECT_EQ(sk_X509_num(auth->chain.get()), 1u);
  // Without the intermediate the issuer is unknown to the zone.
  HandshakeResult alone = Connect("a.test", &leaf);
  EXPECT_EQ(TlsServer::GetAuth(alone.server.get())->reason, "unknown_ca");
}

TEST_F(TlsServerTest, ZoneIntermediateCompletesTheChain) {
  KeyAndCert intermediate = testing::MakeIntermediate("Tenant A Issuing CA", root_a_);
  KeyAndCert leaf = MakeClient("device-j", intermediate);
  v1::EdgeZone with_intermediate = zone_a_;
  with_intermediate.add_intermediates_der(testing::Der(intermediate.cert.get()));
  with_intermediate.set_trust_version(2);
  Publish(2, {with_intermediate, zone_b_});
  HandshakeResult result = Connect("a.test", &leaf);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->status, CertStatus::kValid);
}

TEST_F(TlsServerTest, RepeatedInvalidCertificateIsAnsweredFromTheCache) {
  // Same subject as root A but another key: passes the cheap issuer check,
  // fails the chain walk.
  KeyAndCert impostor_root = MakeCa("Tenant A Root");
  KeyAndCert forged = MakeClient("device-forged", impostor_root);
  HandshakeResult first = Connect("a.test", &forged);
  ConnectionAuth* auth = TlsServer::GetAuth(first.server.get());
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_FALSE(auth->from_cache);
  EXPECT_FALSE(auth->reason.empty());
  EXPECT_EQ(server_->stats().chain_verifications.load(), 1u);
  std::string first_reason = auth->reason;

  HandshakeResult second = Connect("a.test", &forged);
  ConnectionAuth* again = TlsServer::GetAuth(second.server.get());
  EXPECT_EQ(again->status, CertStatus::kInvalid);
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(again->reason, first_reason);
  EXPECT_EQ(server_->stats().chain_verifications.load(), 1u);
  EXPECT_EQ(server_->cache()->Stats().hits, 1u);
}

TEST_F(TlsServerTest, RepeatedValidCertificateIsAnsweredFromTheCache) {
  Connect("a.test", &client_a_);
  HandshakeResult second = Connect("a.test", &client_a_);
  EXPECT_TRUE(TlsServer::GetAuth(second.server.get())->from_cache);
  EXPECT_EQ(TlsServer::GetAuth(second.server.get())->status, CertStatus::kValid);
  EXPECT_EQ(server_->stats().chain_verifications.load(), 1u);
}

// A hit needs no parse when nothing reads the certificate: the SKI comes
// from the cache entry.
TEST_F(TlsServerTest, CacheHitWithoutRevocationsOrMappingsSkipsTheParse) {
  Connect("a.test", &client_a_);
  HandshakeResult second = Connect("a.test", &client_a_);
  ConnectionAuth* auth = TlsServer::GetAuth(second.server.get());
  EXPECT_TRUE(auth->from_cache);
  EXPECT_EQ(auth->status, CertStatus::kValid);
  EXPECT_EQ(auth->leaf, nullptr);
  EXPECT_EQ(auth->ski_hex, SubjectKeyIdHex(client_a_.cert.get()));
}

// Mapped fields need the certificate: a valid hit is parsed.
TEST_F(TlsServerTest, CacheHitInAZoneWithMappedFieldsKeepsTheCertificate) {
  v1::EdgeZone mapped = zone_a_;
  v1::HeaderMapping* mapping = mapped.add_header_mappings();
  mapping->set_header("X-Device");
  mapping->set_selector("subject.CN");
  Publish(2, {mapped, zone_b_});
  Connect("a.test", &client_a_);
  HandshakeResult second = Connect("a.test", &client_a_);
  ConnectionAuth* auth = TlsServer::GetAuth(second.server.get());
  EXPECT_TRUE(auth->from_cache);
  ASSERT_NE(auth->leaf, nullptr);
  EXPECT_EQ(X509_cmp(auth->leaf.get(), client_a_.cert.get()), 0);
}

// A revocation is honoured on a hit even if the trust version stayed (the
// control plane moves it; the edge does not rely on that alone).
TEST_F(TlsServerTest, CacheHitIsCheckedAgainstTheZonesRevocations) {
  Connect("a.test", &client_a_);
  v1::EdgeZone revoked_zone = zone_a_;
  revoked_zone.add_revoked()->set_serial_hex(SerialHex(client_a_.cert.get()));
  Publish(2, {revoked_zone, zone_b_});
  HandshakeResult second = Connect("a.test", &client_a_);
  ConnectionAuth* auth = TlsServer::GetAuth(second.server.get());
  EXPECT_EQ(auth->status, CertStatus::kInvalid);
  EXPECT_EQ(auth->reason, "revoked");
  EXPECT_EQ(server_->stats().chain_verifications.load(), 1u);
}

TEST_F(TlsServerTest, ServerCertificateLeafWithoutClientAuthIsRefused) {
  CertificateSpec spec;
  spec.common_name = "not-a-client";
  spec.server_auth = true;
  KeyAndCert server_only = testing::Issue(spec, root_a_);
  HandshakeResult result = Connect("a.test", &server_only);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->reason, "not_client_auth");
}

TEST_F(TlsServerTest, ModeOffRequestsNoCertificate) {
  Publish(2, {MakeZone(1, "a.test", {root_a_.cert.get()}, v1::MODE_OFF), zone_b_});
  HandshakeResult result = Connect("a.test", &client_a_);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->status, CertStatus::kNone);
  EXPECT_EQ(SSL_get0_peer_certificates(result.server.get()), nullptr);
}

TEST_F(TlsServerTest, WildcardZoneIsChosenForOneLabel) {
  Publish(2, {zone_a_, MakeZone(3, "*.fleet.test", {root_b_.cert.get()})});
  KeyAndCert client_b = MakeClient("device-b", root_b_);
  HandshakeResult result = Connect("truck-7.fleet.test", &client_b);
  ASSERT_TRUE(result.ok);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->zone->hostname, "*.fleet.test");
  EXPECT_EQ(auth->status, CertStatus::kValid);
  EXPECT_FALSE(Connect("a.truck-7.fleet.test", &client_b).ok);
}

TEST_F(TlsServerTest, CaNamesAreSentOnlyWhenTheZoneAsks) {
  HandshakeResult quiet = Connect("a.test", &client_a_);
  EXPECT_EQ(quiet.requested_ca_names, 0);

  v1::EdgeZone asking = zone_a_;
  asking.set_send_ca_names(true);
  Publish(2, {asking, zone_b_});
  HandshakeResult told = Connect("a.test", &client_a_);
  EXPECT_EQ(told.requested_ca_names, 1);
}

TEST_F(TlsServerTest, CaNamesAreCappedForZonesWithThousandsOfRoots) {
  v1::EdgeZone many = zone_a_;
  many.set_send_ca_names(true);
  std::vector<KeyAndCert> roots;
  for (int i = 0; i < 400; ++i) {
    roots.push_back(
        MakeCa("A rather long root certificate name for tenant A, number " + std::to_string(i)));
    many.add_roots_der(testing::Der(roots.back().cert.get()));
  }
  Publish(2, {many, zone_b_});
  HandshakeResult result = Connect("a.test", &client_a_);
  ASSERT_TRUE(result.ok);
  EXPECT_GT(result.requested_ca_names, 10);
  EXPECT_LT(result.requested_ca_names, 401);
  EXPECT_EQ(TlsServer::GetAuth(result.server.get())->status, CertStatus::kValid);
}

TEST_F(TlsServerTest, ConnectionKeepsTheConfigItStartedWith) {
  HandshakeResult result = Connect("a.test", &client_a_);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  std::shared_ptr<const EdgeConfig> before = auth->config;
  Publish(2, {zone_b_});
  EXPECT_EQ(auth->config, before);
  EXPECT_EQ(auth->zone->hostname, "a.test");
  EXPECT_FALSE(Connect("a.test", &client_a_).ok);
}

class TlsServerVersionAndKeyTest
    : public TlsServerTest,
      public ::testing::WithParamInterface<std::tuple<uint16_t, KeyType>> {};

TEST_P(TlsServerVersionAndKeyTest, ValidClientCertificate) {
  auto [version, key_type] = GetParam();
  KeyAndCert client = MakeClient("device-k", root_a_, key_type);
  ClientOptions options;
  options.sni = "a.test";
  options.cert = &client;
  options.max_version = version;
  HandshakeResult result = Handshake(server_.get(), options);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(SSL_version(result.server.get()), version);
  ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
  EXPECT_EQ(auth->status, CertStatus::kValid) << auth->reason;
  EXPECT_EQ(auth->ski_hex, SubjectKeyIdHex(client.cert.get()));
}

INSTANTIATE_TEST_SUITE_P(VersionsAndKeys, TlsServerVersionAndKeyTest,
                         ::testing::Combine(::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                                            ::testing::Values(KeyType::kEcP256,
                                                              KeyType::kRsa2048)));

class TlsSessionTest : public TlsServerTest, public ::testing::WithParamInterface<uint16_t> {
 protected:
  HandshakeResult ConnectVersion(const std::string& sni, const KeyAndCert* cert,
                                 SSL_SESSION* session) {
    ClientOptions options;
    options.sni = sni;
    options.cert = cert;
    options.session = session;
    options.max_version = GetParam();
    return Handshake(server_.get(), options);
  }
};

TEST_P(TlsSessionTest, SessionResumesOnItsZoneAndIsCheckedAgain) {
  HandshakeResult first = ConnectVersion("a.test", &client_a_, nullptr);
  ASSERT_TRUE(first.ok);
  ASSERT_NE(first.ticket, nullptr);
  HandshakeResult resumed = ConnectVersion("a.test", &client_a_, first.ticket.get());
  ASSERT_TRUE(resumed.ok);
  EXPECT_TRUE(SSL_session_reused(resumed.server.get()));
  ConnectionAuth* auth = TlsServer::GetAuth(resumed.server.get());
  EXPECT_TRUE(auth->resumed);
  EXPECT_EQ(auth->status, CertStatus::kValid);
  EXPECT_EQ(auth->ski_hex, SubjectKeyIdHex(client_a_.cert.get()));
  EXPECT_EQ(server_->stats().handshakes_resumed.load(), 1u);
}

TEST_P(TlsSessionTest, SessionOfOneZoneDoesNotResumeOnAnother) {
  KeyAndCert client_b = MakeClient("device-b", root_b_);
  HandshakeResult first = ConnectVersion("a.test", &client_b, nullptr);
  ASSERT_TRUE(first.ok);
  ASSERT_NE(first.ticket, nullptr);
  EXPECT_EQ(TlsServer::GetAuth(first.server.get())->reason, "unknown_ca");
  HandshakeResult other = ConnectVersion("b.test", &client_b, first.ticket.get());
  ASSERT_TRUE(other.ok);
  EXPECT_FALSE(SSL_session_reused(other.server.get()));
  EXPECT_EQ(TlsServer::GetAuth(other.server.get())->status, CertStatus::kValid);
}

TEST_P(TlsSessionTest, SessionDoesNotResumeAfterATrustChange) {
  HandshakeResult first = ConnectVersion("a.test", &client_a_, nullptr);
  ASSERT_NE(first.ticket, nullptr);
  v1::EdgeZone no_roots = MakeZone(1, "a.test", {}, v1::MODE_ENFORCE, /*trust_version=*/2);
  Publish(2, {no_roots, zone_b_});
  HandshakeResult after = ConnectVersion("a.test", &client_a_, first.ticket.get());
  ASSERT_TRUE(after.ok);
  EXPECT_FALSE(SSL_session_reused(after.server.get()));
  EXPECT_EQ(TlsServer::GetAuth(after.server.get())->status, CertStatus::kInvalid);
  EXPECT_EQ(TlsServer::GetAuth(after.server.get())->reason, "unknown_ca");
}

TEST_P(TlsSessionTest, SessionOfModeOffDoesNotResumeInEnforceMode) {
  Publish(2, {MakeZone(1, "a.test", {root_a_.cert.get()}, v1::MODE_OFF), zone_b_});
  HandshakeResult first = ConnectVersion("a.test", &client_a_, nullptr);
  ASSERT_NE(first.ticket, nullptr);
  HandshakeResult same_mode = ConnectVersion("a.test", &client_a_, first.ticket.get());
  EXPECT_TRUE(SSL_session_reused(same_mode.server.get()));
  Publish(3, {zone_a_, zone_b_});
  HandshakeResult after = ConnectVersion("a.test", &client_a_, first.ticket.get());
  ASSERT_TRUE(after.ok);
  EXPECT_FALSE(SSL_session_reused(after.server.get()));
  EXPECT_EQ(TlsServer::GetAuth(after.server.get())->status, CertStatus::kValid);
}

TEST_P(TlsSessionTest, ResumedSessionGetsTheCurrentStatus) {
  HandshakeResult first = ConnectVersion("a.test", &client_a_, nullptr);
  ASSERT_NE(first.ticket, nullptr);
  // A revocation that (unlike the control plane's) keeps the trust version:
  // resumption still happens, and the status is computed afresh.
  v1::EdgeZone revoked_zone = zone_a_;
  revoked_zone.add_revoked()->set_serial_hex(SerialHex(client_a_.cert.get()));
  Publish(2, {revoked_zone, zone_b_});
  HandshakeResult resumed = ConnectVersion("a.test", &client_a_, first.ticket.get());
  ASSERT_TRUE(resumed.ok);
  EXPECT_TRUE(SSL_session_reused(resumed.server.get()));
  EXPECT_EQ(TlsServer::GetAuth(resumed.server.get())->status, CertStatus::kInvalid);
  EXPECT_EQ(TlsServer::GetAuth(resumed.server.get())->reason, "revoked");
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsSessionTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION));

// Zone TLS contexts are built when a zone's name is first seen in SNI, once
// per build of the zone, and a changed zone gets a new one.
TEST_F(TlsServerTest, ZoneContextsAreBuiltOnFirstUseOncePerZoneBuild) {
  ZoneSslContextCache* contexts = server_->contexts();
  EXPECT_EQ(contexts->size(), 0u) << "applying a config builds no context";
  EXPECT_TRUE(Connect("a.test", &client_a_).ok);
  EXPECT_TRUE(Connect("a.test", &client_a_).ok);
  EXPECT_EQ(contexts->builds(), 1u);
  EXPECT_EQ(contexts->size(), 1u);
  // Zone a changes (mode off): its next handshake builds a new context and
  // behaves as the new build says (no certificate requested).
  Publish(2, {MakeZone(1, "a.test", {root_a_.cert.get()}, v1::MODE_OFF), zone_b_});
  HandshakeResult off = Connect("a.test", &client_a_);
  ASSERT_TRUE(off.ok);
  EXPECT_EQ(TlsServer::GetAuth(off.server.get())->status, CertStatus::kNone);
  EXPECT_EQ(contexts->builds(), 2u);
  EXPECT_EQ(contexts->size(), 1u) << "the old build's context is dropped";
}

// A recorded zone whose server key is damaged (its chain and key are not
// parsed again when the edge starts from its state) fails its own
// handshakes only, and TlsServer lists it as a late failure of that config.
TEST_F(TlsServerTest, ARecordedZoneWhoseContextFailsFailsAloneAndIsListed) {
  v1::EdgeZone damaged = zone_a_;
  damaged.set_server_key_pem("broken");
  v1::Snapshot recorded = MakeSnapshot(2, {damaged, zone_b_});
  auto config = EdgeConfig::FromStateFile(recorded);
  ASSERT_TRUE(config.ok()) << config.status();
  slot_.Publish(*config);
  HandshakeResult a = Connect("a.test", &client_a_);
  EXPECT_FALSE(a.ok);
  EXPECT_NE(TlsServer::FailureReason(a.server.get()).find("zone 1 TLS context"), std::string::npos)
      << TlsServer::FailureReason(a.server.get());
  EXPECT_TRUE(Connect("b.test", nullptr).ok) << "the other tenant's zone serves";
  EXPECT_EQ(server_->stats().zone_context_failures.load(), 1u);
  std::vector<ZoneFailure> late = server_->LateFailures(**config);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].zone_id, 1u);
  EXPECT_EQ(late[0].hostname, "a.test");
  // Fixed by the control plane: the failure is over.
  Publish(3, {zone_a_, zone_b_});
  EXPECT_TRUE(Connect("a.test", &client_a_).ok);
  EXPECT_TRUE(server_->LateFailures(*slot_.Get()).empty());
}

// The cache's key: a build of a zone of `config`.
ZoneContextKey KeyOf(const ZoneConfig& zone) { return ZoneContextKey{zone.id, zone.build_serial}; }

TEST(ZoneSslContextCacheTest, KeepsTheMostRecentlyUsedUpToItsCapacity) {
  KeyAndCert root = MakeCa("Cache Root");
  std::vector<v1::EdgeZone> zones;
  for (uint64_t id = 1; id <= 3; ++id) {
    zones.push_back(MakeZone(id, absl::StrCat("z", id, ".test"), {root.cert.get()}));
  }
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(1, zones));
  ASSERT_TRUE(config.ok());
  ZoneSslContextCache cache(2);
  auto get = [&](uint64_t id) {
    const ZoneConfig& zone = *(*config)->FindById(id);
    return cache.Get(KeyOf(zone), zone.source.Zone(), *zone.trust).ok();
  };
  ASSERT_TRUE(get(1));
  ASSERT_TRUE(get(2));
  ASSERT_TRUE(get(1));  // z1 most recent: z2 goes next
  ASSERT_TRUE(get(3));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.builds(), 3u);
  ASSERT_TRUE(get(1));
  EXPECT_EQ(cache.builds(), 3u) << "z1 was kept";
  ASSERT_TRUE(get(2));
  EXPECT_EQ(cache.builds(), 4u) << "z2 was dropped";
}

// A build that fails at first use fails that zone's handshake only, and is
// listed for the next Ack until the zone changes.
TEST(ZoneSslContextCacheTest, AFailedFirstUseIsListedUntilTheZoneChanges) {
  KeyAndCert root = MakeCa("Cache Root");
  auto config = EdgeConfig::FromSnapshot(MakeSnapshot(
      1, {MakeZone(1, "a.test", {root.cert.get()}), MakeZone(2, "b.test", {root.cert.get()})}));
  ASSERT_TRUE(config.ok());
  // The same build of zone 1, its key since made unusable (what the
  // apply-time check cannot see: a context that fails only when made).
  const ZoneConfig& one = *(*config)->FindById(1);
  const ZoneConfig& two = *(*config)->FindById(2);
  v1::EdgeZone broken = one.source.Zone();
  broken.set_server_key_pem("not a key");
  ZoneSslContextCache cache(10);
  uint64_t generation = cache.failure_generation();
  auto failed = cache.Get(KeyOf(one), broken, *one.trust);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(cache.Get(KeyOf(two), two.source.Zone(), *two.trust).ok()) << "other zones are unaffected";
  EXPECT_GT(cache.failure_generation(), generation);
  auto current_in = [](const EdgeConfig& config) {
    return [&config](ZoneContextKey key) {
      const ZoneConfig* zone = config.FindById(key.zone_id);
      return zone != nullptr && zone->build_serial == key.build_serial;
    };
  };
  std::vector<ZoneContextFailure> listed = cache.Failures(current_in(**config));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key.zone_id, 1u);
  EXPECT_EQ(listed[0].hostname, "a.test");
  EXPECT_EQ(listed[0].error, failed.status().message());
  // Zone 1 changes: that failure is over.
  auto next = EdgeConfig::FromSnapshot(
      MakeSnapshot(2, {MakeZone(1, "a.test", {root.cert.get()}, v1::MODE_REPORT),
                       MakeZone(2, "b.test", {root.cert.get()})}));
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(cache.Failures(current_in(**next)).empty());
  EXPECT_TRUE(cache.Failures(current_in(**config)).empty()) << "dropped for good";
}

v1::AccessRule PinRule(const std::string& fingerprint_hex) {
  v1::AccessRule rule;
  rule.set_path_match(v1::PATH_MATCH_PREFIX);
  rule.set_path("/sensors/");
  rule.set_action(v1::RULE_ACTION_ENFORCE);
  rule.mutable_identity()->add_fingerprints_sha256(fingerprint_hex);
  return rule;
}

// A pin admits a certificate that chains to no root, in the pinning zone
// only, and only that certificate: the handshake marks it pinned, so only a
// rule listing it admits it (checked by DecideRequest's table test).
TEST_F(TlsServerTest, PinnedSelfSignedCertificateIsValidOnlyInItsZone) {
  CertificateSpec spec;
  spec.common_name = "sensor";
  spec.client_auth = true;
  KeyAndCert pinned = certgate::testing::SelfSign(spec);
  KeyAndCert unpinned = certgate::testing::SelfSign(spec);
  v1::EdgeZone pinning = zone_a_;
  *pinning.add_access_rules() = PinRule(Sha256FingerprintHex(pinned.cert.get()));
  Publish(2, {pinning, zone_b_});
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second meets the verification cache
    HandshakeResult ok = Connect("a.test", &pinned);
    ASSERT_TRUE(ok.ok);
    ConnectionAuth* auth = TlsServer::GetAuth(ok.server.get());
    EXPECT_EQ(auth->status, CertStatus::kValid) << auth->reason;
    EXPECT_TRUE(auth->pinned);
    ASSERT_NE(auth->identity, nullptr);
  }
  HandshakeResult other = Connect("a.test", &unpinned);
  EXPECT_EQ(TlsServer::GetAuth(other.server.get())->reason, "unknown_ca");
  EXPECT_FALSE(TlsServer::GetAuth(other.server.get())->pinned);
  // Tenant B's zone never heard of the pin.
  HandshakeResult b = Connect("b.test", &pinned);
  EXPECT_EQ(TlsServer::GetAuth(b.server.get())->reason, "unknown_ca");
  // A chained certificate is not "pinned", even in the pinning zone.
  HandshakeResult chained = Connect("a.test", &client_a_);
  EXPECT_EQ(TlsServer::GetAuth(chained.server.get())->status, CertStatus::kValid);
  EXPECT_FALSE(TlsServer::GetAuth(chained.server.get())->pinned);
}

// An issuer constraint holds only for a CA the chain walk went through: a
// client with a leaf of root A that also sends a public certificate of the
// named CA C (an intermediate another device sends) does not pass a rule
// for C, on the first handshake or on a cache hit.
TEST_F(TlsServerTest, IssuerConstraintIgnoresCertificatesTheWalkDidNotUse) {
  KeyAndCert root_c = MakeCa("Tenant A Partner Root");
  KeyAndCert partner_ca = testing::MakeIntermediate("Tenant A Partner CA", root_c);
  KeyAndCert partner = MakeClient("partner-device", partner_ca);
  v1::EdgeZone two_roots = MakeZone(1, "a.test", {root_a_.cert.get(), root_c.cert.get()});
  v1::AccessRule rule;
  rule.set_path_match(v1::PATH_MATCH_PREFIX);
  rule.set_path("/partner/");
  rule.set_action(v1::RULE_ACTION_ENFORCE);
  rule.mutable_identity()->add_issuers(Sha256FingerprintHex(root_c.cert.get()).substr(0, 16));
  *two_roots.add_access_rules() = rule;
  Publish(2, {two_roots, zone_b_});
  auto refusal = [](const HandshakeResult& result) {
    ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
    if (auth->status != CertStatus::kValid) return auth->reason;
    return auth->zone->access
        ->Evaluate(auth->zone->mode, "a.test", "GET", "/partner/x", true, auth->reason,
                   auth->pinned, auth->identity.get())
        .refusal;
  };
  ClientOptions smuggled;
  smuggled.sni = "a.test";
  smuggled.cert = &client_a_;
  smuggled.chain = {partner_ca.cert.get()};
  ClientOptions honest;
  honest.sni = "a.test";
  honest.cert = &partner;
  honest.chain = {partner_ca.cert.get()};
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second meets the verification cache
    EXPECT_EQ(refusal(Handshake(server_.get(), smuggled)), "identity_mismatch:issuer") << attempt;
    EXPECT_EQ(refusal(Handshake(server_.get(), honest)), "") << attempt;
  }
}

TEST_F(TlsServerTest, PinnedCertificateStillNeedsItsDatesAndClientAuth) {
  CertificateSpec expired_spec;
  expired_spec.common_name = "old-sensor";
  expired_spec.client_auth = true;
  expired_spec.not_before_unix = time(nullptr) - 3 * 86400;
  expired_spec.not_after_unix = time(nullptr) - 86400;
  KeyAndCert expired = certgate::testing::SelfSign(expired_spec);
  CertificateSpec server_spec;
  server_spec.common_name = "server-sensor";
  server_spec.server_auth = true;
  KeyAndCert server_only = certgate::testing::SelfSign(server_spec);
  v1::EdgeZone pinning = zone_a_;
  *pinning.add_access_rules() = PinRule(Sha256FingerprintHex(expired.cert.get()));
  *pinning.add_access_rules() = PinRule(Sha256FingerprintHex(server_only.cert.get()));
  Publish(2, {pinning, zone_b_});
  EXPECT_EQ(TlsServer::GetAuth(Connect("a.test", &expired).server.get())->reason, "expired");
  EXPECT_EQ(TlsServer::GetAuth(Connect("a.test", &server_only).server.get())->reason,
            "not_client_auth");
}

TEST_F(TlsServerTest, ValidationSettingsOfTheZone) {
  // root A -> I1 -> I2 -> leaf: two intermediates.
  KeyAndCert i1 = testing::MakeIntermediate("Tenant A Policy CA", root_a_);
  KeyAndCert i2 = testing::MakeIntermediate("Tenant A Issuing CA", i1);
  KeyAndCert leaf = MakeClient("device-deep", i2);
  CertificateSpec no_eku_spec;
  no_eku_spec.common_name = "device-no-eku";
  KeyAndCert no_eku = certgate::testing::Issue(no_eku_spec, root_a_);
  ClientOptions deep;
  deep.sni = "a.test";
  deep.cert = &leaf;
  deep.chain = {i2.cert.get(), i1.cert.get()};
  auto status_of = [this](const ClientOptions& options) {
    HandshakeResult result = Handshake(server_.get(), options);
    ConnectionAuth* auth = TlsServer::GetAuth(result.server.get());
    return auth->status == CertStatus::kValid ? std::string("valid") : auth->reason;
  };
  ClientOptions shallow;
  shallow.sni = "a.test";
  shallow.cert = &no_eku;
  // Defaults: up to 8 intermediates, clientAuth required.
  EXPECT_EQ(status_of(deep), "valid");
  EXPECT_EQ(status_of(shallow), "not_client_auth");
  // Settings move the trust version (as the control plane does): cached
  // verdicts were made under the old ones.
  v1::EdgeZone strict = zone_a_;
  strict.set_trust_version(2);
  strict.mutable_validation()->set_max_chain_depth(1);
  strict.mutable_validation()->set_allow_missing_client_auth_eku(true);
  Publish(2, {strict, zone_b_});
  EXPECT_EQ(status_of(deep), "chain_too_long");
  EXPECT_EQ(status_of(shallow), "valid");
  strict.set_trust_version(3);
  strict.mutable_validation()->set_max_chain_depth(2);
  Publish(3, {strict, zone_b_});
  EXPECT_EQ(status_of(deep), "valid");
}

}  // namespace
}  // namespace certgate::edge
