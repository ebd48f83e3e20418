#include "dataplane/http/header_rewriter.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/cert_factory.h"
#include "common/names.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/message_parser.h"
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

RequestContext Request(absl::string_view client_ip = "192.0.2.9") {
  return RequestContext{client_ip, "auth.pizza", false};
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
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), Request());
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "valid");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Status"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "abcdef");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Ski"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Error"), "<absent>");
  EXPECT_EQ(Get(out, "X-Device-Id"), "device-123");
  EXPECT_EQ(CountHeader(out, "X-Device-Id"), 1);
  EXPECT_EQ(Get(out, "X-Forwarded-For"), "192.0.2.9");  // replaced, never appended to
  EXPECT_EQ(Get(out, "X-Forwarded-Proto"), "https");
  EXPECT_EQ(CountHeader(out, "X-Forwarded-Proto"), 1);
  EXPECT_EQ(Get(out, "Host"), "auth.pizza");
  EXPECT_EQ(Get(out, "Accept"), "*/*");
  for (const char* gone :
       {"Connection", "X-Secret", "Keep-Alive", "Transfer-Encoding", "Content-Length", "Upgrade"}) {
    EXPECT_EQ(Get(out, gone), "<absent>") << gone;
  }
}

// A trailer loses what the head would lose, Host too, and gains nothing:
// the certificate headers are the head's alone.
TEST(HeaderRewriterTest, TrailersLoseTheEdgesNamesAndGainNothing) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  zone.status_header = "X-Mtls";
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.leaf = MakeLeaf("device-123");
  auth.ski_hex = "abcdef";
  CertificateHeaders cert = ComputeCertificateHeaders(zone, auth);
  HttpHeaders in = kSpoofing;
  in.push_back({"x_mtls", "valid"});
  in.push_back({"X-Mtls", "valid"});
  in.push_back({"grpc-status", "0"});
  HttpHeaders out = RewriteRequestTrailers(in, cert, false);
  ASSERT_EQ(out.size(), 3u) << out.size();
  EXPECT_EQ(out[0].name, "X-Secret");  // Connection's tokens name head fields, not trailers
  EXPECT_EQ(out[1].name, "Accept");
  EXPECT_EQ(out[2].name, "grpc-status");
  HttpHeaders underscores =
      RewriteRequestTrailers({{"x_app", "1"}, {"x_mtls", "valid"}}, cert, true);
  ASSERT_EQ(underscores.size(), 1u);
  EXPECT_EQ(underscores[0].name, "x_app");  // allowed, but never a reserved name's spelling
}

TEST(HeaderRewriterTest, InvalidCertificateCarriesReasonButNoMappedFields) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  auth.status = CertStatus::kInvalid;
  auth.reason = "unknown_ca";
  auth.leaf = MakeLeaf("mallory");
  auth.ski_hex = "0102";
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), Request());
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "invalid");
  EXPECT_EQ(Get(out, "X-Client-Cert-Error"), "unknown_ca");
  EXPECT_EQ(Get(out, "X-Device-Id"), "<absent>");
  // The sender of an unverified certificate chose its SKI (a victim's, say).
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "<absent>");
}

// A certificate valid only where a rule pins it, on a request that rule does
// not cover (report or off): the origin is told it is not valid, and none of
// what its sender chose (SKI, mapped fields) is forwarded as verified.
TEST(HeaderRewriterTest, PinnedCertificateOutsideItsRuleIsNotVouchedFor) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.pinned = true;
  auth.leaf = MakeLeaf("admin");
  auth.ski_hex = "0102";
  RequestContext request = Request();
  request.refusal = "not_allowlisted";
  request.withhold_certificate = true;
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), request);
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "invalid");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Status"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Error"), "not_allowlisted");
  EXPECT_EQ(CountHeader(out, "X-Client-Cert-Error"), 1);
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "<absent>");
  EXPECT_EQ(Get(out, "X-Device-Id"), "<absent>");
}

TEST(HeaderRewriterTest, NoCertificateSaysNone) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), Request());
  EXPECT_EQ(Get(out, "X-Client-Cert-Status"), "none");
  EXPECT_EQ(Get(out, "X-Client-Cert-Ski"), "<absent>");
  EXPECT_EQ(Get(out, "X-Device-Id"), "<absent>");
}

