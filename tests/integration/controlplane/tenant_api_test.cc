// TenantService and AdminService against a real certgate-control: every
// refusal names the problem and changes nothing; tenants are isolated; each
// committed change bumps the config version by exactly one.
#include <cstdio>
#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "gtest/gtest.h"
#include "openssl/obj.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/test_pki.h"

namespace certgate::testing {
namespace {

using grpc::StatusCode;

class TenantApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ControlPlaneProcess(MakeTempDir("cp-tenant-api"),
                                      {"--insecure", "--max-roots-per-zone", "3"});
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
  }
  static void TearDownTestSuite() {
    server_->Stop(SIGTERM);
    delete server_;
  }

  void SetUp() override {
    static int tenants = 0;
    tenant_ = NewTenant(*server_, absl::StrCat("tenant-", ++tenants));
    stub_ = server_->Tenant();
  }

  // Call runs one TenantService method with `token`.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (v1::TenantService::Stub::*method)(grpc::ClientContext*,
                                                                    const Request&, Response*),
                    const Request& request, Response* response, const std::string& token = "") {
    grpc::ClientContext context;
    Authorize(&context, token.empty() ? tenant_ : token);
    return (stub_.get()->*method)(&context, request, response);
  }

  v1::ZoneResponse CreateZone(const std::string& hostname, const std::string& token = "") {
    v1::CreateZoneRequest request;
    request.set_hostname(hostname);
    request.set_origin("http://127.0.0.1:8080");
    v1::ZoneResponse response;
    grpc::Status status = Call(&v1::TenantService::Stub::CreateZone, request, &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::Zone GetZone(const std::string& hostname) {
    v1::GetZoneRequest request;
    request.set_hostname(hostname);
    v1::ZoneResponse response;
    grpc::Status status = Call(&v1::TenantService::Stub::GetZone, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.zone();
  }

  // State: the config version and everything the tenant can list.
  std::string State(const std::string& token = "") {
    v1::ListZonesResponse zones;
    grpc::Status status =
        Call(&v1::TenantService::Stub::ListZones, v1::ListZonesRequest(), &zones, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return absl::StrCat(ConfigVersion(*server_), "|", zones.SerializeAsString());
  }

  // ExpectRefused runs `call`, expects `code` with `message` in its text,
  // and checks that neither the version nor any zone changed.
  void ExpectRefused(const std::function<grpc::Status()>& call, StatusCode code,
                     const std::string& message) {
    std::string before = State();
    grpc::Status status = call();
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), message))
        << "message: " << status.error_message() << "\nexpected to contain: " << message;
    EXPECT_EQ(State(), before) << "a refused change changed something";
  }

  grpc::Status AddRoots(const std::string& hostname, const std::string& data,
                        v1::AddCaCertificatesResponse* response = nullptr) {
    v1::AddCaCertificatesRequest request;
    request.set_hostname(hostname);
    request.set_data(data);
    v1::AddCaCertificatesResponse ignored;
    return Call(&v1::TenantService::Stub::AddRoots, request, response ? response : &ignored);
  }

  static ControlPlaneProcess* server_;
  std::string tenant_;
  std::unique_ptr<v1::TenantService::Stub> stub_;
};

ControlPlaneProcess* TenantApiTest::server_ = nullptr;

TEST_F(TenantApiTest, CreateZoneHasDefaultsAndAnEdgeCaCertificate) {
  uint64_t before = ConfigVersion(*server_);
  v1::ZoneResponse created = CreateZone("Shop.Example.Test");
  EXPECT_EQ(created.config_version(), before + 1);
  const v1::Zone& zone = created.zone();
  EXPECT_EQ(zone.hostname(), "shop.example.test");
  EXPECT_EQ(zone.mode(), v1::MODE_ENFORCE);
  EXPECT_EQ(zone.origin(), "http://127.0.0.1:8080");
  EXPECT_EQ(zone.error_response().content_type(), "application/json");
  EXPECT_EQ(zone.error_response().body(), R"({"error":"client certificate required"})");
  EXPECT_EQ(zone.status_header_names().status(), "X-Client-Cert-Status");
  EXPECT_EQ(zone.status_header_names().ski(), "X-Client-Cert-Ski");
  EXPECT_EQ(zone.status_header_names().error(), "X-Client-Cert-Error");
  EXPECT_EQ(zone.trust_version(), before + 1);
  EXPECT_TRUE(zone.server_certificate().issued_by_edge_ca());
  ASSERT_EQ(zone.server_certificate().dns_names_size(), 1);
  EXPECT_EQ(zone.server_certificate().dns_names(0), "shop.example.test");

  // The issued leaf is signed by the edge CA the API hands out.
  v1::GetEdgeCaResponse ca;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::GetEdgeCa, v1::GetEdgeCaRequest(), &ca).ok());
  auto ca_certs = ParseCertificates(ca.certificate_pem());
  ASSERT_TRUE(ca_certs.ok());
  auto chain = ParseCertificates(zone.server_certificate().chain_pem());
  ASSERT_TRUE(chain.ok());
  bssl::UniquePtr<EVP_PKEY> ca_key(X509_get_pubkey((*ca_certs)[0].get()));
  EXPECT_EQ(X509_verify((*chain)[0].get(), ca_key.get()), 1);

  v1::ListZonesResponse list;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListZones, v1::ListZonesRequest(), &list).ok());
  ASSERT_EQ(list.zones_size(), 1);
  EXPECT_EQ(list.zones(0).hostname(), "shop.example.test");
  EXPECT_EQ(GetZone("SHOP.example.test").hostname(), "shop.example.test");
}

