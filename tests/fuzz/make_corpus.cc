// make_corpus writes the seed corpora of the fuzz targets:
//   make_corpus OUT_DIR      (tests/fuzz/corpus in the repository)
// Every certificate, key, CRL and CSR is made here with the project's own
// certificate factory, so seeds are reproducible in kind (not byte for byte:
// keys are fresh each run). Each seed is a valid or nearly valid input that
// reaches deep into its target; libFuzzer mutates from there.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "certgate/v1/edge_config.pb.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "dataplane/http2/http2_client_session.h"
#include "nghttp2/nghttp2.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/http2_frames.h"

namespace {

using certgate::fuzz::JoinParts;
using certgate::fuzz::TestPki;

std::filesystem::path g_out;

void Write(const std::string& target, const std::string& name, const std::string& data) {
  std::filesystem::path dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  FUZZ_CHECK(out.good(), "cannot write %s", (dir / name).c_str());
}

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  FUZZ_CHECK(value.ok(), "%s: %s", what, std::string(value.status().message()).c_str());
  return std::move(*value);
}

std::string Der(const X509* cert) { return certgate::CertificateToDer(cert); }
std::string Pem(const X509* cert) { return certgate::CertificateToPem(cert); }

certgate::CertificateSpec Spec(const std::string& cn) {
  certgate::CertificateSpec spec;
  spec.common_name = cn;
  spec.not_before_unix = certgate::fuzz::kCertNotBeforeUnix;
  spec.not_after_unix = certgate::fuzz::kCertNotAfterUnix;
  return spec;
}

struct Issued {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

Issued Issue(const certgate::CertificateSpec& spec, const X509* issuer, EVP_PKEY* issuer_key,
             certgate::KeyType type = certgate::KeyType::kEcP256) {
  Issued out;
  out.key = OrDie(certgate::GenerateKey(type), "key");
  out.cert = OrDie(certgate::IssueCertificate(spec, out.key.get(), issuer,
                                              issuer_key != nullptr ? issuer_key : out.key.get()),
                   "certificate");
  return out;
}

std::string Csr(EVP_PKEY* key, const std::string& cn, bool pem) {
  bssl::UniquePtr<X509_REQ> req(X509_REQ_new());
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const uint8_t*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  FUZZ_CHECK(X509_REQ_set_version(req.get(), 0) &&
                 X509_REQ_set_subject_name(req.get(), name.get()) &&
                 X509_REQ_set_pubkey(req.get(), key) && X509_REQ_sign(req.get(), key, EVP_sha256()),
             "making a CSR");
  if (!pem) {
    uint8_t* der = nullptr;
    int len = i2d_X509_REQ(req.get(), &der);
    bssl::UniquePtr<uint8_t> owner(der);
    return std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  }
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  const uint8_t* contents = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &contents, &len);
  return std::string(reinterpret_cast<const char*>(contents), len);
}

std::string CrlDer(const X509_CRL* crl) {
  uint8_t* der = nullptr;
  int len = i2d_X509_CRL(const_cast<X509_CRL*>(crl), &der);
  bssl::UniquePtr<uint8_t> owner(der);
  return std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len));
}

certgate::v1::EdgeZone Zone(uint64_t id, const std::string& hostname, const TestPki& pki) {
  certgate::v1::EdgeZone zone;
  zone.set_id(id);
  zone.set_hostname(hostname);
  zone.set_mode(certgate::v1::MODE_ENFORCE);
  zone.set_origin("http://127.0.0.1:8080");
  zone.add_roots_der(Der(pki.ca.get()));
  zone.set_server_chain_pem(Pem(pki.server.get()));
  zone.set_server_key_pem(certgate::PrivateKeyToPem(pki.server_key.get()));
  zone.set_trust_version(1);
  zone.set_tenant_id("t-1");
  auto* mapping = zone.add_header_mappings();
  mapping->set_header("X-Device-Id");
  mapping->set_selector("subject.CN");
  return zone;
}

