#include "dataplane/http2/http2_server_session.h"

#include <nghttp2/nghttp2.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/http/header_rewriter.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane_http2/http2_test_peer.h"

namespace certgate::edge {
namespace {

using testing::ClientPeer;
using testing::GoAwayCode;
using testing::HpackBomb;
using testing::HpackEncode;
using testing::HpackInt;
using testing::HpackRequest;
using testing::Http2ClientStart;
using testing::Http2Frame;
using testing::Pump;
using testing::RapidResets;
using testing::ResponseStatuses;
using testing::RstCodes;
using testing::ServerOptions;
using testing::ServerPeer;

Http2RequestHead Get(absl::string_view authority, absl::string_view path) {
  Http2RequestHead head;
  head.method = "GET";
  head.scheme = "https";
  head.authority = std::string(authority);
  head.path = std::string(path);
  return head;
}

constexpr uint8_t kEndHeaders = NGHTTP2_FLAG_END_HEADERS;
constexpr uint8_t kEndStream = NGHTTP2_FLAG_END_STREAM;

TEST(Http2ServerSessionTest, EmptyZoneRefused) {
  auto made = Http2ServerSession::Create(Http2ServerOptions{}, nullptr, {});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(made.status().message(), "HTTP/2 server session: empty zone hostname");
}

TEST(Http2ServerSessionTest, MultiStreamRequestsAndResponses) {
  ServerPeer server(ServerOptions());
  ClientPeer client;
  int32_t get = *client.session->SubmitRequest(Get("auth.pizza", "/a?x=1"), true);
  Http2RequestHead post = Get("auth.pizza:443", "/upload");
  post.method = "POST";
  post.fields = {{"content-type", "text/plain"}, {"cookie", "a=1"}, {"cookie", "b=2"}};
  int32_t upload = *client.session->SubmitRequest(post, false);
  ASSERT_TRUE(client.session->SendData(upload, "hello ").ok());
  ASSERT_TRUE(client.session->SendData(upload, "world").ok());
  ASSERT_TRUE(client.session->Finish(upload, {{"x-checksum", "abc"}}).ok());
  Pump(client, server);

  ASSERT_EQ(server.requests.size(), 2u);
  EXPECT_EQ(server.requests[0].stream_id, get);
  EXPECT_EQ(server.requests[0].method, "GET");
  EXPECT_EQ(server.requests[0].path, "/a?x=1");
  EXPECT_EQ(server.requests[0].scheme, "https");
  EXPECT_TRUE(server.requests[0].end_stream);
  EXPECT_EQ(server.requests[1].authority, "auth.pizza:443");
  EXPECT_FALSE(server.requests[1].end_stream);
  EXPECT_EQ(server.streams[upload].data, "hello world");
  ASSERT_EQ(server.streams[upload].trailers.size(), 1u);
  EXPECT_EQ(server.streams[upload].trailers[0].name, "x-checksum");
  EXPECT_TRUE(server.streams[upload].ended);
  EXPECT_TRUE(server.streams[get].ended);
  // The HTTP/1.1 view DecideRequest reads: Host from :authority, cookies joined.
  HttpHeaders h1 = Http1Headers(server.requests[1]);
  EXPECT_EQ(*FindHeader(h1, "host"), "auth.pizza:443");
  EXPECT_EQ(*FindHeader(h1, "cookie"), "a=1; b=2");

  // Responses: streamed body with trailers, and a headers-only one.
  ASSERT_TRUE(server.session->SubmitResponse(upload, 201, {{"X-Origin", "yes"}}, false).ok());
  ASSERT_TRUE(server.session->SendData(upload, "stored").ok());
  ASSERT_TRUE(server.session->Finish(upload, {{"x-done", "1"}}).ok());
  ASSERT_TRUE(server.session->SubmitResponse(get, 204, {{"Connection", "close"}}, true).ok());
  Pump(client, server);
  EXPECT_EQ(client.responses[upload].status, 201);
  EXPECT_EQ(*FindHeader(client.responses[upload].fields, "x-origin"), "yes");
  EXPECT_EQ(client.streams[upload].data, "stored");
  EXPECT_EQ(*FindHeader(client.streams[upload].trailers, "x-done"), "1");
  EXPECT_EQ(client.responses[get].status, 204);
  EXPECT_TRUE(client.responses[get].end_stream);
  // Connection is HTTP/1.1-only: never sent on HTTP/2.
  EXPECT_EQ(FindHeader(client.responses[get].fields, "connection"), nullptr);
  EXPECT_TRUE(client.streams[get].closed);
  EXPECT_EQ(client.streams[get].close_code, 0u);
  EXPECT_TRUE(server.streams[upload].closed);
  EXPECT_EQ(server.session->open_streams(), 0u);
  EXPECT_EQ(server.session->outbound_buffered(), 0u);
}

TEST(Http2ServerSessionTest, AnotherZonesAuthorityIsAnswered421AndNeverReported) {
  ServerPeer server(ServerOptions());
  ClientPeer client;
  int32_t other = *client.session->SubmitRequest(Get("bank.example", "/"), true);
  int32_t sibling = *client.session->SubmitRequest(Get("x.auth.pizza", "/"), true);
  int32_t mine = *client.session->SubmitRequest(Get("AUTH.pizza.", "/"), true);
  Pump(client, server);
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].stream_id, mine);
  EXPECT_EQ(client.responses[other].status, 421);
  EXPECT_EQ(client.responses[sibling].status, 421);
  EXPECT_NE(client.streams[other].data.find("bank.example\\\" is not served on this connection"),
            std::string::npos)
      << client.streams[other].data;
  EXPECT_EQ(server.session->local_answers(), 2u);
  EXPECT_EQ(server.streams.count(other), 0u);
}