TEST_F(TenantApiTest, EveryCommittedChangeBumpsTheVersionByExactlyOne) {
  auto ca = MakeCa("Version CA");
  uint64_t version = ConfigVersion(*server_);
  auto expect_next = [&](uint64_t reported) {
    EXPECT_EQ(reported, version + 1);
    EXPECT_EQ(ConfigVersion(*server_), version + 1);
    version = reported;
  };
  expect_next(CreateZone("v.example.test").config_version());

  v1::UpdateZoneRequest update;
  update.set_hostname("v.example.test");
  update.set_mode(v1::MODE_REPORT);
  v1::ZoneResponse zone;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::UpdateZone, update, &zone).ok());
  expect_next(zone.config_version());
  // Mode is not trust: the trust version stays at creation's.
  EXPECT_EQ(zone.zone().trust_version(), version - 1);

  v1::AddCaCertificatesResponse added;
  ASSERT_TRUE(AddRoots("v.example.test", ca.cert_pem(), &added).ok());
  expect_next(added.config_version());
  EXPECT_EQ(GetZone("v.example.test").trust_version(), version);

  v1::SetHeaderMappingRequest mapping;
  mapping.set_hostname("v.example.test");
  mapping.mutable_mapping()->set_header("X-Device");
  mapping.mutable_mapping()->set_selector("subject.CN");
  ASSERT_TRUE(Call(&v1::TenantService::Stub::SetHeaderMapping, mapping, &zone).ok());
  expect_next(zone.config_version());

  v1::RevokeRequest revoke;
  revoke.set_hostname("v.example.test");
  revoke.set_serial_hex("0A:0B");
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::Revoke, revoke, &revoked).ok());
  expect_next(revoked.config_version());
  EXPECT_EQ(GetZone("v.example.test").trust_version(), version);

  v1::DeleteZoneRequest remove;
  remove.set_hostname("v.example.test");
  v1::ChangeResponse change;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::DeleteZone, remove, &change).ok());
  expect_next(change.config_version());
}

TEST_F(TenantApiTest, HostnameOriginAndModeRefusals) {
  auto create = [&](const std::string& hostname, const std::string& origin, int mode = 0) {
    return [=]() {
      v1::CreateZoneRequest request;
      request.set_hostname(hostname);
      request.set_origin(origin);
      request.set_mode(static_cast<v1::Mode>(mode));
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::CreateZone, request, &response);
    };
  };
  ExpectRefused(create("a..example.test", "http://o:1"), StatusCode::INVALID_ARGUMENT,
                "a..example.test");
  ExpectRefused(create("-bad.example.test", "http://o:1"), StatusCode::INVALID_ARGUMENT,
                "-bad.example.test");
  ExpectRefused(create("a.*.example.test", "http://o:1"), StatusCode::INVALID_ARGUMENT,
                "a.*.example.test");
  ExpectRefused(create("*.test", "http://o:1"), StatusCode::INVALID_ARGUMENT, "*.test");
  ExpectRefused(create("under_score.example.test", "http://o:1"), StatusCode::INVALID_ARGUMENT,
                "under_score.example.test");
  ExpectRefused(create("ok.example.test", ""), StatusCode::INVALID_ARGUMENT, "origin is required");
  ExpectRefused(create("ok.example.test", "ftp://o:21"), StatusCode::INVALID_ARGUMENT,
                "ftp://o:21");
  ExpectRefused(create("ok.example.test", "http://user@o:80"), StatusCode::INVALID_ARGUMENT,
                "http://user@o:80");
  ExpectRefused(create("ok.example.test", "http://o:1", 9), StatusCode::INVALID_ARGUMENT,
                "mode 9 is unknown");

  // A wildcard is fine; the same hostname twice is not.
  CreateZone("*.wild.example.test");
  ExpectRefused(create("*.wild.example.test", "http://o:1"), StatusCode::ALREADY_EXISTS,
                "hostname *.wild.example.test is already taken");

  // Another tenant's hostname is refused, with the same words.
  std::string other = NewTenant(*server_, "hostname-owner");
  CreateZone("taken.example.test", other);
  ExpectRefused(create("TAKEN.example.test", "http://o:1"), StatusCode::ALREADY_EXISTS,
                "hostname taken.example.test is already taken");

  // Wildcards and the names they cover stay with one tenant.
  CreateZone("*.shared.example.test", other);
  ExpectRefused(create("api.shared.example.test", "http://o:1"), StatusCode::ALREADY_EXISTS,
                "hostname api.shared.example.test is already taken: *.shared.example.test "
                "belongs to another tenant");
  CreateZone("exact.owned.example.test", other);
  ExpectRefused(create("*.owned.example.test", "http://o:1"), StatusCode::ALREADY_EXISTS,
                "hostname *.owned.example.test is already taken: a name it covers belongs to "
                "another tenant");
  // Deeper names are not covered, and a tenant may mix its own.
  CreateZone("a.b.shared.example.test");
  CreateZone("one.wild.example.test");

  v1::UpdateZoneRequest update;
  update.set_hostname("*.wild.example.test");
  update.set_origin("gopher://x");
  ExpectRefused(
      [&] {
        v1::ZoneResponse response;
        return Call(&v1::TenantService::Stub::UpdateZone, update, &response);
      },
      StatusCode::INVALID_ARGUMENT, "gopher://x");
  update.clear_origin();
  ExpectRefused(
      [&] {
        v1::ZoneResponse response;
        return Call(&v1::TenantService::Stub::UpdateZone, update, &response);
      },
      StatusCode::INVALID_ARGUMENT, "nothing to update");
}

