// Fuzz target: the edge's request path up to what it writes to the origin
// (dataplane/http/). The input's first byte configures the connection (zone
// mode, certificate status, wildcard zone, custom header names, how the bytes
// arrive); the rest is what a client sends after the TLS handshake. The
// target drives MessageParser, the edge's request decision (DecideRequest:
// head bytes, Host, target, enforce) and its header rewriting, the calls
// ClientConnection::OnRequestHeaders and StartProxy make, then parses what would reach the origin
// with a second, independent parser and checks:
//  - the origin sees exactly the requests the edge forwarded (no smuggled
//    extra request, no desynchronised body) with the same bodies;
//  - no forwarded header name or value holds CR, LF or NUL;
//  - a reserved name (the `X-Client-Cert-` prefix, Client-Cert,
//    Client-Cert-Chain, X-Forwarded-Client-Cert, the zone's status, SKI,
//    error and mapped names), compared case-insensitively with `_` read as
//    `-`, appears only with certgate's value: a client can never spoof one,
//    nor merge its value into one;
//  - no name containing `_` is forwarded unless the connection allows them;
//  - Forwarded, X-Forwarded-For/-Proto/-Host and X-Real-IP appear exactly
//    once each with the edge's values (the client's never reach the origin);
//  - SKI and mapped fields only for a valid certificate;
//  - exactly one Host, belonging to the zone; no request in enforce mode
//    without a valid certificate; no hop-by-hop header passed on;
//  - every local answer (400, 421, 403, 431, 501) is one well-formed response.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "common/x509_info.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http/request_decision.h"
#include "dataplane/http/request_target.h"
#include "openssl/x509.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using certgate::edge::BodyFraming;
using certgate::edge::CertificateHeaders;
using certgate::edge::CertStatus;
using certgate::edge::ConnectionAuth;
using certgate::edge::HttpHeader;
using certgate::edge::HttpHeaders;
using certgate::edge::MessageParser;
using certgate::edge::ZoneConfig;

constexpr char kClientIp[] = "198.51.100.7";

// Fold: lowercase with `_` read as `-`, as CGI-style origins see a name.
std::string Fold(absl::string_view name) {
  std::string out = absl::AsciiStrToLower(name);
  for (char& c : out) {
    c = c == '_' ? '-' : c;
  }
  return out;
}

// Unquote: the content of an RFC 9110 quoted-string, or `text` as is.
std::string Unquote(absl::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return std::string(text);
  }
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) {
      ++i;
    }
    out.push_back(text[i]);
  }
  return out;
}

// IsFieldValue: RFC 9110 5.5 field-value bytes: VCHAR, obs-text, SP, HTAB.
bool IsFieldValue(absl::string_view value) {
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) {
      return false;
    }
  }
  return true;
}