TEST(Http2ServerSessionTest, WildcardZoneTakesOneLabelOnly) {
  Http2ServerOptions options = ServerOptions();
  options.zone_hostname = "*.auth.pizza";
  ServerPeer server(options);
  ClientPeer client;
  int32_t ok = *client.session->SubmitRequest(Get("a.auth.pizza", "/"), true);
  int32_t deep = *client.session->SubmitRequest(Get("a.b.auth.pizza", "/"), true);
  Pump(client, server);
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].stream_id, ok);
  EXPECT_EQ(client.responses[deep].status, 421);
}

TEST(Http2ServerSessionTest, HostThatDiffersFromAuthorityIs400) {
  ServerPeer server(ServerOptions());
  // A hand-built block: the client session drops Host fields.
  std::string block = HpackEncode({{":method", "GET"},
                                   {":scheme", "https"},
                                   {":authority", "auth.pizza"},
                                   {":path", "/"},
                                   {"host", "bank.example"}});
  ASSERT_TRUE(server.session
                  ->Receive(Http2ClientStart() +
                            Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, 1, block))
                  .ok());
  EXPECT_TRUE(server.requests.empty());
  EXPECT_EQ(server.session->local_answers(), 1u);
  EXPECT_EQ(ResponseStatuses(server.session->TakeOutput())[1], 400);
}