// SSRF: a tenant cannot point a zone at cloud metadata, link-local, the
// unspecified address, private ranges, or those spelled another way. This
// server allows only 127.0.0.0/8 besides public addresses.
TEST_F(TenantApiTest, OriginsOutsideThePolicyAreRefused) {
  auto create = [&](const std::string& hostname, const std::string& origin) {
    return [=]() {
      v1::CreateZoneRequest request;
      request.set_hostname(hostname);
      request.set_origin(origin);
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::CreateZone, request, &response);
    };
  };
  struct Case {
    std::string origin;
    std::string message;
  };
  const Case cases[] = {
      {"http://169.254.169.254",
       "origin address 169.254.169.254 is link-local; only an "
       "--origin-allow range inside 169.254.0.0/16 allows it"},
      {"http://169.254.169.254:80/", "169.254.169.254 is link-local"},
      {"http://[fe80::1]:8080", "origin address fe80::1 is link-local"},
      {"http://0.0.0.0:8080", "origin address 0.0.0.0 is unspecified; no --origin-allow range"},
      {"http://[::]:8080", "origin address :: is unspecified"},
      {"http://10.0.0.1", "origin address 10.0.0.1 is private; no --origin-allow range covers it"},
      {"http://192.168.1.1:80", "192.168.1.1 is private"},
      {"http://100.64.0.1:80", "100.64.0.1 is shared (CGNAT)"},
      {"http://[fd00::1]", "fd00::1 is private"},
      {"http://[::1]:8080", "::1 is loopback"},
      {"http://[::ffff:169.254.169.254]",
       "::ffff:169.254.169.254 (IPv4 169.254.169.254) is link-local"},
      {"http://[64:ff9b::a9fe:a9fe]", "(IPv4 169.254.169.254) is link-local"},
      {"http://[2002:a9fe:a9fe::1]", "(IPv4 169.254.169.254) is link-local"},
      {"https://224.0.0.1", "224.0.0.1 is multicast"},
      {"http://0xa9fea9fe", "the IPv4 address 169.254.169.254 in a non-standard spelling"},
      {"http://0x7f000001:8080", "the IPv4 address 127.0.0.1 in a non-standard spelling"},
      // NormalizeOrigin already refuses these spellings.
      {"http://2130706433", "2130706433"},
      {"http://127.1", "127.1"},
      {"http://0x7f.1", "0x7f.1"},
      // h2c:// (cleartext HTTP/2) origins meet the same policy.
      {"h2c://169.254.169.254:80", "origin address 169.254.169.254 is link-local"},
      {"h2c://[::1]:50051", "::1 is loopback"},
      {"h2c://10.0.0.1", "10.0.0.1 is private"},
      {"h2c://0x7f000001:50051", "the IPv4 address 127.0.0.1 in a non-standard spelling"},
      {"h2c://user@grpc.example", "must not contain user info"},
      {"h2://grpc.example", "must start with http://, https:// or h2c://"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.origin);
    ExpectRefused(create("ssrf.example.test", c.origin), StatusCode::INVALID_ARGUMENT, c.message);
  }
  // Allowed: public addresses, 127.0.0.0/8 (this server's --origin-allow),
  // and host names (the edge judges what they resolve to).
  CreateZone("ssrf.example.test");
  v1::UpdateZoneRequest update;
  update.set_hostname("ssrf.example.test");
  for (const std::string origin :
       {"http://localhost:8080", "https://8.8.8.8", "http://127.0.0.2:9", "h2c://127.0.0.2:50051",
        "h2c://grpc.example:50051", "http://[2606:4700::1]"}) {
    update.set_origin(origin);
    v1::ZoneResponse response;
    grpc::Status status = Call(&v1::TenantService::Stub::UpdateZone, update, &response);
    EXPECT_TRUE(status.ok()) << origin << ": " << status.error_message();
  }
  // zone set is refused the same way, and the origin stays what it was.
  for (const Case& c : cases) {
    SCOPED_TRACE(c.origin);
    update.set_origin(c.origin);
    ExpectRefused(
        [&] {
          v1::ZoneResponse response;
          return Call(&v1::TenantService::Stub::UpdateZone, update, &response);
        },
        StatusCode::INVALID_ARGUMENT, c.message);
  }
  EXPECT_EQ(GetZone("ssrf.example.test").origin(), "http://[2606:4700::1]");
}