TEST(HeaderRewriterTest, ModeOffSetsNothingButStillStrips) {
  ZoneConfig zone = MakeZone(v1::MODE_OFF);
  ConnectionAuth auth;
  HttpHeaders out =
      RewriteRequestHeaders(kSpoofing, ComputeCertificateHeaders(zone, auth), Request());
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
  HttpHeaders out =
      RewriteRequestHeaders(in, ComputeCertificateHeaders(zone, auth), Request("::1"));
  EXPECT_EQ(Get(out, "X-Mtls"), "none");
  EXPECT_EQ(CountHeader(out, "X-Mtls"), 1);
}

TEST(HeaderRewriterTest, ControlCharactersInSubjectNeverMakeANewHeader) {
  ZoneConfig zone = MakeZone(v1::MODE_ENFORCE);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.leaf = MakeLeaf("evil\r\nX-Injected: yes");
  HttpHeaders out = RewriteRequestHeaders({{"Host", "auth.pizza"}},
                                          ComputeCertificateHeaders(zone, auth), Request());
  std::string head = SerializeRequestHead("GET", "/", out, BodyFraming::kNone, 0);
  EXPECT_EQ(head.find("\r\nX-Injected"), std::string::npos) << head;
  std::string value = Get(out, "X-Device-Id");
  EXPECT_EQ(value.find('\r'), std::string::npos);
  EXPECT_EQ(value.find('\n'), std::string::npos);
  EXPECT_NE(value.find("X-Injected"), std::string::npos);  // escaped, not dropped
}

// One rule for every zone and mode: each inbound name is either removed
// (none of the client's value reaches the origin, whatever the spelling) or
// passed on as sent.
TEST(HeaderRewriterTest, ReservedNamesAreRemovedInEveryZoneAndModeWhateverTheSpelling) {
  struct Case {
    const char* name;
    bool kept;             // by default
    bool kept_underscore;  // with allow_underscore_headers
  } cases[] = {
      {"X-Client-Cert-Status", false, false},
      {"x_client_cert_status", false, false},
      {"X-CLIENT_CERT-SKI", false, false},
      {"X-Client-Cert-Error", false, false},
      {"X-Client-Cert-Device", false, false},  // the prefix is reserved fleet-wide
      {"Client-Cert", false, false},
      {"client_cert", false, false},
      {"Client-Cert-Chain", false, false},
      {"X-Forwarded-Client-Cert", false, false},
      {"X_Forwarded_Client_Cert", false, false},
      {"X-Device-Id", false, false},  // this zone's mapped name
      {"X_Device_Id", false, false},
      {"X-Mtls", false, false},  // this zone's renamed status (when renamed)
      {"x_mtls", false, false},
      {"X-Forwarded-For", false, false},
      {"X-Forwarded-Host", false, false},
      {"X-Forwarded-Port", false, false},
      {"x_forwarded_proto", false, false},
      {"Forwarded", false, false},
      {"X-Real-IP", false, false},
      {"X_Real_Ip", false, false},
      {"True-Client-IP", false, false},
      {"Transfer_Encoding", false, false},  // a hop-by-hop name in disguise
      {"Connection_Token", false, false},   // named in Connection, folded
      {"X_Custom", false, true},            // nginx's default: underscores dropped
      {"X-Custom", true, true},
      {"X-Tenant-Other-Id", true, true},  // another zone's mapped name: not reserved here
      {"Accept", true, true},
  };
  struct ZoneCase {
    v1::Mode mode;
    CertStatus status;
  } zones[] = {{v1::MODE_ENFORCE, CertStatus::kValid},
               {v1::MODE_REPORT, CertStatus::kInvalid},
               {v1::MODE_REPORT, CertStatus::kNone},
               {v1::MODE_OFF, CertStatus::kNone}};
  for (const ZoneCase& z : zones) {
    for (bool renamed : {false, true}) {
      for (bool allow_underscore : {false, true}) {
        ZoneConfig zone = MakeZone(z.mode);
        if (renamed) {
          zone.status_header = "X-Mtls";
        }
        ConnectionAuth auth;
        auth.status = z.status;
        auth.leaf = MakeLeaf("device-3");
        auth.ski_hex = "abcdef";
        HttpHeaders in = {{"Host", "auth.pizza"}, {"Connection", "connection-token"}};
        for (const Case& c : cases) {
          in.push_back({c.name, absl::StrCat("spoof-", c.name)});
        }
        HttpHeaders out = RewriteRequestHeaders(in, ComputeCertificateHeaders(zone, auth),
                                                {"192.0.2.9", "auth.pizza", allow_underscore});
        for (const Case& c : cases) {
          std::string spoof = absl::StrCat("spoof-", c.name);
          bool want = allow_underscore ? c.kept_underscore : c.kept;
          // X-Mtls is an ordinary name in a zone that does not use it.
          if (!renamed && absl::EqualsIgnoreCase(FoldHeaderName(c.name), "x-mtls")) {
            want = allow_underscore || std::string(c.name).find('_') == std::string::npos;
          }
          int seen = 0;
          for (const HttpHeader& h : out) {
            if (h.name == c.name && h.value == spoof) {
              ++seen;  // passed on as sent
              continue;
            }
            EXPECT_EQ(h.value.find(spoof), std::string::npos)
                << c.name << " merged into " << h.name << ": " << h.value;
          }
          EXPECT_EQ(seen, want ? 1 : 0) << c.name << " mode " << z.mode << " renamed " << renamed
                                        << " allow_underscore " << allow_underscore;
        }
        // Where the edge sets a header, only its value is there.
        for (const HttpHeader& set : ComputeCertificateHeaders(zone, auth).set) {
          EXPECT_EQ(CountHeader(out, set.name), 1) << set.name;
          EXPECT_EQ(Get(out, set.name), set.value) << set.name;
        }
      }
    }
  }
}

