#include "dataplane/http/header_rewriter.h"

#include <string>

#include "common/cert_factory.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/tls/tls_server.h"
#include "gtest/gtest.h"
#include "openssl/x509.h"

namespace certgate::edge {
namespace {

std::string Get(const HttpHeaders& headers, absl::string_view name) {
  const std::string* value = FindHeader(headers, name);
  return value ? *value : "<absent>";
}

ZoneConfig MakeZone(v1::Mode mode) {
  ZoneConfig zone;
  zone.id = 7;
  zone.hostname = "auth.pizza";
  zone.mode = mode;
  zone.status_header = "X-Client-Cert-Status";
  zone.ski_header = "X-Client-Cert-Ski";
  zone.error_header = "X-Client-Cert-Error";
  zone.header_mappings = {{"X-Device-Id", "subject.CN"}};
  return zone;
}

bssl::UniquePtr<X509> MakeLeaf(const std::string& cn) {
  auto key = GenerateKey(KeyType::kEcP256);
  EXPECT_TRUE(key.ok());
  CertificateSpec spec;
  spec.common_name = cn;
  spec.client_auth = true;
  auto cert = IssueCertificate(spec, key->get(), nullptr, key->get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  return std::move(*cert);
}

const HttpHeaders kSpoofing = {
    {"Host", "auth.pizza"},
    {"x-client-cert-status", "valid"},
    {"X-CLIENT-CERT-SKI", "beef"},
    {"X-Client-Cert-Error", "none"},
    {"x-device-id", "admin"},
    {"X-Forwarded-For", "10.0.0.1"},
    {"X-Forwarded-Proto", "http"},
    {"Connection", "keep-alive, X-Secret"},
    {"X-Secret", "hop"},
    {"Keep-Alive", "timeout=5"},
    {"Transfer-Encoding", "chunked"},
    {"Content-Length", "10"},
    {"Upgrade", "h2c"},
    {"Accept", "*/*"},
};

TEST(HeaderRewriterTest, ValidCertificateSetsEveryHeaderAndStripsSpoofedOnes) {
  ZoneConfig zone = MakeZone(v1::MODE_ENFORCE);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.leaf = MakeLeaf("device-123");
  auth.ski_hex = "abcdef";
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), "192.0.2.9");
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "valid");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Status"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "abcdef");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Ski"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Error"), "<absent>");
  EXPECT_EQ(Get(out, "X-Device-Id"), "device-123");
  EXPECT_EQ(CountHeader(out, "X-Device-Id"), 1);
  EXPECT_EQ(Get(out, "X-Forwarded-For"), "10.0.0.1, 192.0.2.9");
  EXPECT_EQ(Get(out, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(CountHeader(out, "X-Forwarded-Proto"), 1);
  EXPECT_EQ(Get(out, "Host"), "auth.pizza");
  EXPECT_EQ(Get(out, "Accept"), "*/*");
  for (const char* gone :
       {"Connection", "X-Secret", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade"}) {
    EXPECT_EQ(Get(out, gone), "<absent>") << gone;
  }
}

TEST(HeaderRewriterTest, InvalidCertificateCarriesReasonButNoMappedFields) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  auth.status = CertStatus::kInvalid;
  auth.reason = "unknown_ca";
  auth.leaf = MakeLeaf("mallory");
  auth.ski_hex = "0102";
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), "192.0.2.9");
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "invalid");
  EXPECT_EQ(Get(out, "X-Client-Cert-Error"), "unknown_ca");
  EXPECT_EQ(Get(out, "X-Device-Id"), "<absent>");
}

TEST(HeaderRewriterTest, NoCertificateSaysNone) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), "192.0.2.9");
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "none");
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "<absent>");
  EXPECT_EQ(Get(out, "X-Device-Id"), "<absent>");
}

TEST(HeaderRewriterTest, ModeOffSetsNothingButStillStrips) {
  ZoneConfig zone = MakeZone(v1::MODE_OFF);
  ConnectionAuth auth;
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), "192.0.2.9");
  for (const char* gone :
       {"X-Client-Cert-Status", "X-Client-Cert-Ski", "X-Client-Cert-Error", "X-Device-Id"}) {
    EXPECT_EQ(Get(out, gone), "<absent>") << gone;
  }
  EXPECT_EQ(Get(out, "X-Forwarded-Proto"), "https");
}

TEST(HeaderRewriterTest, RenamedHeadersAreTheOnesSetAndStripped) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  zone.status_header = "X-Mtls";
  ConnectionAuth auth;
  HttpHeaders in = {{"Host", "auth.pizza"}, {"x-mtls", "valid"}};
  HttpHeaders out = RewriteRequestHeaders(in, ComputeCertificateHeaders(zone, auth), "::1");
  EXPECT_EQ(Get(out, "X-Mtls"), "none");
  EXPECT_EQ(CountHeader(out, "X-Mtls"), 1);
}

TEST(HeaderRewriterTest, ControlCharactersInSubjectNeverMakeANewHeader) {
  ZoneConfig zone = MakeZone(v1::MODE_ENFORCE);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.leaf = MakeLeaf("evil\r\nX-Injected: yes");
  HttpHeaders out = RewriteRequestHeaders({{"Host", "auth.pizza"}},
                                          ComputeCertificateHeaders(zone, auth), "192.0.2.9");
  std::string head = SerializeRequestHead("GET", "/", out, BodyFraming::kNone, 0);
  EXPECT_EQ(head.find("\r\nX-Injected"), std::string::npos) << head;
  std::string value = Get(out, "X-Device-Id");
  EXPECT_EQ(value.find('\r'), std::string::npos);
  EXPECT_EQ(value.find('\n'), std::string::npos);
  EXPECT_NE(value.find("X-Injected"), std::string::npos);  // escaped, not dropped
}

TEST(HeaderRewriterTest, ResponseLosesHopByHopHeaders) {
  HttpHeaders in = {
      {"Content-Type", "text/plain"},   {"Connection", "close, X-Hop"}, {"X-Hop", "1"},
      {"Transfer-Encoding", "chunked"}, {"Set-Cookie", "a=1"},          {"Set-Cookie", "b=2"}};
  HttpHeaders out = RewriteResponseHeaders(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "Content-Type");
  EXPECT_EQ(CountHeader(out, "Set-Cookie"), 2);
}

TEST(HeaderRewriterTest, SerializesFraming) {
  EXPECT_EQ(SerializeRequestHead("POST", "/x", {{"Host", "a"}}, BodyFraming::kContentLength, 5),
            "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(SerializeRequestHead("POST", "/x", {{"Host", "a"}}, BodyFraming::kChunked, 0),
            "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(SerializeResponseHead(200, "", {}, BodyFraming::kNone, 0, false),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  std::string local = LocalResponse(403, "application/json", "{}", true);
  EXPECT_EQ(local,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nCache-Control: "
            "no-store\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
  EXPECT_EQ(ChunkHeader(255), "ff\r\n");
}

TEST(HeaderRewriterTest, HostWithoutPort) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"auth.pizza", "auth.pizza"},
      {"Auth.Pizza:8443", "auth.pizza"},
      {"auth.pizza.", "auth.pizza"},
      {" auth.pizza ", "auth.pizza"},
      {"[::1]:443", "[::1]"},
      {"127.0.0.1:80", "127.0.0.1"},
      {"a.fleet.pizza:1", "a.fleet.pizza"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HostWithoutPort(c.in), c.want) << c.in;
  }
}

}  // namespace
}  // namespace certgate::edge