TEST_F(TenantApiTest, RootRefusals) {
  CreateZone("roots.example.test");
  auto add = [&](const std::string& data) {
    return [=]() { return AddRoots("roots.example.test", data); };
  };
  ExpectRefused(add(""), StatusCode::INVALID_ARGUMENT, "no certificate given");
  ExpectRefused(add("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"),
                StatusCode::INVALID_ARGUMENT, "");
  ExpectRefused(add("garbage bytes"), StatusCode::INVALID_ARGUMENT, "");

  auto ca = MakeCa("Roots CA");
  auto leaf = MakeLeaf("device-1", ca);
  ExpectRefused(add(leaf.cert_pem()), StatusCode::INVALID_ARGUMENT, "not a CA");
  // A CA among good ones spoils the whole upload.
  auto good = MakeCa("Good CA");
  ExpectRefused(add(good.cert_pem() + leaf.cert_pem()), StatusCode::INVALID_ARGUMENT, "not a CA");

  CertificateSpec expired_spec;
  expired_spec.common_name = "Expired CA";
  expired_spec.is_ca = true;
  expired_spec.not_after_unix = absl::ToUnixSeconds(absl::Now()) - 86400;
  expired_spec.not_before_unix = expired_spec.not_after_unix - 86400 * 30;
  auto expired = SelfSign(expired_spec);
  ExpectRefused(add(expired.cert_pem()), StatusCode::INVALID_ARGUMENT, "Expired CA");

  // A CA certificate over 64 KiB (a large private extension) is refused.
  {
    bssl::UniquePtr<X509> big(X509_dup(good.cert.get()));
    std::string payload(70 * 1024, 'x');
    bssl::UniquePtr<ASN1_OCTET_STRING> value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const uint8_t*>(payload.data()),
                          payload.size());
    bssl::UniquePtr<ASN1_OBJECT> oid(OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1));
    bssl::UniquePtr<X509_EXTENSION> extension(
        X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    ASSERT_EQ(X509_add_ext(big.get(), extension.get(), -1), 1);
    ASSERT_GT(X509_sign(big.get(), good.key.get(), EVP_sha256()), 0);
    ExpectRefused(add(CertificateToPem(big.get())), StatusCode::INVALID_ARGUMENT, "");
    grpc::Status status = AddRoots("roots.example.test", CertificateToDer(big.get()));
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    std::printf("oversized CA refused: %s\n", status.error_message().c_str());
  }

  // DER works; the same certificate again is a duplicate.
  v1::AddCaCertificatesResponse added;
  ASSERT_TRUE(AddRoots("roots.example.test", CertificateToDer(ca.cert.get()), &added).ok());
  ASSERT_EQ(added.added_size(), 1);
  EXPECT_EQ(added.added(0).subject(), "CN=Roots CA");
  EXPECT_EQ(added.added(0).id(), Sha256FingerprintHex(ca.cert.get()).substr(0, 16));
  ExpectRefused(add(ca.cert_pem()), StatusCode::ALREADY_EXISTS, "already a root");
  ExpectRefused(add(good.cert_pem() + good.cert_pem()), StatusCode::ALREADY_EXISTS, "twice");

  // The suite's server allows 3 roots per zone.
  auto ca2 = MakeCa("Second CA");
  auto ca3 = MakeCa("Third CA");
  ASSERT_TRUE(AddRoots("roots.example.test", ca2.cert_pem() + ca3.cert_pem()).ok());
  ExpectRefused(add(good.cert_pem()), StatusCode::RESOURCE_EXHAUSTED,
                "zone roots.example.test's roots and intermediates would be 4; max-cas-per-zone "
                "allows at most 3");

  v1::ListCaCertificatesRequest list_request;
  list_request.set_hostname("roots.example.test");
  v1::ListCaCertificatesResponse list;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListRoots, list_request, &list).ok());
  ASSERT_EQ(list.certificates_size(), 3);

  // Remove by an 8-digit prefix; a short or unknown id is refused.
  v1::RemoveCaCertificateRequest remove;
  remove.set_hostname("roots.example.test");
  remove.set_id("abc");
  auto remove_call = [&] {
    v1::ChangeResponse change;
    return Call(&v1::TenantService::Stub::RemoveRoot, remove, &change);
  };
  ExpectRefused(remove_call, StatusCode::INVALID_ARGUMENT, "shorter than 8");
  remove.set_id("0000000000000000");
  ExpectRefused(remove_call, StatusCode::NOT_FOUND, "root 0000000000000000 not found");
  remove.set_id(list.certificates(1).id().substr(0, 8));
  v1::ChangeResponse change;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::RemoveRoot, remove, &change).ok());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListRoots, list_request, &list).ok());
  EXPECT_EQ(list.certificates_size(), 2);
}

TEST_F(TenantApiTest, IntermediateRefusalsAndAdds) {
  CreateZone("inter.example.test");
  auto root = MakeCa("Inter Root");
  CertificateSpec intermediate_spec;
  intermediate_spec.common_name = "Inter Intermediate";
  intermediate_spec.is_ca = true;
  auto intermediate = Issue(intermediate_spec, root);
  auto leaf = MakeLeaf("device", intermediate);
  auto add = [&](const std::string& data) {
    return [=]() {
      v1::AddCaCertificatesRequest request;
      request.set_hostname("inter.example.test");
      request.set_data(data);
      v1::AddCaCertificatesResponse response;
      return Call(&v1::TenantService::Stub::AddIntermediates, request, &response);
    };
  };
  ExpectRefused(add(leaf.cert_pem()), StatusCode::INVALID_ARGUMENT, "not a CA");
  ASSERT_TRUE(add(intermediate.cert_pem())().ok());
  ExpectRefused(add(intermediate.cert_pem()), StatusCode::ALREADY_EXISTS, "already a intermediate");
  EXPECT_EQ(GetZone("inter.example.test").intermediates_size(), 1);
}

TEST_F(TenantApiTest, ServerCertificateRefusals) {
  CreateZone("tls.example.test");
  auto ca = MakeCa("Server CA");
  auto good = MakeServerCert("tls.example.test", ca);
  auto other_host = MakeServerCert("other.example.test", ca);
  auto set = [&](const std::string& chain, const std::string& key) {
    return [=]() {
      v1::SetServerCertificateRequest request;
      request.set_hostname("tls.example.test");
      request.set_chain_pem(chain);
      request.set_key_pem(key);
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::SetServerCertificate, request, &response);
    };
  };
  ExpectRefused(set("", good.key_pem()), StatusCode::INVALID_ARGUMENT, "chain is empty");
  ExpectRefused(set("junk", good.key_pem()), StatusCode::INVALID_ARGUMENT,
                "server certificate chain");
  ExpectRefused(set(good.cert_pem(), "junk"), StatusCode::INVALID_ARGUMENT,
                "server certificate key");
  ExpectRefused(set(good.cert_pem(), other_host.key_pem()), StatusCode::INVALID_ARGUMENT,
                "key does not match");
  ExpectRefused(set(other_host.cert_pem(), other_host.key_pem()), StatusCode::INVALID_ARGUMENT,
                "does not cover tls.example.test");

  v1::ZoneResponse response;
  ASSERT_TRUE(Call(
                  &v1::TenantService::Stub::SetServerCertificate,
                  [&] {
                    v1::SetServerCertificateRequest request;
                    request.set_hostname("tls.example.test");
                    request.set_chain_pem(good.cert_pem() + ca.cert_pem());
                    request.set_key_pem(good.key_pem());
                    return request;
                  }(),
                  &response)
                  .ok());
  EXPECT_FALSE(response.zone().server_certificate().issued_by_edge_ca());
  EXPECT_EQ(response.zone().server_certificate().subject(), "CN=tls.example.test");

  v1::ResetServerCertificateRequest reset;
  reset.set_hostname("tls.example.test");
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ResetServerCertificate, reset, &response).ok());
  EXPECT_TRUE(response.zone().server_certificate().issued_by_edge_ca());
}