void FieldSelectorSeeds(const TestPki& pki) {
  Write("field_selector", "client-with-chain", Der(pki.client.get()) + Der(pki.ca.get()));
  Write("field_selector", "server", Der(pki.server.get()));
  Write("field_selector", "ca", Der(pki.ca.get()));
  certgate::CertificateSpec spec = Spec("caf\xc3\xa9 \xe2\x98\x83 100%0D");
  spec.organization = "O, with \"quotes\"+plus;semi";
  spec.uris = {"spiffe://trust.example/ns/a/sa/b", "https://x.example/?a=%0d%0a"};
  spec.ips = {"10.0.0.1", "::ffff:1.2.3.4"};
  spec.emails = {"a@b.example"};
  spec.client_auth = true;
  Issued rsa = Issue(spec, pki.ca.get(), pki.ca_key.get(), certgate::KeyType::kRsa2048);
  Write("field_selector", "rsa-utf8-sans", Der(rsa.cert.get()));
  static constexpr char kHostile[] = "a\r\nb\0c %41%zz\xff\xc3\xa9 \x7f";
  Write("field_selector", "text-crlf", std::string(kHostile, sizeof(kHostile) - 1));
}

void UploadSeeds(const TestPki& pki) {
  const std::string ca_der = Der(pki.ca.get());
  certgate::CertificateSpec inter_spec = Spec("Fuzz Intermediate");
  inter_spec.is_ca = true;
  inter_spec.path_len = 0;
  Issued inter = Issue(inter_spec, pki.ca.get(), pki.ca_key.get());
  Write("upload_validation", "ca-pem", std::string(1, '\0') + Pem(pki.ca.get()));
  Write("upload_validation", "ca-der", std::string(1, '\0') + ca_der);
  Write("upload_validation", "ca-two-pem",
        std::string(1, '\0') + Pem(pki.ca.get()) + "junk between\n" + Pem(inter.cert.get()));
  Write("upload_validation", "leaf-refused", std::string(1, '\0') + Pem(pki.client.get()));

  auto crl =
      OrDie(certgate::IssueCrl(pki.ca.get(), pki.ca_key.get(), {"1a2b3c", "ff00"}, 30), "CRL");
  Write("upload_validation", "crl-pem",
        JoinParts({"\x01" + certgate::CrlToPem(crl.get()), ca_der}));
  Write("upload_validation", "crl-der-second-root",
        JoinParts({"\x01" + CrlDer(crl.get()), Der(inter.cert.get()), ca_der}));
  auto empty_crl = OrDie(certgate::IssueCrl(inter.cert.get(), inter.key.get(), {}, 1), "CRL");
  Write("upload_validation", "crl-empty-intermediate",
        JoinParts({"\x01" + CrlDer(empty_crl.get()), ca_der, Der(inter.cert.get())}));

  const std::string key_pem = certgate::PrivateKeyToPem(pki.server_key.get());
  Write("upload_validation", "server-exact",
        JoinParts({"\x02" + Pem(pki.server.get()) + Pem(pki.ca.get()), key_pem, "auth.pizza"}));
  Write("upload_validation", "server-wildcard",
        JoinParts({"\x02" + Pem(pki.server.get()), key_pem, "*.auth.pizza"}));
  Write("upload_validation", "server-wrong-key",
        JoinParts({"\x02" + Pem(pki.server.get()), certgate::PrivateKeyToPem(pki.ca_key.get()),
                   "x.auth.pizza"}));

  Write("upload_validation", "error-json",
        JoinParts({"\x03"
                   "application/json",
                   "{\"error\":[1,-2.5e3,true,null,\"\\u00e9\"]}"}));
  Write("upload_validation", "error-html",
        JoinParts({"\x03"
                   "text/html; charset=utf-8",
                   "<h1>certificate required</h1>"}));
  Write("upload_validation", "error-problem-json",
        JoinParts({"\x03"
                   "application/problem+json",
                   "[[[[{\"a\":{}}]]]]"}));
}