// Request heads a hostile client builds by hand, one stream each: either
// nghttp2 resets the stream (PROTOCOL_ERROR), or the session answers it
// itself (want_status), or it is a legitimate request the application gets
// (want_status 0). Nothing refused ever reaches the application.
TEST(Http2ServerSessionTest, HostileRequestHeadsNeverReachTheApplication) {
  constexpr int kReset = -1;
  using Fields = std::vector<std::pair<std::string, std::string>>;
  struct Case {
    const char* name;
    Fields fields;
    int want;
  } cases[] = {
      {"userinfo hiding another host behind the zone's",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "auth.pizza:443@bank.example"},
        {":path", "/"}},
       400},
      {"userinfo before the zone's host",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "bank.example@auth.pizza"},
        {":path", "/"}},
       400},
      {"port that is not a number",
       {{":method", "GET"}, {":scheme", "https"}, {":authority", "auth.pizza:x"}, {":path", "/"}},
       400},
      {"Host hiding another host behind the zone's",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "auth.pizza"},
        {":path", "/"},
        {"host", "auth.pizza:1@bank.example"}},
       400},
      {"CONNECT", {{":method", "CONNECT"}, {":authority", "auth.pizza:443"}}, 501},
      {"path without a slash, https",
       {{":method", "GET"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "x"}},
       kReset},
      {"path without a slash, another scheme",
       {{":method", "GET"}, {":scheme", "foo"}, {":authority", "auth.pizza"}, {":path", "x"}},
       400},
      {"absolute path, another scheme",
       {{":method", "GET"},
        {":scheme", "foo"},
        {":authority", "auth.pizza"},
        {":path", "http://bank.example/"}},
       400},
      {"asterisk for GET",
       {{":method", "GET"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "*"}},
       kReset},
      {"te other than trailers",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "auth.pizza"},
        {":path", "/"},
        {"te", "gzip"}},
       kReset},
      {"uppercase authority, port, trailing dot",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "AUTH.Pizza.:8443"},
        {":path", "/ok"}},
       0},
      {"OPTIONS *",
       {{":method", "OPTIONS"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "*"}},
       0},
      {"te: trailers",
       {{":method", "GET"},
        {":scheme", "https"},
        {":authority", "auth.pizza"},
        {":path", "/grpc"},
        {"te", "trailers"}},
       0},
  };
  ServerPeer server(ServerOptions());
  std::string bytes = Http2ClientStart();
  int32_t id = 1;
  for (const Case& c : cases) {
    bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, id, HpackEncode(c.fields));
    id += 2;
  }
  ASSERT_TRUE(server.session->Receive(bytes).ok());
  std::string out = server.session->TakeOutput();
  std::map<int32_t, uint32_t> resets = RstCodes(out);
  std::map<int32_t, int> statuses = ResponseStatuses(out);
  std::set<int32_t> reported;
  for (const Http2RequestHead& head : server.requests) {
    reported.insert(head.stream_id);
  }
  id = 1;
  for (const Case& c : cases) {
    if (c.want == kReset) {
      EXPECT_EQ(resets[id], static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << c.name;
    } else if (c.want != 0) {
      EXPECT_EQ(statuses[id], c.want) << c.name;
    }
    EXPECT_EQ(reported.count(id), c.want == 0 ? 1u : 0u) << c.name;
    id += 2;
  }
}

TEST(Http2ServerSessionTest, PseudoHeaderOrUppercaseNameInTrailersResetsTheStream) {
  ServerPeer server(ServerOptions());
  std::string bytes = Http2ClientStart();
  int32_t id = 1;
  for (const auto& trailer : std::vector<std::pair<std::string, std::string>>{
           {":path", "/admin"}, {"X-Upper", "1"}, {"x-ok", std::string("a\nb")}}) {
    bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders, id, HpackRequest("auth.pizza", "/upload"));
    bytes += Http2Frame(NGHTTP2_DATA, 0, id, "body");
    bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, id, HpackEncode({trailer}));
    id += 2;
  }
  ASSERT_TRUE(server.session->Receive(bytes).ok());
  std::map<int32_t, uint32_t> resets = RstCodes(server.session->TakeOutput());
  for (int32_t i = 1; i < id; i += 2) {
    EXPECT_EQ(resets[i], static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << "stream " << i;
    EXPECT_TRUE(server.streams[i].trailers.empty()) << "stream " << i;
    EXPECT_FALSE(server.streams[i].ended) << "stream " << i;
    EXPECT_EQ(server.streams[i].close_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  }
}

// content-length that disagrees with the DATA sent, more or less: the
// stream is reset, never ended as if the body were whole.
TEST(Http2ServerSessionTest, ContentLengthMismatchResetsTheStream) {
  ServerPeer server(ServerOptions());
  auto post = [](absl::string_view length) {
    return HpackEncode({{":method", "POST"},
                        {":scheme", "https"},
                        {":authority", "auth.pizza"},
                        {":path", "/"},
                        {"content-length", std::string(length)}});
  };
  std::string bytes = Http2ClientStart();
  bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders, 1, post("5"));
  bytes += Http2Frame(NGHTTP2_DATA, kEndStream, 1, "longer than five");
  bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders, 3, post("50"));
  bytes += Http2Frame(NGHTTP2_DATA, kEndStream, 3, "short");
  bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, 5, post("5"));
  bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders, 7, post("5"));
  bytes += Http2Frame(NGHTTP2_DATA, kEndStream, 7, "exact");
  ASSERT_TRUE(server.session->Receive(bytes).ok());
  std::map<int32_t, uint32_t> resets = RstCodes(server.session->TakeOutput());
  for (int32_t i : {1, 3, 5}) {
    EXPECT_EQ(resets[i], static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << "stream " << i;
    EXPECT_FALSE(server.streams[i].ended) << "stream " << i;
  }
  EXPECT_EQ(resets.count(7), 0u);
  EXPECT_TRUE(server.streams[7].ended);
  EXPECT_EQ(server.streams[7].data, "exact");
}