TEST_F(TenantApiTest, ErrorResponseRefusals) {
  CreateZone("page.example.test");
  auto set = [&](const std::string& type, const std::string& body) {
    return [=]() {
      v1::SetErrorResponseRequest request;
      request.set_hostname("page.example.test");
      request.mutable_error_response()->set_content_type(type);
      request.mutable_error_response()->set_body(body);
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::SetErrorResponse, request, &response);
    };
  };
  ExpectRefused(set("application/json", "{\"error\": "), StatusCode::INVALID_ARGUMENT,
                "not valid JSON");
  ExpectRefused(set("application/json; charset=utf-8", "{'single': 1}"),
                StatusCode::INVALID_ARGUMENT, "not valid JSON");
  ExpectRefused(set("application/json", "{} trailing"), StatusCode::INVALID_ARGUMENT,
                "not valid JSON");
  ExpectRefused(set("text/html", std::string(64 * 1024 + 1, 'x')), StatusCode::INVALID_ARGUMENT,
                "at most 65536");
  ExpectRefused(set("", "x"), StatusCode::INVALID_ARGUMENT, "content type is empty");
  ExpectRefused(set("html", "x"), StatusCode::INVALID_ARGUMENT, "is not type/subtype");
  ExpectRefused(set("text/html\r\nX-Evil: 1", "x"), StatusCode::INVALID_ARGUMENT,
                "control character");

  ASSERT_TRUE(set("text/html", std::string(64 * 1024, 'x'))().ok());
  ASSERT_TRUE(
      set("application/json", R"({"error":"go away","code":403,"list":[1,2.5,null]})")().ok());
  EXPECT_EQ(GetZone("page.example.test").error_response().body(),
            R"({"error":"go away","code":403,"list":[1,2.5,null]})");
}

TEST_F(TenantApiTest, HeaderMappingRefusals) {
  CreateZone("hdr.example.test");
  auto set = [&](const std::string& header, const std::string& selector) {
    return [=]() {
      v1::SetHeaderMappingRequest request;
      request.set_hostname("hdr.example.test");
      request.mutable_mapping()->set_header(header);
      request.mutable_mapping()->set_selector(selector);
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::SetHeaderMapping, request, &response);
    };
  };
  for (const char* forbidden : {"Host", "Content-Length", "Transfer-Encoding", "Connection"}) {
    ExpectRefused(set(forbidden, "subject.CN"), StatusCode::INVALID_ARGUMENT, forbidden);
  }
  ExpectRefused(set("Bad Header", "subject.CN"), StatusCode::INVALID_ARGUMENT, "Bad Header");
  ExpectRefused(set("", "subject.CN"), StatusCode::INVALID_ARGUMENT, "");
  ExpectRefused(set("X-Device", "subject.XX"), StatusCode::INVALID_ARGUMENT, "subject.XX");
  ExpectRefused(set("X-Device", "password"), StatusCode::INVALID_ARGUMENT, "password");
  ExpectRefused(set("x-client-cert-status", "subject.CN"), StatusCode::INVALID_ARGUMENT,
                "already a status header");
  // Names are compared as origins read them: case and `_`/`-` folded.
  ExpectRefused(set("X_Client_Cert_Status", "subject.CN"), StatusCode::INVALID_ARGUMENT,
                "already a status header");
  ExpectRefused(set("X_Forwarded_For", "subject.CN"), StatusCode::INVALID_ARGUMENT,
                "set by the edge itself");
  ExpectRefused(set("X-Real-IP", "subject.CN"), StatusCode::INVALID_ARGUMENT,
                "set by the edge itself");

  ASSERT_TRUE(set("X-Device", "subject.CN")().ok());
  ASSERT_TRUE(set("x_device", "san.uri")().ok());  // replaces, case and `_`/`-` folded
  ASSERT_TRUE(set("X-Spiffe", "spiffe_id")().ok());
  v1::Zone zone = GetZone("hdr.example.test");
  ASSERT_EQ(zone.header_mappings_size(), 2);
  EXPECT_EQ(zone.header_mappings(0).selector(), "san.uri");

  // Status header names may not collide with mappings or each other.
  auto rename = [&](const std::string& status, const std::string& ski) {
    return [=]() {
      v1::SetStatusHeaderNamesRequest request;
      request.set_hostname("hdr.example.test");
      request.mutable_names()->set_status(status);
      request.mutable_names()->set_ski(ski);
      v1::ZoneResponse response;
      return Call(&v1::TenantService::Stub::SetStatusHeaderNames, request, &response);
    };
  };
  ExpectRefused(rename("X-Device", ""), StatusCode::INVALID_ARGUMENT, "already mapped");
  ExpectRefused(rename("X-Same", "x-same"), StatusCode::INVALID_ARGUMENT, "must differ");
  ExpectRefused(rename("X-Same", "x_same"), StatusCode::INVALID_ARGUMENT, "must differ");
  ExpectRefused(rename("X_Device", ""), StatusCode::INVALID_ARGUMENT, "already mapped");
  ExpectRefused(rename("Transfer-Encoding", ""), StatusCode::INVALID_ARGUMENT, "Transfer-Encoding");
  ASSERT_TRUE(rename("X-Cert-Status", "")().ok());
  zone = GetZone("hdr.example.test");
  EXPECT_EQ(zone.status_header_names().status(), "X-Cert-Status");
  EXPECT_EQ(zone.status_header_names().ski(), "X-Client-Cert-Ski");

  v1::RemoveHeaderMappingRequest remove;
  remove.set_hostname("hdr.example.test");
  remove.set_header("X-Nope");
  ExpectRefused(
      [&] {
        v1::ZoneResponse response;
        return Call(&v1::TenantService::Stub::RemoveHeaderMapping, remove, &response);
      },
      StatusCode::NOT_FOUND, "header mapping X-Nope not found");
  remove.set_header("X-SPIFFE");
  v1::ZoneResponse response;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::RemoveHeaderMapping, remove, &response).ok());
  EXPECT_EQ(response.zone().header_mappings_size(), 1);
}