TEST(HeaderRewriterTest, UnderscoreSpellingNeverMergesWithTheEdgesValue) {
  ZoneConfig zone = MakeZone(v1::MODE_ENFORCE);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.leaf = MakeLeaf("device-3");
  HttpHeaders in = {{"Host", "auth.pizza"}, {"X_Device_Id", "evil"}, {"x-device-id", "evil2"}};
  for (bool allow_underscore : {false, true}) {
    HttpHeaders out = RewriteRequestHeaders(in, ComputeCertificateHeaders(zone, auth),
                                            {"192.0.2.9", "auth.pizza", allow_underscore});
    int device_ids = 0;
    for (const HttpHeader& h : out) {
      device_ids += FoldHeaderName(h.name) == "x-device-id" ? 1 : 0;
    }
    EXPECT_EQ(device_ids, 1);
    EXPECT_EQ(Get(out, "X-Device-Id"), "device-3");
  }
}

TEST(HeaderRewriterTest, ForwardingHeadersAreSetByTheEdgeOnly) {
  struct Case {
    const char* client_ip;
    const char* host;
    const char* forwarded;
  } cases[] = {
      {"1.2.3.4", "auth.pizza", "for=1.2.3.4;proto=https;host=auth.pizza"},
      {"2001:db8::1", "auth.pizza", "for=\"[2001:db8::1]\";proto=https;host=auth.pizza"},
      {"::ffff:192.0.2.1", "a.fleet.pizza",
       "for=\"[::ffff:192.0.2.1]\";proto=https;host=a.fleet.pizza"},
      {"1.2.3.4", "[::1]", "for=1.2.3.4;proto=https;host=\"[::1]\""},
  };
  ZoneConfig zone = MakeZone(v1::MODE_OFF);
  ConnectionAuth auth;
  HttpHeaders in = {{"Host", "auth.pizza"},
                    {"X-Forwarded-For", "10.0.0.1"},
                    {"X-Forwarded-Proto", "http"},
                    {"X-Forwarded-Host", "evil.example"},
                    {"Forwarded", "for=10.0.0.1;host=evil.example"},
                    {"X-Real-IP", "10.0.0.1"}};
  for (const Case& c : cases) {
    HttpHeaders out = RewriteRequestHeaders(in, ComputeCertificateHeaders(zone, auth),
                                            {c.client_ip, c.host, false});
    EXPECT_EQ(Get(out, "Forwarded"), c.forwarded);
    EXPECT_EQ(Get(out, "X-Forwarded-For"), c.client_ip);
    EXPECT_EQ(Get(out, "X-Real-IP"), c.client_ip);
    EXPECT_EQ(Get(out, "X-Forwarded-Proto"), "https");
    EXPECT_EQ(Get(out, "X-Forwarded-Host"), c.host);
    for (const char* name :
         {"Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto", "X-Forwarded-Host"}) {
      EXPECT_EQ(CountHeader(out, name), 1) << name;
    }
    for (const HttpHeader& h : out) {
      EXPECT_EQ(h.value.find("10.0.0.1"), std::string::npos) << h.name;
      EXPECT_EQ(h.value.find("evil"), std::string::npos) << h.name;
    }
  }
}