TEST(Http2ServerSessionTest, OversizedHeaderListIs431AndTheConnectionGoesOn) {
  ServerPeer server(ServerOptions());
  Http2ClientOptions client_options;
  client_options.limits.max_header_list_bytes = 1 << 20;
  ClientPeer client(client_options);
  Http2RequestHead big = Get("auth.pizza", "/big");
  for (int i = 0; i < 5; ++i) {
    big.fields.push_back({absl::StrCat("x-big-", i), std::string(8000, 'a' + i)});
  }
  int32_t refused = *client.session->SubmitRequest(big, true);
  Http2RequestHead many = Get("auth.pizza", "/many");
  for (int i = 0; i < 101; ++i) {
    many.fields.push_back({absl::StrCat("x-", i), "1"});
  }
  int32_t counted = *client.session->SubmitRequest(many, true);
  int32_t fine = *client.session->SubmitRequest(Get("auth.pizza", "/fine"), true);
  Pump(client, server);
  EXPECT_EQ(client.responses[refused].status, 431);
  EXPECT_EQ(client.responses[counted].status, 431);
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].stream_id, fine);
  EXPECT_FALSE(server.session->goaway_sent().has_value());
}

TEST(Http2ServerSessionTest, HpackBombEndsTheConnection) {
  ServerPeer server(ServerOptions());
  // One 4000-byte field added to the dynamic table, then indexed (1 byte
  // each) 200 times: 400 bytes that decode to 800 KB.
  std::string block = HpackBomb("auth.pizza", 4000, 200);
  absl::Status s = server.session->Receive(
      Http2ClientStart() + Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, 1, block));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("HPACK bomb"), std::string::npos) << s;
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(server.requests.empty());
  EXPECT_FALSE(server.session->Receive(Http2ClientStart()).ok())
      << "input after the GOAWAY is read";
}

TEST(Http2ServerSessionTest, HpackTableLargerThanAdvertisedIsCompressionError) {
  ServerPeer server(ServerOptions());
  // A dynamic table size update to 1 MB (the edge advertised 4096).
  std::string block = HpackInt(0x20, 5, 1 << 20) + HpackRequest("auth.pizza");
  (void)server.session->Receive(Http2ClientStart() +
                                Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, 1, block));
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_COMPRESSION_ERROR);
  EXPECT_TRUE(server.requests.empty());
}

TEST(Http2ServerSessionTest, ContinuationFloodEndsTheConnection) {
  ServerPeer server(ServerOptions());
  // HEADERS without END_HEADERS, then one-byte CONTINUATION fragments.
  std::string block = HpackRequest("auth.pizza");
  block += HpackEncode({{"x-a", std::string(100, 'a')}});
  std::string bytes =
      Http2ClientStart() + Http2Frame(NGHTTP2_HEADERS, kEndStream, 1, block.substr(0, 1));
  for (size_t i = 1; i < block.size(); ++i) {
    bytes += Http2Frame(NGHTTP2_CONTINUATION, i + 1 == block.size() ? kEndHeaders : 0, 1,
                        block.substr(i, 1));
  }
  absl::Status s = server.session->Receive(bytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("CONTINUATION"), std::string::npos) << s;
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(server.requests.empty());
}

TEST(Http2ServerSessionTest, ContinuationsUnderTheLimitPass) {
  ServerPeer server(ServerOptions());
  std::string block = HpackRequest("auth.pizza");
  // HEADERS plus 8 CONTINUATION frames (the default limit).
  size_t piece = block.size() / 9 + 1;
  std::string bytes =
      Http2ClientStart() + Http2Frame(NGHTTP2_HEADERS, kEndStream, 1, block.substr(0, piece));
  for (size_t at = piece; at < block.size(); at += piece) {
    bytes += Http2Frame(NGHTTP2_CONTINUATION, at + piece >= block.size() ? kEndHeaders : 0, 1,
                        block.substr(at, piece));
  }
  ASSERT_TRUE(server.session->Receive(bytes).ok());
  EXPECT_EQ(server.requests.size(), 1u);
}