TEST_F(TenantApiTest, RevocationsAndCrls) {
  CreateZone("rev.example.test");
  auto root = MakeCa("Rev Root");
  auto stranger = MakeCa("Stranger CA");
  ASSERT_TRUE(AddRoots("rev.example.test", root.cert_pem()).ok());
  auto device = MakeLeaf("device-7", root);

  auto revoke = [&](std::function<void(v1::RevokeRequest&)> fill) {
    return [=]() {
      v1::RevokeRequest request;
      request.set_hostname("rev.example.test");
      fill(request);
      v1::RevokeResponse response;
      return Call(&v1::TenantService::Stub::Revoke, request, &response);
    };
  };
  ExpectRefused(revoke([](v1::RevokeRequest&) {}), StatusCode::INVALID_ARGUMENT,
                "needs serial_hex or certificate");
  ExpectRefused(revoke([](v1::RevokeRequest& r) { r.set_serial_hex("xyz"); }),
                StatusCode::INVALID_ARGUMENT, "xyz");
  ExpectRefused(revoke([](v1::RevokeRequest& r) { r.set_certificate("not a cert"); }),
                StatusCode::INVALID_ARGUMENT, "certificate to revoke");
  ExpectRefused(revoke([](v1::RevokeRequest& r) {
                  r.set_serial_hex("01");
                  r.set_issuer_certificate("junk");
                }),
                StatusCode::INVALID_ARGUMENT, "issuer certificate");

  // Serial alone: every issuer. Serial with issuer: that issuer only.
  v1::RevokeRequest any;
  any.set_hostname("rev.example.test");
  any.set_serial_hex("0x0ABC");
  v1::RevokeResponse revoked;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::Revoke, any, &revoked).ok());
  EXPECT_EQ(revoked.revocation().serial_hex(), "abc");
  EXPECT_TRUE(revoked.revocation().issuer_name_der().empty());
  EXPECT_EQ(revoked.revocation().source(), "serial");
  ExpectRefused(revoke([](v1::RevokeRequest& r) { r.set_serial_hex("ab:c"); }),
                StatusCode::ALREADY_EXISTS, "already revoked");

  v1::RevokeRequest scoped = any;
  scoped.set_issuer_certificate(root.cert_pem());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::Revoke, scoped, &revoked).ok());
  EXPECT_EQ(revoked.revocation().issuer_name_der(),
            NameToDer(X509_get_subject_name(root.cert.get())));

  v1::RevokeRequest by_cert;
  by_cert.set_hostname("rev.example.test");
  by_cert.set_certificate(device.cert_pem());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::Revoke, by_cert, &revoked).ok());
  EXPECT_EQ(revoked.revocation().serial_hex(), SerialHex(device.cert.get()));
  EXPECT_EQ(revoked.revocation().issuer_name_der(),
            NameToDer(X509_get_issuer_name(device.cert.get())));
  EXPECT_EQ(revoked.revocation().source(), "certificate");
  EXPECT_EQ(revoked.revocation().issuer(), "CN=Rev Root");
  uint64_t trust_after_revoke = GetZone("rev.example.test").trust_version();
  EXPECT_EQ(trust_after_revoke, revoked.config_version());

  // CRLs: must parse and be signed by a root or intermediate of the zone.
  auto add_crl = [&](const std::string& data) {
    return [=]() {
      v1::AddCrlRequest request;
      request.set_hostname("rev.example.test");
      request.set_data(data);
      v1::AddCrlResponse response;
      return Call(&v1::TenantService::Stub::AddCrl, request, &response);
    };
  };
  ExpectRefused(add_crl("not a crl"), StatusCode::INVALID_ARGUMENT, "");
  auto stranger_crl = IssueCrl(stranger.cert.get(), stranger.key.get(), {"1234"}, 7);
  ASSERT_TRUE(stranger_crl.ok());
  ExpectRefused(add_crl(CrlToPem(stranger_crl->get())), StatusCode::INVALID_ARGUMENT,
                "CRL issuer CN=Stranger CA is not a root or intermediate of zone rev.example.test");
  // Same issuer name as the root but another key: the signature fails.
  auto impostor = MakeCa("Rev Root");
  auto impostor_crl = IssueCrl(impostor.cert.get(), impostor.key.get(), {"1234"}, 7);
  ASSERT_TRUE(impostor_crl.ok());
  ExpectRefused(add_crl(CrlToPem(impostor_crl->get())), StatusCode::INVALID_ARGUMENT,
                "CRL signature does not verify");

  auto crl = IssueCrl(root.cert.get(), root.key.get(), {"1234", "beef"}, 7);
  ASSERT_TRUE(crl.ok());
  v1::AddCrlRequest crl_request;
  crl_request.set_hostname("rev.example.test");
  crl_request.set_data(CrlToPem(crl->get()));
  v1::AddCrlResponse crl_added;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::AddCrl, crl_request, &crl_added).ok());
  EXPECT_EQ(crl_added.crl().revoked_count(), 2);
  EXPECT_EQ(crl_added.crl().issuer(), "CN=Rev Root");
  ExpectRefused(add_crl(CrlToPem(crl->get())), StatusCode::ALREADY_EXISTS, "already added");

  v1::ListRevocationsRequest list_request;
  list_request.set_hostname("rev.example.test");
  v1::ListRevocationsResponse list;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListRevocations, list_request, &list).ok());
  ASSERT_EQ(list.revocations_size(), 5);
  ASSERT_EQ(list.crls_size(), 1);
  EXPECT_EQ(list.revocations(3).source(), "crl:" + crl_added.crl().id());
  EXPECT_EQ(list.revocations(4).serial_hex(), "beef");

  // A CRL entry goes with its CRL.
  v1::RemoveRevocationRequest remove_entry;
  remove_entry.set_hostname("rev.example.test");
  remove_entry.set_id(list.revocations(3).id());
  ExpectRefused(
      [&] {
        v1::ChangeResponse change;
        return Call(&v1::TenantService::Stub::RemoveRevocation, remove_entry, &change);
      },
      StatusCode::FAILED_PRECONDITION, "remove the CRL");
  v1::RemoveCrlRequest remove_crl;
  remove_crl.set_hostname("rev.example.test");
  remove_crl.set_id(crl_added.crl().id());
  v1::ChangeResponse change;
  ASSERT_TRUE(Call(&v1::TenantService::Stub::RemoveCrl, remove_crl, &change).ok());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListRevocations, list_request, &list).ok());
  EXPECT_EQ(list.revocations_size(), 3);
  EXPECT_EQ(list.crls_size(), 0);
  EXPECT_EQ(GetZone("rev.example.test").trust_version(), change.config_version());

  remove_entry.set_id(list.revocations(0).id());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::RemoveRevocation, remove_entry, &change).ok());
  ASSERT_TRUE(Call(&v1::TenantService::Stub::ListRevocations, list_request, &list).ok());
  EXPECT_EQ(list.revocations_size(), 2);
}