void HttpSeeds() {
  // Config byte: bits 0-1 mode (enforce, report, off), 2-3 status (none,
  // valid, invalid), 4 wildcard zone, 5 custom header names, 6-7 chunking.
  const std::string report_valid = "\x05";
  const std::string report_invalid = "\x09";
  auto seed = [](const std::string& name, const std::string& config, const std::string& wire) {
    Write("http_request", name, config + wire);
  };
  seed("get-spoofed", report_valid,
       "GET /a?b=c HTTP/1.1\r\nHost: auth.pizza\r\nX-Client-Cert-Status: valid\r\n"
       "x-device-id: admin\r\nConnection: keep-alive, X-Other\r\nX-Other: 1\r\n"
       "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n");
  seed("pipelined-post", report_invalid,
       "POST /upload HTTP/1.1\r\nHost: auth.pizza:8443\r\nContent-Length: 5\r\n\r\nhello"
       "GET /next HTTP/1.1\r\nHost: AUTH.PIZZA.\r\n\r\n");
  seed("chunked", "\x45",
       "POST / HTTP/1.1\r\nHost: auth.pizza\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n");
  seed("cl-and-te", report_valid,
       "POST / HTTP/1.1\r\nHost: auth.pizza\r\nContent-Length: 4\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: "
       "auth.pizza\r\n\r\n");
  seed("bad-cl", report_valid,
       "POST / HTTP/1.1\r\nHost: auth.pizza\r\nContent-Length: 1x\r\n\r\nab");
  seed("two-cl", report_valid,
       "POST / HTTP/1.1\r\nHost: auth.pizza\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
  seed("host-mismatch", "\x15",
       "GET / HTTP/1.1\r\nHost: other.pizza\r\n\r\nGET / HTTP/1.1\r\nHost: a.auth.pizza\r\n\r\n");
  seed("no-host", report_valid, "GET / HTTP/1.1\r\n\r\n");
  seed("two-hosts", report_valid,
       "GET / HTTP/1.1\r\nHost: auth.pizza\r\nHost: evil.example\r\n\r\n");
  seed("expect-http10", "\x25",
       "PUT /x HTTP/1.0\r\nHost: auth.pizza\r\nConnection: keep-alive\r\n"
       "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
  seed("upgrade", report_valid,
       "GET /ws HTTP/1.1\r\nHost: auth.pizza\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  seed("connect", report_valid, "CONNECT auth.pizza:443 HTTP/1.1\r\nHost: auth.pizza\r\n\r\n");
  seed("obs-fold", "\x85",
       "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-Folded: a\r\n b\r\n\tc\r\n"
       "X-Client-Cert-Ski:\r\n deadbeef\r\n\r\n");
  seed("enforce-none", std::string(1, '\0'), "GET / HTTP/1.1\r\nHost: auth.pizza\r\n\r\n");
  seed("absolute-form", report_valid,
       "GET http://evil.example/x HTTP/1.1\r\nHost: auth.pizza\r\n\r\n");
  // Reserved names in every spelling, forwarding headers: modes 1 and 3 are
  // both report, 3 also keeps names containing `_`.
  const std::string spoofing =
      "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX_Client_Cert_Status: valid\r\n"
      "X_Device_Id: ceo\r\nClient-Cert: :AA==:\r\nclient_cert_chain: x\r\n"
      "X-Client-Cert-Other: x\r\nX_Custom: 1\r\nX-Mtls_Ski: beef\r\n\r\n";
  seed("underscore-spoofing", report_valid, spoofing);
  seed("underscore-allowed", "\x27", spoofing);
  seed("forwarding-spoofed", report_invalid,
       "GET / HTTP/1.1\r\nHost: auth.pizza\r\nForwarded: for=6.6.6.6\r\n"
       "X-Forwarded-Host: evil\r\nX-Real-IP: 6.6.6.6\r\nX_Forwarded_For: 6.6.6.6\r\n"
       "X-Client-Cert-Ski: beef\r\n\r\n");
  seed("te-gzip", report_valid,
       "POST / HTTP/1.1\r\nHost: auth.pizza\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
       "1\r\na\r\n0\r\n\r\n");
}

void EdgeConfigSeeds(const TestPki& pki) {
  certgate::v1::Snapshot snapshot;
  snapshot.set_version(10);
  *snapshot.add_zones() = Zone(1, "auth.pizza", pki);
  *snapshot.add_zones() = Zone(2, "*.shop.example", pki);
  Write("edge_config", "snapshot", std::string(1, '\0') + snapshot.SerializeAsString());

  certgate::v1::Snapshot rich;
  rich.set_version(3);
  certgate::v1::EdgeZone zone = Zone(7, "api.bank.example", pki);
  zone.set_mode(certgate::v1::MODE_REPORT);
  zone.add_intermediates_der(Der(pki.ca.get()));
  auto* revoked = zone.add_revoked();
  revoked->set_serial_hex("00ABCDEF");
  revoked->set_issuer_name_der(std::string("\x30\x00", 2));
  zone.add_revoked()->set_serial_hex("1");
  zone.mutable_error_response()->set_content_type("text/html");
  zone.mutable_error_response()->set_body("<p>no</p>");
  zone.mutable_status_header_names()->set_status("X-Mtls");
  zone.set_send_ca_names(true);
  auto* mapping = zone.add_header_mappings();
  mapping->set_header("X-Ext");
  mapping->set_selector("ext.2.5.29.17");
  *rich.add_zones() = zone;
  certgate::v1::EdgeZone off = Zone(8, "off.bank.example", pki);
  off.set_mode(certgate::v1::MODE_OFF);
  off.set_origin("https://[::1]:9443/");
  *rich.add_zones() = off;

  certgate::v1::Delta follow;
  follow.set_from_version(3);
  follow.set_version(4);
  certgate::v1::EdgeZone changed = off;
  changed.set_hostname("*.bank.example");
  *follow.add_upserted() = changed;
  follow.add_removed_zone_ids(7);
  Write("edge_config", "snapshot-then-delta",
        JoinParts({std::string(1, '\0') + rich.SerializeAsString(), follow.SerializeAsString()}));

  certgate::v1::Delta add;
  add.set_from_version(10);
  add.set_version(11);
  *add.add_upserted() = Zone(3, "new.example", pki);
  add.add_removed_zone_ids(2);
  Write("edge_config", "delta-add-remove", "\x01" + add.SerializeAsString());

  certgate::v1::Delta swap;
  swap.set_from_version(10);
  swap.set_version(12);
  *swap.add_upserted() = Zone(1, "*.shop.example", pki);
  *swap.add_upserted() = Zone(2, "auth.pizza", pki);
  Write("edge_config", "delta-swap-hostnames", "\x01" + swap.SerializeAsString());

  certgate::v1::Delta stale = add;
  stale.set_from_version(9);
  Write("edge_config", "delta-stale", "\x01" + stale.SerializeAsString());

  certgate::v1::Delta bad = add;
  bad.mutable_upserted(0)->set_server_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n");
  bad.mutable_upserted(0)->add_roots_der("\x30\x03\x02\x01\x01");
  Write("edge_config", "delta-bad-zone", "\x01" + bad.SerializeAsString());
}

void PemCsrSeeds(const TestPki& pki) {
  Write("pem_csr", "cert-pem", Pem(pki.client.get()));
  Write("pem_csr", "chain-pem", Pem(pki.server.get()) + "comment\n" + Pem(pki.ca.get()));
  Write("pem_csr", "cert-der", Der(pki.ca.get()));
  Write("pem_csr", "key-ec-pkcs8", certgate::PrivateKeyToPem(pki.client_key.get()));
  auto rsa = OrDie(certgate::GenerateKey(certgate::KeyType::kRsa2048), "RSA key");
  Write("pem_csr", "key-rsa-pkcs8", certgate::PrivateKeyToPem(rsa.get()));
  Write(
      "pem_csr", "key-ec-sec1",
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + [&pki] {
        bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
        PEM_write_bio_ECPrivateKey(bio.get(), EVP_PKEY_get0_EC_KEY(pki.server_key.get()), nullptr,
                                   nullptr, 0, nullptr, nullptr);
        const uint8_t* contents = nullptr;
        size_t len = 0;
        BIO_mem_contents(bio.get(), &contents, &len);
        return std::string(reinterpret_cast<const char*>(contents), len);
      }());
  auto crl = OrDie(certgate::IssueCrl(pki.ca.get(), pki.ca_key.get(), {"01", "abcdef"}, 7), "CRL");
  Write("pem_csr", "crl-pem", certgate::CrlToPem(crl.get()));
  Write("pem_csr", "crl-der", CrlDer(crl.get()));
  Write("pem_csr", "csr-ec-pem", Csr(pki.client_key.get(), "device-9", true));
  Write("pem_csr", "csr-ec-der", Csr(pki.client_key.get(), "device-9", false));
  Write("pem_csr", "csr-rsa-pem", Csr(rsa.get(), "rsa-device", true));
}

// Http2Seeds: what HTTP/2 clients send after the preface (the target adds
// it), written by nghttp2's own client session where a client would send
// it, by hand where only a hostile one would. The first byte is the
// target's configuration (see http2_request_fuzzer.cc).
std::string ClientBytes(const std::function<void(certgate::edge::Http2ClientSession&)>& drive) {
  auto session = OrDie(certgate::edge::Http2ClientSession::Create({}, nullptr, nullptr, {}),
                       "HTTP/2 client session");
  drive(*session);
  std::string bytes = session->TakeOutput();
  constexpr size_t kPrefaceSize = certgate::testing::kHttp2Preface.size();
  FUZZ_CHECK(bytes.compare(0, kPrefaceSize, std::string(certgate::testing::kHttp2Preface)) == 0,
             "client output without the preface");
  return bytes.substr(kPrefaceSize);
}

certgate::edge::Http2RequestHead H2Request(const std::string& method, const std::string& authority,
                                           const std::string& path,
                                           certgate::edge::HttpHeaders fields) {
  certgate::edge::Http2RequestHead head;
  head.method = method;
  head.scheme = "https";
  head.authority = authority;
  head.path = path;
  head.fields = std::move(fields);
  return head;
}

void Http2Seeds() {
  using certgate::testing::Http2Frame;
  const std::string target = "http2_request";
  const std::string no_preface_start =
      certgate::testing::Http2ClientStart().substr(certgate::testing::kHttp2Preface.size());
  Write(
      target, "get",
      std::string(1, '\0') + ClientBytes([](auto& c) {
        (void)c.SubmitRequest(H2Request("GET", "auth.pizza", "/a?b=1", {{"accept", "*/*"}}), true);
      }));
  Write(target, "streams-body-trailers",
        std::string(1, '\x20') + ClientBytes([](auto& c) {
          int32_t id = OrDie(c.SubmitRequest(H2Request("POST", "auth.pizza:443", "/svc.S/M",
                                                       {{"content-type", "application/grpc"},
                                                        {"te", "trailers"},
                                                        {"cookie", "a=1"},
                                                        {"cookie", "b=2"}}),
                                             false),
                             "request");
          (void)c.SendData(id, std::string("\0\0\0\0\x05hello", 10));
          (void)c.Finish(id, {{"x-sum", "1"}});
          (void)c.SubmitRequest(H2Request("GET", "auth.pizza", "/2", {}), true);
          (void)c.SubmitRequest(H2Request("HEAD", "auth.pizza", "/3", {}), true);
        }));
  Write(target, "other-zones",
        std::string(1, '\x01') + ClientBytes([](auto& c) {
          (void)c.SubmitRequest(H2Request("GET", "bank.example", "/", {}), true);
          (void)c.SubmitRequest(H2Request("GET", "a.auth.pizza", "/", {}), true);
          (void)c.SubmitRequest(H2Request("GET", "a.b.auth.pizza", "/", {}), true);
        }));
  Write(target, "small-limits-big-head",
        std::string(1, '\x02') + ClientBytes([](auto& c) {
          certgate::edge::HttpHeaders many;
          for (int i = 0; i < 12; ++i) {
            many.push_back({absl::StrCat("x-", i), std::string(100, 'v')});
          }
          (void)c.SubmitRequest(H2Request("GET", "auth.pizza", "/", many), true);
          (void)c.SubmitRequest(H2Request("GET", "auth.pizza", "/ok", {}), true);
        }));
  Write(target, "rapid-reset",
        std::string(1, '\x02') + no_preface_start +
            certgate::testing::RapidResets(1, 8, "auth.pizza"));
  std::string pings = no_preface_start;
  for (int i = 0; i < 25; ++i) {
    pings += Http2Frame(NGHTTP2_PING, 0, 0, std::string(8, 'p'));
  }
  Write(target, "ping-flood", std::string(1, '\x02') + pings);
  std::string block = certgate::testing::HpackRequest("auth.pizza", "/continued");
  std::string continued = no_preface_start + Http2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1,
                                                        block.substr(0, 4));
  for (size_t at = 4; at < block.size(); at += 4) {
    continued +=
        Http2Frame(NGHTTP2_CONTINUATION, at + 4 >= block.size() ? NGHTTP2_FLAG_END_HEADERS : 0, 1,
                   block.substr(at, 4));
  }
  Write(target, "continuations", std::string(1, '\x08') + continued);
  Write(target, "hpack-bomb",
        std::string(1, '\x02') + no_preface_start +
            Http2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1,
                       certgate::testing::HpackBomb("auth.pizza", 500, 20)));
  // Heads only a hostile client builds: userinfo hiding another host behind
  // the zone's, CONNECT, a scheme nghttp2 does not check :path for.
  std::string hostile = no_preface_start;
  int32_t hostile_id = 1;
  for (const std::vector<std::pair<std::string, std::string>>& fields :
       std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{":method", "GET"},
            {":scheme", "https"},
            {":authority", "auth.pizza:443@bank.example"},
            {":path", "/"}},
           {{":method", "GET"},
            {":scheme", "https"},
            {":authority", "auth.pizza"},
            {":path", "/"},
            {"host", "auth.pizza:1@bank.example"}},
           {{":method", "CONNECT"}, {":authority", "auth.pizza:443"}},
           {{":method", "GET"},
            {":scheme", "foo"},
            {":authority", "auth.pizza"},
            {":path", "http://bank.example/"}},
           {{":method", "OPTIONS"},
            {":scheme", "https"},
            {":authority", "auth.pizza"},
            {":path", "*"}},
       }) {
    hostile += Http2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                          hostile_id, certgate::testing::HpackEncode(fields));
    hostile_id += 2;
  }
  Write(target, "hostile-heads", std::string(1, '\0') + hostile);
  std::string post = certgate::testing::HpackEncode(
      {{":method", "POST"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "/"}});
  Write(target, "window-overrun",
        std::string(1, '\x12') + no_preface_start +
            Http2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, post) +
            Http2Frame(NGHTTP2_DATA, 0, 1, std::string(1000, 'd')) +
            Http2Frame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, std::string(1000, 'd')));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  const TestPki& pki = certgate::fuzz::GetTestPki();
  FieldSelectorSeeds(pki);
  UploadSeeds(pki);
  HttpSeeds();
  Http2Seeds();
  EdgeConfigSeeds(pki);
  PemCsrSeeds(pki);
  std::printf("seed corpora written to %s\n", argv[1]);
  return 0;
}