// The limit's edge: HEADERS plus exactly max_continuations CONTINUATION
// frames pass, one more ends the connection.
TEST(Http2ServerSessionTest, ContinuationLimitIsExact) {
  for (uint32_t continuations : {7u, 8u, 9u}) {
    ServerPeer server(ServerOptions());
    std::string block = HpackRequest("auth.pizza", "/exact") + HpackEncode({{"x-a", "b"}});
    ASSERT_GT(block.size(), continuations + 1);
    std::string bytes =
        Http2ClientStart() +
        Http2Frame(NGHTTP2_HEADERS, kEndStream, 1, block.substr(0, block.size() - continuations));
    for (uint32_t i = 0; i < continuations; ++i) {
      size_t at = block.size() - continuations + i;
      bytes += Http2Frame(NGHTTP2_CONTINUATION, i + 1 == continuations ? kEndHeaders : 0, 1,
                          block.substr(at, 1));
    }
    absl::Status s = server.session->Receive(bytes);
    if (continuations <= 8) {
      EXPECT_TRUE(s.ok()) << continuations << ": " << s;
      EXPECT_EQ(server.requests.size(), 1u) << continuations;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
      EXPECT_TRUE(server.requests.empty());
      EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }
}

// A CONTINUATION frame header split across reads (TLS records) is still one
// frame: the count must not grow with the number of reads.
TEST(Http2ServerSessionTest, ContinuationsArrivingByteByBytePass) {
  ServerPeer server(ServerOptions());
  std::string block = HpackRequest("auth.pizza", "/split");
  size_t piece = block.size() / 9 + 1;
  std::string bytes =
      Http2ClientStart() + Http2Frame(NGHTTP2_HEADERS, kEndStream, 1, block.substr(0, piece));
  for (size_t at = piece; at < block.size(); at += piece) {
    bytes += Http2Frame(NGHTTP2_CONTINUATION, at + piece >= block.size() ? kEndHeaders : 0, 1,
                        block.substr(at, piece));
  }
  for (char c : bytes) {
    ASSERT_TRUE(server.session->Receive(std::string(1, c)).ok());
  }
  ASSERT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(server.requests[0].path, "/split");
}

TEST(Http2ServerSessionTest, ContinuationFloodByteByByteEndsTheConnection) {
  ServerPeer server(ServerOptions());
  std::string block = HpackRequest("auth.pizza") + HpackEncode({{"x-a", std::string(40, 'a')}});
  std::string bytes =
      Http2ClientStart() + Http2Frame(NGHTTP2_HEADERS, kEndStream, 1, block.substr(0, 1));
  for (size_t i = 1; i < block.size(); ++i) {
    bytes += Http2Frame(NGHTTP2_CONTINUATION, i + 1 == block.size() ? kEndHeaders : 0, 1,
                        block.substr(i, 1));
  }
  absl::Status last;
  size_t fed = 0;
  for (; fed < bytes.size() && last.ok(); ++fed) {
    last = server.session->Receive(std::string(1, bytes[fed]));
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  // Refused at the ninth CONTINUATION's header, long before the block ends.
  EXPECT_LT(fed, bytes.size() / 2);
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(server.requests.empty());
}

TEST(Http2ServerSessionTest, RapidResetIsEnhanceYourCalm) {
  ServerPeer server(ServerOptions());  // the default: 200 per 10 s
  ASSERT_TRUE(server.session->Receive(Http2ClientStart() + RapidResets(1, 200, "auth.pizza")).ok());
  EXPECT_FALSE(GoAwayCode(server.session->TakeOutput()).has_value());
  absl::Status s = server.session->Receive(RapidResets(401, 1, "auth.pizza"));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("rapid reset"), std::string::npos) << s;
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST(Http2ServerSessionTest, ResetsSpreadOverWindowsPass) {
  absl::Time now = absl::FromUnixSeconds(1000);
  Http2ServerOptions options = ServerOptions();
  options.max_client_resets = 20;
  options.clock = [&now] { return now; };
  ServerPeer server(options);
  ASSERT_TRUE(server.session->Receive(Http2ClientStart() + RapidResets(1, 20, "auth.pizza")).ok());
  now += absl::Seconds(11);
  ASSERT_TRUE(server.session->Receive(RapidResets(41, 20, "auth.pizza")).ok());
  EXPECT_FALSE(GoAwayCode(server.session->TakeOutput()).has_value());
  EXPECT_FALSE(server.session->Receive(RapidResets(81, 1, "auth.pizza")).ok());
}

TEST(Http2ServerSessionTest, StreamsBeyondTheLimitAreRefused) {
  Http2ServerOptions options = ServerOptions();
  options.max_concurrent_streams = 10;
  ServerPeer server(options);
  Http2ClientOptions client_options;
  client_options.initial_max_concurrent_streams = 1000;  // ignores the server's limit
  ClientPeer client(client_options);
  // All requests leave before the server's SETTINGS reach the client.
  std::vector<int32_t> ids;
  for (int i = 0; i < 15; ++i) {
    ids.push_back(*client.session->SubmitRequest(Get("auth.pizza", "/"), true));
  }
  std::string to_server = client.session->TakeOutput();
  ASSERT_TRUE(server.session->Receive(to_server).ok());
  std::map<int32_t, uint32_t> resets = RstCodes(server.session->TakeOutput());
  EXPECT_EQ(server.requests.size(), 10u);
  ASSERT_EQ(resets.size(), 5u);
  for (const auto& [id, code] : resets) {
    EXPECT_EQ(code, NGHTTP2_REFUSED_STREAM) << "stream " << id;
  }
}

TEST(Http2ServerSessionTest, InboundBodyIsBoundedByTheWindows) {
  Http2ServerOptions options = ServerOptions();
  options.limits.stream_window = 16384;
  ServerPeer server(options);
  server.consume = false;  // the origin is not reading
  // The window applies once the client acknowledged the server's SETTINGS
  // (65535 before: bounded too).
  ASSERT_TRUE(
      server.session
          ->Receive(absl::StrCat(testing::kHttp2Preface, Http2Frame(NGHTTP2_SETTINGS, 0, 0, "")))
          .ok());
  server.session->TakeOutput();
  std::string start = Http2Frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, "") +
                      Http2Frame(NGHTTP2_HEADERS, kEndHeaders, 1,
                                 HpackEncode({{":method", "POST"},
                                              {":scheme", "https"},
                                              {":authority", "auth.pizza"},
                                              {":path", "/"}}));
  ASSERT_TRUE(server.session->Receive(start).ok());
  std::string chunk(16384, 'x');
  (void)server.session->Receive(Http2Frame(NGHTTP2_DATA, 0, 1, chunk));
  (void)server.session->Receive(Http2Frame(NGHTTP2_DATA, 0, 1, "one byte too many"));
  std::string out = server.session->TakeOutput();
  EXPECT_EQ(server.streams[1].data.size(), 16384u) << "bytes beyond the window were accepted";
  std::optional<uint32_t> goaway = GoAwayCode(out);
  std::map<int32_t, uint32_t> resets = RstCodes(out);
  EXPECT_TRUE((goaway.has_value() && *goaway == NGHTTP2_FLOW_CONTROL_ERROR) ||
              (resets.count(1) > 0 && resets[1] == NGHTTP2_FLOW_CONTROL_ERROR))
      << "no FLOW_CONTROL_ERROR";
}

TEST(Http2ServerSessionTest, ConnectionWindowOverrunIsFlowControlError) {
  Http2ServerOptions options = ServerOptions();
  options.limits.stream_window = 65535;
  options.limits.connection_window = 65535;
  ServerPeer server(options);
  server.consume = false;
  std::string post = HpackEncode(
      {{":method", "POST"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "/"}});
  std::string bytes = Http2ClientStart();
  // Four streams of 16384 bytes each fill the connection window; a fifth
  // frame overruns it.
  for (int32_t id = 1; id <= 9; id += 2) {
    bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders, id, post);
    bytes += Http2Frame(NGHTTP2_DATA, 0, id, std::string(id == 9 ? 100 : 16383, 'x'));
  }
  (void)server.session->Receive(bytes);
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_FLOW_CONTROL_ERROR);
  EXPECT_EQ(server.session->goaway_sent(), NGHTTP2_FLOW_CONTROL_ERROR);
  EXPECT_TRUE(server.session->done()) << "the connection is to be closed";
  EXPECT_LE(server.session->inbound_unconsumed(), 65535u);
}