TEST_F(TenantApiTest, TenantsAreIsolated) {
  auto ca = MakeCa("Isolation CA");
  CreateZone("mine.example.test");
  ASSERT_TRUE(AddRoots("mine.example.test", ca.cert_pem()).ok());
  std::string intruder = NewTenant(*server_, "intruder");
  std::string owner_state = State();

  v1::ListZonesResponse list;
  ASSERT_TRUE(
      Call(&v1::TenantService::Stub::ListZones, v1::ListZonesRequest(), &list, intruder).ok());
  EXPECT_EQ(list.zones_size(), 0);

  // Every call on the owner's zone answers exactly like a missing zone.
  auto probe = [&](const std::string& hostname) {
    std::vector<std::string> answers;
    auto record = [&](const grpc::Status& status) {
      std::string message = status.error_message();
      size_t at = message.find(hostname);
      if (at != std::string::npos) {
        message.replace(at, hostname.size(), "<host>");
      }
      answers.push_back(absl::StrCat(status.error_code(), ":", message));
    };
    v1::GetZoneRequest get;
    get.set_hostname(hostname);
    v1::ZoneResponse zone;
    record(Call(&v1::TenantService::Stub::GetZone, get, &zone, intruder));
    v1::UpdateZoneRequest update;
    update.set_hostname(hostname);
    update.set_mode(v1::MODE_OFF);
    record(Call(&v1::TenantService::Stub::UpdateZone, update, &zone, intruder));
    v1::DeleteZoneRequest remove;
    remove.set_hostname(hostname);
    v1::ChangeResponse change;
    record(Call(&v1::TenantService::Stub::DeleteZone, remove, &change, intruder));
    v1::AddCaCertificatesRequest roots;
    roots.set_hostname(hostname);
    roots.set_data(MakeCa("Intruder CA").cert_pem());
    v1::AddCaCertificatesResponse added;
    record(Call(&v1::TenantService::Stub::AddRoots, roots, &added, intruder));
    v1::ListCaCertificatesRequest list_roots;
    list_roots.set_hostname(hostname);
    v1::ListCaCertificatesResponse listed;
    record(Call(&v1::TenantService::Stub::ListRoots, list_roots, &listed, intruder));
    v1::SetHeaderMappingRequest mapping;
    mapping.set_hostname(hostname);
    mapping.mutable_mapping()->set_header("X-A");
    mapping.mutable_mapping()->set_selector("subject");
    record(Call(&v1::TenantService::Stub::SetHeaderMapping, mapping, &zone, intruder));
    v1::RevokeRequest revoke;
    revoke.set_hostname(hostname);
    revoke.set_serial_hex("01");
    v1::RevokeResponse revoked;
    record(Call(&v1::TenantService::Stub::Revoke, revoke, &revoked, intruder));
    v1::GetStatusRequest status_request;
    status_request.set_hostname(hostname);
    v1::StatusResponse status_response;
    record(Call(&v1::TenantService::Stub::GetStatus, status_request, &status_response, intruder));
    v1::ResetServerCertificateRequest reset;
    reset.set_hostname(hostname);
    record(Call(&v1::TenantService::Stub::ResetServerCertificate, reset, &zone, intruder));
    return answers;
  };
  std::vector<std::string> on_owned = probe("mine.example.test");
  std::vector<std::string> on_missing = probe("missing.example.test");
  EXPECT_EQ(on_owned, on_missing);
  for (const std::string& answer : on_owned) {
    EXPECT_EQ(answer, absl::StrCat(grpc::StatusCode::NOT_FOUND, ":zone <host> not found"));
  }
  EXPECT_EQ(State(), owner_state) << "the intruder changed the owner's zone";
}