TEST(HeaderRewriterTest, ReservedNameTests) {
  struct Case {
    const char* name;
    bool reserved;
    bool forwarding;
  } cases[] = {
      {"x-client-cert-status", true, false},
      {"x-client-cert-", true, false},
      {"x-client-cert", false, false},
      {"client-cert", true, false},
      {"client-cert-chain", true, false},
      {"x-forwarded-client-cert", true, true},
      {"x-forwarded-for", false, true},
      {"forwarded", false, true},
      {"x-real-ip", false, true},
      {"x-device-id", false, false},
      {"forwarded-for", false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsReservedHeaderName(c.name), c.reserved) << c.name;
    EXPECT_EQ(IsForwardingHeaderName(c.name), c.forwarding) << c.name;
  }
  EXPECT_EQ(FoldHeaderName("X_Client-Cert_SKI"), "x-client-cert-ski");
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

TEST(HeaderRewriterTest, ConnectionTokensMatchAnySpelling) {
  HttpHeaders response = RewriteResponseHeaders(
      {{"Connection", "X-Hop"}, {"X_Hop", "1"}, {"Keep_Alive", "1"}, {"X-Kept", "1"}});
  ASSERT_EQ(response.size(), 1u);
  EXPECT_EQ(response[0].name, "X-Kept");
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

// The per-request serializers write the same bytes as rewriting the list
// and serializing it, for every kind of header the rewrite drops or keeps.
TEST(HeaderRewriterTest, DirectHeadsEqualRewriteThenSerialize) {
  ZoneConfig zone = MakeZone(v1::MODE_ENFORCE);
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.ski_hex = "abcd";
  CertificateHeaders cert = ComputeCertificateHeaders(zone, auth);
  std::string long_name(100, 'x');
  const HttpHeaders tables[] = {
      kSpoofing,
      {},
      {{"Host", "auth.pizza"}, {"Accept", "*/*"}},
      {{"HOST", "auth.pizza"}, {"X_Under", "1"}, {"Forwarded", "for=1.2.3.4"}},
      {{"Connection", "close"}, {"Set-Cookie", "a=1"}, {"Keep_Alive", "1"}},
      {{long_name, "long names fold on the heap"}, {"X-Real-IP", "10.9.9.9"}},
      {{"Connection", "X-Hop, x_other"}, {"X-Hop", "1"}, {"X-Other", "2"}, {"X-Kept", "3"}},
  };
  for (bool underscores : {false, true}) {
    RequestContext context{"2001:db8::1", "auth.pizza", underscores};
    for (const HttpHeaders& in : tables) {
      for (BodyFraming framing :
           {BodyFraming::kNone, BodyFraming::kContentLength, BodyFraming::kChunked}) {
        std::string direct = "prefix ";
        AppendOriginRequestHead(&direct, "GET", "/p?q", in, cert, context, "", framing, 12);
        EXPECT_EQ(direct, "prefix " + SerializeRequestHead("GET", "/p?q",
                                                           RewriteRequestHeaders(in, cert, context),
                                                           framing, 12));
        std::string upgrade;
        AppendOriginRequestHead(&upgrade, "GET", "/ws", in, cert, context, "websocket", framing, 0);
        HttpHeaders with_upgrade = RewriteRequestHeaders(in, cert, context);
        with_upgrade.push_back({"Connection", "upgrade"});
        with_upgrade.push_back({"Upgrade", "websocket"});
        EXPECT_EQ(upgrade, SerializeRequestHead("GET", "/ws", with_upgrade, framing, 0));
        for (bool keep_alive : {false, true}) {
          std::string response;
          AppendProxiedResponseHead(&response, 404, "", in, framing, 7, keep_alive);
          EXPECT_EQ(response, SerializeResponseHead(404, "", RewriteResponseHeaders(in), framing, 7,
                                                    keep_alive));
        }
      }
    }
  }
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

TEST(HeaderRewriterTest, IsWellFormedHost) {
  for (const char* ok : {"auth.pizza", "Auth.Pizza:8443", "auth.pizza.", " auth.pizza ",
                         "[::1]:443", "[::1]", "127.0.0.1:80", "a_b.auth.pizza", "auth.pizza:"}) {
    EXPECT_TRUE(IsWellFormedHost(ok)) << ok;
  }
  for (const char* bad :
       {"", ":443", "auth.pizza:443@bank.example", "bank.example@auth.pizza", "auth.pizza:x",
        "auth.pizza:443:443", "auth.pizza/x", "auth.pizza:123456", "[::1", "[::1]x", "[::1]:44x",
        "[]:443", "[evil.example]", "auth pizza", "auth.pizza%2f"}) {
    EXPECT_FALSE(IsWellFormedHost(bad)) << bad;
  }
}

}  // namespace
}  // namespace certgate::edge

namespace certgate::edge {
namespace {

// What a hostile client's head becomes on the way to the origin through the
// direct head writer: parsed by the edge's own parser first, so whatever
// the parser lets through (folded lines, stray CR, underscored or oddly cased
// framing and reserved names) must come out as plain header lines with the
// edge's framing only.
TEST(HeaderRewriterTest, HostileHeadsReachTheOriginAsPlainLinesWithTheEdgesFramingOnly) {
  ZoneConfig zone = MakeZone(v1::MODE_REPORT);
  ConnectionAuth auth;
  auth.status = CertStatus::kNone;
  CertificateHeaders cert = ComputeCertificateHeaders(zone, auth);
  const std::string heads[] = {
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-A: one\r\n two\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-A: one\r\n\ttwo\r\nX-B: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-A: one\rtwo\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-A: one\ntwo\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nContent_Length: 5\r\nTRANSFER_ENCODING: chunked\r\n"
      "X_Client_Cert_Status: valid\r\nx-client-cert-STATUS: valid\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-Client-Cert-Status : valid\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\n X-Client-Cert-Status: valid\r\n\r\n",
  };
  int forwarded = 0;
  for (const std::string& head : heads) {
    MessageParser parser(
        HTTP_REQUEST, ParserLimits{8192, 100},
        MessageParser::Callbacks{nullptr, [](bool*) { return true; },
                                 [](absl::string_view) { return true; }, [] { return true; }});
    parser.Feed(head.data(), head.size());
    if (parser.error() != MessageParser::Error::kNone) {
      continue;  // refused: nothing reaches the origin
    }
    ++forwarded;
    for (bool underscores : {false, true}) {
      RequestContext context{"192.0.2.7", "auth.pizza", underscores};
      std::string out;
      AppendOriginRequestHead(&out, "GET", "/", parser.headers(), cert, context, "",
                              BodyFraming::kContentLength, 0);
      ASSERT_TRUE(absl::EndsWith(out, "\r\n\r\n")) << head;
      std::vector<absl::string_view> lines =
          absl::StrSplit(absl::string_view(out).substr(0, out.size() - 4), "\r\n");
      int framing = 0;
      int status = 0;
      for (size_t i = 1; i < lines.size(); ++i) {  // after the request line
        absl::string_view line = lines[i];
        EXPECT_FALSE(absl::StrContains(line, '\r') || absl::StrContains(line, '\n') ||
                     line.empty() || line.front() == ' ' || line.front() == '\t')
            << absl::CEscape(head) << " -> " << absl::CEscape(out);
        size_t colon = line.find(':');
        ASSERT_NE(colon, absl::string_view::npos) << absl::CEscape(out);
        absl::string_view name = line.substr(0, colon);
        EXPECT_TRUE(IsHttpToken(name)) << absl::CEscape(out);
        std::string folded = FoldHeaderName(name);
        framing += folded == "content-length" || folded == "transfer-encoding";
        status += folded == "x-client-cert-status";
      }
      EXPECT_EQ(framing, 1) << absl::CEscape(out);
      EXPECT_EQ(status, 1) << absl::CEscape(out);
      EXPECT_TRUE(absl::StrContains(out, "\r\nX-Client-Cert-Status: none\r\n"))
          << absl::CEscape(out);
    }
  }
  // Folded lines, a space before the colon and underscored names are
  // accepted (and cleaned); only the bare CR and LF are refused.
  EXPECT_EQ(forwarded, 5);
}

}  // namespace
}  // namespace certgate::edge

namespace certgate::edge {
namespace {

TEST(HeaderRewriterTest, ConnectionListsTokenReadsEveryConnectionHeader) {
  EXPECT_TRUE(ConnectionListsToken({{"Connection", "keep-alive , UPGRADE"}}, "upgrade"));
  EXPECT_TRUE(
      ConnectionListsToken({{"connection", "close"}, {"CONNECTION", " Upgrade"}}, "upgrade"));
  EXPECT_FALSE(ConnectionListsToken({{"Connection", "upgraded, x-upgrade"}}, "upgrade"));
  EXPECT_FALSE(
      ConnectionListsToken({{"Connection_", "upgrade"}, {"Upgrade", "websocket"}}, "upgrade"));
  EXPECT_FALSE(ConnectionListsToken({}, "upgrade"));
}

}  // namespace
}  // namespace certgate::edge