TEST(Http2ServerSessionTest, MalformedFieldsNeverReachTheApplication) {
  ServerPeer server(ServerOptions());
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> extra;
  } cases[] = {
      {"CR LF in a value", {{"x-a", "1\r\nx-injected: 1"}}},
      {"NUL in a value", {{"x-a", std::string("1\0z", 3)}}},
      {"uppercase name", {{"X-Upper", "1"}}},
      {"connection-specific field", {{"connection", "close"}}},
      {"transfer-encoding", {{"transfer-encoding", "chunked"}}},
      {"pseudo-header after a field", {{"x-a", "1"}, {":method", "POST"}}},
  };
  std::string bytes = Http2ClientStart();
  int32_t id = 1;
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {":method", "GET"}, {":scheme", "https"}, {":authority", "auth.pizza"}, {":path", "/"}};
    fields.insert(fields.end(), c.extra.begin(), c.extra.end());
    bytes += Http2Frame(NGHTTP2_HEADERS, kEndHeaders | kEndStream, id, HpackEncode(fields));
    id += 2;
  }
  ASSERT_TRUE(server.session->Receive(bytes).ok());
  EXPECT_TRUE(server.requests.empty()) << server.requests[0].fields[0].name;
  std::map<int32_t, uint32_t> resets = RstCodes(server.session->TakeOutput());
  for (int32_t i = 1; i < id; i += 2) {
    EXPECT_EQ(resets[i], static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << cases[(i - 1) / 2].name;
  }
}