// IsRequestTarget: no whitespace or control byte (RFC 9112 3.2), which an
// origin could read as the end of the target.
bool IsRequestTarget(absl::string_view target) {
  for (char c : target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

struct Forwarded {
  std::string method;
  std::string url;
  HttpHeaders headers;  // as written, without the framing header
  std::string host;     // the request's host as the edge checked it
  std::string body;
  bool complete = false;
};

// Origin is the other end: an independent parser over the bytes the edge
// writes, collecting complete requests.
struct OriginView {
  std::vector<Forwarded> requests;
  bool error = false;
};

OriginView ParseAtOrigin(const std::string& stream) {
  OriginView view;
  Forwarded current;
  std::unique_ptr<MessageParser> parser;
  parser =
      std::make_unique<MessageParser>(HTTP_REQUEST, certgate::edge::ParserLimits{1 << 24, 100000},
                                      MessageParser::Callbacks{
                                          [&current] { current = Forwarded(); },
                                          [&current, &parser](bool*) {
                                            current.method = parser->method_name();
                                            current.url = parser->url();
                                            current.headers = parser->headers();
                                            return true;
                                          },
                                          [&current](absl::string_view data) {
                                            current.body.append(data.data(), data.size());
                                            return true;
                                          },
                                          [&current, &view] {
                                            current.complete = true;
                                            view.requests.push_back(current);
                                            return true;
                                          },
                                      });
  size_t offset = 0;
  while (offset < stream.size()) {
    size_t n = parser->Feed(stream.data() + offset, stream.size() - offset);
    offset += n;
    if (parser->error() != MessageParser::Error::kNone) {
      view.error = true;
      return view;
    }
    if (parser->paused()) {
      parser->Resume();
    } else if (n == 0) {
      break;
    }
  }
  return view;
}

void CheckLocalResponse(int status, const std::string& response) {
  int parsed_status = 0;
  int messages = 0;
  std::unique_ptr<MessageParser> parser;
  parser = std::make_unique<MessageParser>(
      HTTP_RESPONSE, certgate::edge::ParserLimits{1 << 20, 1000},
      MessageParser::Callbacks{nullptr,
                               [&parsed_status, &parser](bool*) {
                                 parsed_status = parser->status_code();
                                 return true;
                               },
                               nullptr,
                               [&messages] {
                                 ++messages;
                                 return true;
                               }});
  size_t n = parser->Feed(response.data(), response.size());
  FUZZ_CHECK(parser->error() == MessageParser::Error::kNone && n == response.size() &&
                 messages == 1 && parsed_status == status,
             "local %d response is not one well-formed message", status);
}

// Connection is one client connection's request side.
class Connection {
 public:
  Connection(const ZoneConfig* zone, const ConnectionAuth* auth, bool allow_underscore)
      : zone_(zone),
        auth_(auth),
        allow_underscore_(allow_underscore),
        cert_headers_(certgate::edge::ComputeCertificateHeaders(*zone, *auth)),
        parser_(HTTP_REQUEST, certgate::edge::ParserLimits{},
                MessageParser::Callbacks{
                    [this] { forwarding_ = false; },
                    [this](bool*) { return OnHeaders(); },
                    [this](absl::string_view data) { return OnBody(data); },
                    [this] { return OnComplete(); },
                }) {
    for (const HttpHeader& h : cert_headers_.set) {
      FUZZ_CHECK(certgate::fuzz::IsHeaderSafe(h.name) && certgate::fuzz::IsHeaderSafe(h.value),
                 "certificate header %s is not header-safe", h.name.c_str());
    }
  }

  // Feed gives the connection what the client sent, `chunk` bytes at a time.
  void Feed(absl::string_view input, size_t chunk) {
    while (!input.empty() && !closed_) {
      absl::string_view piece = input.substr(0, chunk);
      size_t n = parser_.Feed(piece.data(), piece.size());
      input.remove_prefix(n);
      if (parser_.error() != MessageParser::Error::kNone) {
        OnError();
        return;
      }
      if (parser_.paused()) {
        if (closed_) {
          return;
        }
        parser_.Resume();
      } else if (n < piece.size()) {
        FUZZ_CHECK(false, "parser stopped without pause or error");
      }
    }
  }

  void Finish() {
    OriginView origin = ParseAtOrigin(origin_stream_);
    FUZZ_CHECK(!origin.error, "the origin cannot parse what the edge forwarded");
    size_t complete = 0;
    for (const Forwarded& f : forwarded_) {
      complete += f.complete ? 1 : 0;
    }
    FUZZ_CHECK(origin.requests.size() == complete,
               "edge forwarded %zu complete requests, origin sees %zu", complete,
               origin.requests.size());
    for (size_t i = 0; i < origin.requests.size(); ++i) {
      const Forwarded& sent = forwarded_[i];
      const Forwarded& seen = origin.requests[i];
      FUZZ_CHECK(seen.url == sent.url && seen.method == sent.method,
                 "request %zu: origin sees %s %s", i, seen.method.c_str(), seen.url.c_str());
      FUZZ_CHECK(seen.body == sent.body, "request %zu: body differs at the origin", i);
      HttpHeaders without_framing;
      for (const HttpHeader& h : seen.headers) {
        if (!absl::EqualsIgnoreCase(h.name, "content-length") &&
            !absl::EqualsIgnoreCase(h.name, "transfer-encoding")) {
          without_framing.push_back(h);
        }
      }
      FUZZ_CHECK(without_framing.size() == sent.headers.size(),
                 "request %zu: origin sees %zu headers, edge sent %zu", i, without_framing.size(),
                 sent.headers.size());
      for (size_t k = 0; k < sent.headers.size(); ++k) {
        FUZZ_CHECK(without_framing[k].name == sent.headers[k].name,
                   "request %zu: header %zu name differs", i, k);
        FUZZ_CHECK(absl::StripAsciiWhitespace(without_framing[k].value) ==
                       absl::StripAsciiWhitespace(sent.headers[k].value),
                   "request %zu: header %s value differs", i, sent.headers[k].name.c_str());
      }
      CheckHeaders(seen.headers, sent.host);
    }
  }

 private:
  bool OnHeaders() {
    // The edge's own decision code, as ClientConnection::OnRequestHeaders
    // calls it.
    bool keep_alive = parser_.keep_alive() && !parser_.upgrade();
    certgate::edge::RequestDecision decision = certgate::edge::DecideRequest(
        *zone_, *auth_, parser_.method_name(), parser_.url(), parser_.headers(), keep_alive);
    if (decision.status != 0) {
      FUZZ_CHECK(decision.status == 400 || decision.status == 421 || decision.status == 403 ||
                     (decision.status == 501 && parser_.upgrade()),
                 "unexpected local status %d", decision.status);
      FUZZ_CHECK(!decision.keep_alive || !parser_.upgrade(),
                 "a refused upgrade request keeps the connection");
      FUZZ_CHECK(!decision.keep_alive || decision.status != 400, "400 keeps the connection");
      Respond(decision.status, decision.keep_alive);
      return true;
    }
    if (parser_.upgrade() != !decision.upgrade.empty()) {
      Respond(400, false);  // as the edge: ambiguous upgrade
      return true;
    }
    // Independent checks of what the decision let through.
    std::string host = decision.host;
    FUZZ_CHECK(certgate::HostnameMatchesZone(host, zone_->hostname) &&
                   certgate::edge::CountHeader(parser_.headers(), "host") == 1,
               "forwarded a request whose Host is not the zone's");
    FUZZ_CHECK(zone_->mode != certgate::v1::MODE_ENFORCE || auth_->status == CertStatus::kValid,
               "forwarded in enforce mode without a valid certificate");
    absl::StatusOr<certgate::edge::RequestTarget> target =
        certgate::edge::ParseRequestTarget(parser_.url());
    FUZZ_CHECK(
        target.ok() && target->origin_form == decision.origin_form &&
            (target->host.empty() || certgate::HostnameMatchesZone(target->host, zone_->hostname)),
        "forwarded a target the edge should have refused");
    if (!decision.upgrade.empty()) {
      // Forwarded with its Upgrade; whatever follows is not HTTP, so the
      // edge parses nothing more on this connection (the byte relay, or a
      // close after the origin's refusal).
      FUZZ_CHECK(!parser_.chunked() && !parser_.has_content_length(),
                 "forwarded an upgrade request with a body");
      FUZZ_CHECK(certgate::edge::FindHeader(parser_.headers(), "upgrade") != nullptr,
                 "upgrade without an Upgrade header");
      closed_ = true;
      return true;
    }
    // StartProxy.
    forwarding_ = true;
    chunked_ = parser_.chunked();
    host_ = host;
    HttpHeaders headers = certgate::edge::RewriteRequestHeaders(
        parser_.headers(), cert_headers_,
        certgate::edge::RequestContext{kClientIp, host_, allow_underscore_});
    BodyFraming framing = BodyFraming::kNone;
    if (parser_.chunked()) {
      framing = BodyFraming::kChunked;
    } else if (parser_.has_content_length()) {
      framing = BodyFraming::kContentLength;
    }
    Forwarded sent;
    sent.method = parser_.method_name();
    sent.url = decision.origin_form;
    FUZZ_CHECK(IsRequestTarget(sent.url),
               "whitespace or control byte in the forwarded request target");
    sent.headers = headers;
    sent.host = host_;
    CheckHeaders(headers, host_);
    origin_stream_ += certgate::edge::SerializeRequestHead(sent.method, sent.url, headers, framing,
                                                           parser_.content_length());
    forwarded_.push_back(std::move(sent));
    return true;
  }

  bool OnBody(absl::string_view data) {
    if (!forwarding_) {
      return true;
    }
    forwarded_.back().body.append(data.data(), data.size());
    if (chunked_) {
      origin_stream_ += certgate::edge::ChunkHeader(data.size());
      origin_stream_.append(data.data(), data.size());
      origin_stream_ += "\r\n";
    } else {
      origin_stream_.append(data.data(), data.size());
    }
    return true;
  }

  bool OnComplete() {
    if (forwarding_) {
      if (chunked_) {
        origin_stream_ += "0\r\n\r\n";
      }
      forwarded_.back().complete = true;
      complete_stream_size_ = origin_stream_.size();
    }
    forwarding_ = false;
    return true;
  }

  void OnError() {
    int status = 400;
    switch (parser_.error()) {
      case MessageParser::Error::kHeadersTooLarge:
      case MessageParser::Error::kTooManyHeaders:
        status = 431;
        break;
      case MessageParser::Error::kUnsupported:
        status = 501;
        break;
      default:
        break;
    }
    Respond(status, false);
    // A request that failed mid-body never completes at the origin: the edge
    // drops that origin connection. Keep only what was complete.
    if (forwarding_) {
      forwarded_.pop_back();
      origin_stream_.resize(complete_stream_size_);
      forwarding_ = false;
    }
  }

  void Respond(int status, bool keep_alive) {
    CheckLocalResponse(status, certgate::edge::LocalResponse(status, "application/json",
                                                             "{\"error\":\"x\"}", keep_alive));
    if (!keep_alive) {
      closed_ = true;
    }
  }

  // CheckHeaders: `host` is the request's host, as the edge checked it.
  void CheckHeaders(const HttpHeaders& headers, const std::string& host) {
    int hosts = 0;
    for (const HttpHeader& h : headers) {
      FUZZ_CHECK(h.name.find_first_of("\r\n") == std::string::npos &&
                     h.value.find_first_of("\r\n") == std::string::npos,
                 "CR or LF in forwarded header %s", h.name.c_str());
      FUZZ_CHECK(IsFieldValue(h.value), "NUL or control byte in forwarded header %s",
                 h.name.c_str());
      std::string lower = absl::AsciiStrToLower(h.name);
      FUZZ_CHECK(lower != "connection" && lower != "upgrade" && lower != "te" &&
                     lower != "keep-alive" && lower != "proxy-connection" && lower != "trailer",
                 "hop-by-hop header %s forwarded", h.name.c_str());
      if (lower == "host") {
        ++hosts;
        FUZZ_CHECK(certgate::HostnameMatchesZone(certgate::edge::HostWithoutPort(h.value),
                                                 zone_->hostname),
                   "forwarded Host %s is not the zone's", h.value.c_str());
      }
    }
    FUZZ_CHECK(hosts == 1, "%d Host headers forwarded", hosts);
    FUZZ_CHECK(zone_->mode != certgate::v1::MODE_ENFORCE || auth_->status == CertStatus::kValid,
               "forwarded in enforce mode without a valid certificate");
    // The reserved names, worked out from the zone, not from the code
    // under test.
    std::vector<std::string> zone_names = {Fold(zone_->status_header), Fold(zone_->ski_header),
                                           Fold(zone_->error_header)};
    for (const auto& rule : zone_->header_mappings) {
      zone_names.push_back(Fold(rule.header));
    }
    auto reserved = [&zone_names](const std::string& folded) {
      return absl::StartsWith(folded, "x-client-cert-") || folded == "client-cert" ||
             folded == "client-cert-chain" || folded == "x-forwarded-client-cert" ||
             std::find(zone_names.begin(), zone_names.end(), folded) != zone_names.end();
    };
    for (const HttpHeader& h : headers) {
      std::string folded = Fold(h.name);
      FUZZ_CHECK(allow_underscore_ || h.name.find('_') == std::string::npos,
                 "underscore name %s forwarded", h.name.c_str());
      if (reserved(folded)) {
        bool ours = false;
        int set_count = 0;
        for (const HttpHeader& s : cert_headers_.set) {
          if (Fold(s.name) == folded) {
            ++set_count;
            ours = ours || (s.name == h.name && absl::StripAsciiWhitespace(s.value) ==
                                                    absl::StripAsciiWhitespace(h.value));
          }
        }
        int count = 0;
        for (const HttpHeader& other : headers) {
          count += Fold(other.name) == folded ? 1 : 0;
        }
        FUZZ_CHECK(ours && count == set_count, "%s spoofed: %d forwarded, certgate set %d",
                   h.name.c_str(), count, set_count);
        bool identity = folded == Fold(zone_->ski_header);
        for (const auto& rule : zone_->header_mappings) {
          identity = identity || folded == Fold(rule.header);
        }
        FUZZ_CHECK(!identity || auth_->status == CertStatus::kValid,
                   "identity header %s forwarded for a certificate that did not verify",
                   h.name.c_str());
      }
      if (folded == "forwarded" || folded == "x-real-ip" ||
          absl::StartsWith(folded, "x-forwarded-")) {
        FUZZ_CHECK(h.name == "Forwarded" || h.name == "X-Real-IP" || h.name == "X-Forwarded-For" ||
                       h.name == "X-Forwarded-Proto" || h.name == "X-Forwarded-Host",
                   "client's forwarding header %s reached the origin", h.name.c_str());
      }
    }
    auto only = [&headers](const char* name) -> std::string {
      int count = 0;
      std::string value;
      for (const HttpHeader& h : headers) {
        if (Fold(h.name) == Fold(name)) {
          ++count;
          value = h.value;
        }
      }
      FUZZ_CHECK(count == 1, "%s forwarded %d times", name, count);
      return value;
    };
    FUZZ_CHECK(only("X-Forwarded-Proto") == "https", "X-Forwarded-Proto is not https");
    FUZZ_CHECK(only("X-Forwarded-For") == kClientIp, "X-Forwarded-For is not the client");
    FUZZ_CHECK(only("X-Real-IP") == kClientIp, "X-Real-IP is not the client");
    FUZZ_CHECK(only("X-Forwarded-Host") == host, "X-Forwarded-Host is not the checked host");
    std::string forwarded = only("Forwarded");
    std::string prefix = absl::StrCat("for=", kClientIp, ";proto=https;host=");
    FUZZ_CHECK(absl::StartsWith(forwarded, prefix) &&
                   Unquote(absl::string_view(forwarded).substr(prefix.size())) == host,
               "Forwarded is not the edge's: %s", forwarded.c_str());
  }

  const ZoneConfig* zone_;
  const ConnectionAuth* auth_;
  bool allow_underscore_;
  std::string host_;
  CertificateHeaders cert_headers_;
  MessageParser parser_;
  bool forwarding_ = false;
  bool chunked_ = false;
  bool closed_ = false;
  size_t complete_stream_size_ = 0;
  std::string origin_stream_;
  std::vector<Forwarded> forwarded_;
};

ZoneConfig MakeZone(uint8_t config) {
  ZoneConfig zone;
  zone.id = 1;
  zone.hostname = (config & 0x10) ? "*.auth.pizza" : "auth.pizza";
  static const certgate::v1::Mode kModes[] = {certgate::v1::MODE_ENFORCE, certgate::v1::MODE_REPORT,
                                              certgate::v1::MODE_OFF, certgate::v1::MODE_REPORT};
  zone.mode = kModes[config & 3];
  zone.header_mappings = {{"X-Device-Id", "subject.CN"},
                          {"X-Device-Org", "subject.O"},
                          {"X-Client-Cert-Pem", "cert.pem"},
                          {"X-Spiffe-Id", "spiffe_id"},
                          {"X-San-Ext", "ext.2.5.29.17"}};
  if (config & 0x20) {
    zone.status_header = "X-Mtls-Status";
    zone.ski_header = "X-Mtls-Ski";
    zone.error_header = "X-Mtls-Error";
  } else {
    zone.status_header = "X-Client-Cert-Status";
    zone.ski_header = "X-Client-Cert-Ski";
    zone.error_header = "X-Client-Cert-Error";
  }
  return zone;
}

void MakeAuth(uint8_t config, ConnectionAuth* auth) {
  const certgate::fuzz::TestPki& pki = certgate::fuzz::GetTestPki();
  switch ((config >> 2) & 3) {
    case 0:
      auth->status = CertStatus::kNone;
      return;
    case 1:
    case 3:
      auth->status = CertStatus::kValid;
      break;
    default:
      auth->status = CertStatus::kInvalid;
      auth->reason = "unknown_ca\r\nX-Client-Cert-Status: valid";
      break;
  }
  X509_up_ref(pki.client.get());
  auth->leaf.reset(pki.client.get());
  auth->chain.reset(sk_X509_new_null());
  X509_up_ref(pki.ca.get());
  sk_X509_push(auth->chain.get(), pki.ca.get());
  auth->ski_hex = certgate::SubjectKeyIdHex(pki.client.get());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint8_t config = data[0];
  static const size_t kChunks[] = {1, 7, 64, 1 << 20};
  size_t chunk = kChunks[config >> 6];
  ZoneConfig zone = MakeZone(config);
  ConnectionAuth auth;
  auth.zone = &zone;
  MakeAuth(config, &auth);
  // Modes 1 and 3 are both report; 3 also keeps names containing `_`.
  Connection connection(&zone, &auth, /*allow_underscore=*/(config & 3) == 3);
  connection.Feed(certgate::fuzz::AsView(data + 1, size - 1), chunk);
  connection.Finish();
  return 0;
}