TEST_F(TenantApiTest, AuthenticationAndTokens) {
  v1::ListZonesResponse list;
  auto list_with = [&](const std::string& authorization) {
    grpc::ClientContext context;
    if (!authorization.empty()) {
      context.AddMetadata("authorization", authorization);
    }
    return stub_->ListZones(&context, v1::ListZonesRequest(), &list);
  };
  EXPECT_EQ(list_with("").error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("Bearer cgt_nope_nope").error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("Basic " + tenant_).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("Bearer " + server_->admin_token()).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("Bearer " + server_->edge_token()).error_code(), StatusCode::UNAUTHENTICATED);
  // A right id with a wrong secret.
  std::string forged = tenant_.substr(0, tenant_.rfind('_') + 1) + std::string(64, '0');
  EXPECT_EQ(list_with("Bearer " + forged).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(list_with("bearer " + tenant_).ok());

  // A tenant token is not an admin token.
  auto admin = server_->Admin();
  grpc::ClientContext context;
  Authorize(&context, tenant_);
  v1::ListTenantsResponse tenants;
  EXPECT_EQ(admin->ListTenants(&context, v1::ListTenantsRequest(), &tenants).error_code(),
            StatusCode::UNAUTHENTICATED);

  // A second token works until revoked.
  grpc::ClientContext list_context;
  Authorize(&list_context, server_->admin_token());
  ASSERT_TRUE(admin->ListTenants(&list_context, v1::ListTenantsRequest(), &tenants).ok());
  std::string tenant_id;
  for (const v1::Tenant& tenant : tenants.tenants()) {
    for (const std::string& token_id : tenant.token_ids()) {
      if (absl::StartsWith(tenant_, "cgt_" + token_id + "_")) {
        tenant_id = tenant.id();
      }
    }
  }
  ASSERT_FALSE(tenant_id.empty());
  grpc::ClientContext token_context;
  Authorize(&token_context, server_->admin_token());
  v1::CreateTenantTokenRequest token_request;
  token_request.set_tenant(tenant_id);
  v1::CreateTenantTokenResponse second;
  ASSERT_TRUE(admin->CreateTenantToken(&token_context, token_request, &second).ok());
  EXPECT_TRUE(list_with("Bearer " + second.token()).ok());
  grpc::ClientContext revoke_context;
  Authorize(&revoke_context, server_->admin_token());
  v1::RevokeTenantTokenRequest revoke;
  revoke.set_token_id(second.token_id());
  v1::RevokeTenantTokenResponse revoked;
  ASSERT_TRUE(admin->RevokeTenantToken(&revoke_context, revoke, &revoked).ok());
  EXPECT_EQ(list_with("Bearer " + second.token()).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(list_with("Bearer " + tenant_).ok());
}

TEST_F(TenantApiTest, AdminTenantLifecycle) {
  auto admin = server_->Admin();
  auto create = [&](const std::string& name, v1::CreateTenantResponse* response) {
    grpc::ClientContext context;
    Authorize(&context, server_->admin_token());
    v1::CreateTenantRequest request;
    request.set_name(name);
    return admin->CreateTenant(&context, request, response);
  };
  v1::CreateTenantResponse created;
  uint64_t before = ConfigVersion(*server_);
  grpc::Status bad = create("bad name!", &created);
  EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(bad.error_message(), "bad name!")) << bad.error_message();
  EXPECT_EQ(create("", &created).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ConfigVersion(*server_), before);

  ASSERT_TRUE(create("lifecycle", &created).ok());
  EXPECT_TRUE(absl::StartsWith(created.token(), "cgt_" + created.token_id() + "_"));
  grpc::Status again = create("lifecycle", &created);
  EXPECT_EQ(again.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(again.error_message(), "tenant lifecycle already exists");

  std::string token = created.token();
  CreateZone("life.example.test", token);
  grpc::ClientContext list_context;
  Authorize(&list_context, server_->admin_token());
  v1::ListTenantsResponse tenants;
  ASSERT_TRUE(admin->ListTenants(&list_context, v1::ListTenantsRequest(), &tenants).ok());
  bool found = false;
  for (const v1::Tenant& tenant : tenants.tenants()) {
    if (tenant.name() == "lifecycle") {
      found = true;
      EXPECT_EQ(tenant.zone_count(), 1);
      EXPECT_EQ(tenant.token_ids_size(), 1);
    }
  }
  EXPECT_TRUE(found);

  // Deleting the tenant frees its hostnames and kills its token.
  grpc::ClientContext delete_context;
  Authorize(&delete_context, server_->admin_token());
  v1::DeleteTenantRequest remove;
  remove.set_tenant("lifecycle");
  v1::DeleteTenantResponse removed;
  ASSERT_TRUE(admin->DeleteTenant(&delete_context, remove, &removed).ok());
  EXPECT_EQ(removed.config_version(), ConfigVersion(*server_));
  CreateZone("life.example.test");
  v1::ListZonesResponse list;
  EXPECT_EQ(
      Call(&v1::TenantService::Stub::ListZones, v1::ListZonesRequest(), &list, token).error_code(),
      StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace certgate::testing