TEST(Http2ServerSessionTest, LargeBodyFlowsAsItIsConsumed) {
  Http2ServerOptions options = ServerOptions();
  options.limits.stream_window = 16384;
  options.limits.connection_window = 65535;
  ServerPeer server(options);
  ClientPeer client;
  Http2RequestHead post = Get("auth.pizza", "/");
  post.method = "POST";
  int32_t id = *client.session->SubmitRequest(post, false);
  std::string body(300000, 'b');
  ASSERT_TRUE(client.session->SendData(id, body).ok());
  ASSERT_TRUE(client.session->Finish(id).ok());
  Pump(client, server);
  EXPECT_EQ(server.streams[id].data.size(), body.size());
  EXPECT_TRUE(server.streams[id].ended);
}

TEST(Http2ServerSessionTest, OutboundBufferIsBoundedWhenTheClientNeverOpensItsWindow) {
  Http2ServerOptions options = ServerOptions();
  options.limits.max_stream_outbound_bytes = 100000;
  options.limits.max_connection_outbound_bytes = 150000;
  ServerPeer server(options);
  Http2ClientOptions client_options;
  client_options.limits.stream_window = 0;  // the window-exhaustion client
  ClientPeer client(client_options);
  int32_t a = *client.session->SubmitRequest(Get("auth.pizza", "/a"), true);
  int32_t b = *client.session->SubmitRequest(Get("auth.pizza", "/b"), true);
  Pump(client, server);
  ASSERT_TRUE(server.session->SubmitResponse(a, 200, {}, false).ok());
  ASSERT_TRUE(server.session->SubmitResponse(b, 200, {}, false).ok());
  std::string chunk(50000, 'o');
  ASSERT_TRUE(server.session->SendData(a, chunk).ok());
  ASSERT_TRUE(server.session->SendData(a, chunk).ok());
  absl::Status stream_full = server.session->SendData(a, "x");
  EXPECT_EQ(stream_full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(stream_full.message().find("stream's outbound limit of 100000"), std::string::npos)
      << stream_full;
  EXPECT_EQ(server.session->OutboundSpace(a), 0u);
  Pump(client, server);
  ASSERT_TRUE(server.session->SendData(b, chunk).ok());
  absl::Status connection_full = server.session->SendData(b, "x");
  EXPECT_EQ(connection_full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(connection_full.message().find("connection's outbound limit of 150000"),
            std::string::npos)
      << connection_full;
  EXPECT_EQ(server.session->outbound_buffered(), 150000u);
  EXPECT_TRUE(client.streams[a].data.empty());
  // A reset stream gives its share back.
  ASSERT_TRUE(client.session->Reset(a, NGHTTP2_CANCEL).ok());
  Pump(client, server);
  EXPECT_EQ(server.session->outbound_buffered(), 50000u);
  EXPECT_TRUE(server.session->SendData(b, "x").ok());
}

TEST(Http2ServerSessionTest, PingFloodWithoutReadingEndsTheSession) {
  Http2ServerOptions options = ServerOptions();
  options.max_control_frames = 1000000;  // only the unsent-ACK limit
  ServerPeer server(options);
  std::string bytes = Http2ClientStart();
  for (int i = 0; i < 1100; ++i) {
    bytes += Http2Frame(NGHTTP2_PING, 0, 0, std::string(8, 'p'));
  }
  absl::Status s = server.session->Receive(bytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("does not read"), std::string::npos) << s;
}

TEST(Http2ServerSessionTest, PingFloodWhileReadingIsEnhanceYourCalm) {
  ServerPeer server(ServerOptions());  // the default: 1000 per 10 s
  ASSERT_TRUE(server.session->Receive(Http2ClientStart()).ok());
  server.session->TakeOutput();
  absl::Status last;
  int sent = 0;
  for (; sent < 2000 && last.ok(); sent += 10) {
    std::string bytes;
    for (int i = 0; i < 10; ++i) {
      bytes += Http2Frame(NGHTTP2_PING, 0, 0, std::string(8, 'p'));
    }
    last = server.session->Receive(bytes);
    std::string out = server.session->TakeOutput();
    if (!last.ok()) {
      EXPECT_EQ(GoAwayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  // SETTINGS (1) + 1000 PINGs pass; the next batch crosses the limit.
  EXPECT_EQ(sent, 1000);
}

TEST(Http2ServerSessionTest, SettingsFloodWhileReadingIsEnhanceYourCalm) {
  Http2ServerOptions options = ServerOptions();
  options.max_control_frames = 50;
  ServerPeer server(options);
  ASSERT_TRUE(server.session->Receive(Http2ClientStart()).ok());  // SETTINGS no. 1
  server.session->TakeOutput();
  int sent = 0;
  absl::Status last;
  while (last.ok() && sent < 1000) {
    last = server.session->Receive(Http2Frame(NGHTTP2_SETTINGS, 0, 0, ""));
    ++sent;
    std::string out = server.session->TakeOutput();
    if (!last.ok()) {
      EXPECT_EQ(GoAwayCode(out), NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  EXPECT_EQ(sent, 50) << "the 51st SETTINGS frame crosses the limit";
}

TEST(Http2ServerSessionTest, SettingsWithTooManyEntriesIsEnhanceYourCalm) {
  ServerPeer server(ServerOptions());
  std::string entries;
  for (int i = 0; i < 33; ++i) {
    entries += std::string("\x00\x03\x00\x00\x00\x64", 6);  // MAX_CONCURRENT_STREAMS 100
  }
  (void)server.session->Receive(
      absl::StrCat(testing::kHttp2Preface, Http2Frame(NGHTTP2_SETTINGS, 0, 0, entries)));
  EXPECT_EQ(GoAwayCode(server.session->TakeOutput()), NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST(Http2ServerSessionTest, DrainLetsOpenStreamsFinish) {
  ServerPeer server(ServerOptions());
  ClientPeer client;
  int32_t id = *client.session->SubmitRequest(Get("auth.pizza", "/slow"), true);
  Pump(client, server);
  ASSERT_TRUE(server.session->SubmitResponse(id, 200, {}, false).ok());
  server.session->Drain();
  Pump(client, server);
  EXPECT_EQ(client.goaway_code, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_FALSE(client.session->CanSubmit());
  EXPECT_FALSE(server.session->done()) << "a stream is still open";
  ASSERT_TRUE(server.session->SendData(id, "late but whole").ok());
  ASSERT_TRUE(server.session->Finish(id).ok());
  Pump(client, server);
  EXPECT_EQ(client.streams[id].data, "late but whole");
  EXPECT_TRUE(client.streams[id].ended);
  EXPECT_TRUE(server.session->done());
}

TEST(Http2ServerSessionTest, NotHttp2IsRefused) {
  ServerPeer server(ServerOptions());
  absl::Status s = server.session->Receive("GET / HTTP/1.1\r\nHost: auth.pizza\r\n\r\n");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(server.requests.empty());
}

}  // namespace
}  // namespace certgate::edge
