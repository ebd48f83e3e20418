#include "dataplane/http2/http2_client_session.h"

#include <nghttp2/nghttp2.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "dataplane/http/header_rewriter.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane_http2/http2_test_peer.h"

namespace certgate::edge {
namespace {

using testing::ClientPeer;
using testing::Pump;
using testing::ServerOptions;
using testing::ServerPeer;

Http2RequestHead Grpc(absl::string_view path) {
  Http2RequestHead head;
  head.method = "POST";
  head.scheme = "http";
  head.authority = "auth.pizza";
  head.path = std::string(path);
  head.fields = {{"Content-Type", "application/grpc"}, {"TE", "trailers"}, {"Host", "ignored"}};
  return head;
}

// A bidirectional gRPC-style exchange: each side sends a message only after
// it received the other's previous one, so nothing works unless both
// directions stream; trailers end both.
TEST(Http2ClientSessionTest, BidirectionalStreamingWithTrailers) {
  ServerPeer origin(ServerOptions());
  ClientPeer edge;
  int32_t id = *edge.session->SubmitRequest(Grpc("/chat.Chat/Talk"), false);
  Pump(edge, origin);
  ASSERT_EQ(origin.requests.size(), 1u);
  const Http2RequestHead& got = origin.requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.scheme, "http");
  EXPECT_EQ(got.path, "/chat.Chat/Talk");
  EXPECT_EQ(*FindHeader(got.fields, "content-type"), "application/grpc");
  EXPECT_EQ(*FindHeader(got.fields, "te"), "trailers");
  EXPECT_EQ(FindHeader(got.fields, "host"), nullptr) << ":authority names the host";
  ASSERT_TRUE(
      origin.session->SubmitResponse(id, 200, {{"content-type", "application/grpc"}}, false).ok());
  Pump(edge, origin);
  ASSERT_EQ(edge.responses.count(id), 1u);
  EXPECT_EQ(edge.responses[id].status, 200);

  std::string expect_at_origin, expect_at_edge;
  for (int i = 0; i < 5; ++i) {
    std::string ping = absl::StrCat("ping-", i);
    ASSERT_TRUE(edge.session->SendData(id, ping).ok());
    expect_at_origin += ping;
    Pump(edge, origin);
    ASSERT_EQ(origin.streams[id].data, expect_at_origin) << "request message " << i;
    std::string pong = absl::StrCat("pong-", i);
    ASSERT_TRUE(origin.session->SendData(id, pong).ok());
    expect_at_edge += pong;
    Pump(edge, origin);
    ASSERT_EQ(edge.streams[id].data, expect_at_edge) << "response message " << i;
    EXPECT_FALSE(edge.streams[id].ended);
  }
  ASSERT_TRUE(edge.session->Finish(id, {{"x-client-done", "1"}}).ok());
  Pump(edge, origin);
  EXPECT_TRUE(origin.streams[id].ended);
  EXPECT_EQ(*FindHeader(origin.streams[id].trailers, "x-client-done"), "1");
  ASSERT_TRUE(origin.session->Finish(id, {{"grpc-status", "0"}, {"grpc-message", "bye"}}).ok());
  Pump(edge, origin);
  EXPECT_TRUE(edge.streams[id].ended);
  EXPECT_EQ(*FindHeader(edge.streams[id].trailers, "grpc-status"), "0");
  EXPECT_EQ(*FindHeader(edge.streams[id].trailers, "grpc-message"), "bye");
  EXPECT_TRUE(edge.streams[id].closed);
  EXPECT_EQ(edge.streams[id].close_code, 0u);
  EXPECT_EQ(edge.session->open_streams(), 0u);
}

TEST(Http2ClientSessionTest, StreamsAreMultiplexedOnOneConnection) {
  ServerPeer origin(ServerOptions());
  ClientPeer edge;
  int32_t ids[3];
  for (int i = 0; i < 3; ++i) {
    ids[i] = *edge.session->SubmitRequest(Grpc(absl::StrCat("/s/", i)), false);
  }
  Pump(edge, origin);
  ASSERT_EQ(origin.requests.size(), 3u);
  // Answered in reverse order, interleaved.
  for (int i = 2; i >= 0; --i) {
    ASSERT_TRUE(origin.session->SubmitResponse(ids[i], 200, {}, false).ok());
    ASSERT_TRUE(origin.session->SendData(ids[i], absl::StrCat("body-", i)).ok());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(edge.session->SendData(ids[i], absl::StrCat("req-", i)).ok());
    ASSERT_TRUE(edge.session->Finish(ids[i]).ok());
    ASSERT_TRUE(origin.session->Finish(ids[i], {{"grpc-status", absl::StrCat(i)}}).ok());
  }
  Pump(edge, origin);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(origin.streams[ids[i]].data, absl::StrCat("req-", i));
    EXPECT_EQ(edge.streams[ids[i]].data, absl::StrCat("body-", i));
    EXPECT_EQ(*FindHeader(edge.streams[ids[i]].trailers, "grpc-status"), absl::StrCat(i));
    EXPECT_TRUE(edge.streams[ids[i]].closed);
  }
}

TEST(Http2ClientSessionTest, TrailersOnlyResponseEndsWithTheHead) {
  ServerPeer origin(ServerOptions());
  ClientPeer edge;
  int32_t id = *edge.session->SubmitRequest(Grpc("/a.B/C"), true);
  Pump(edge, origin);
  ASSERT_TRUE(origin.session
                  ->SubmitResponse(
                      id, 200, {{"content-type", "application/grpc"}, {"grpc-status", "5"}}, true)
                  .ok());
  Pump(edge, origin);
  EXPECT_TRUE(edge.responses[id].end_stream);
  EXPECT_EQ(*FindHeader(edge.responses[id].fields, "grpc-status"), "5");
  EXPECT_TRUE(edge.streams[id].ended);
  EXPECT_TRUE(edge.streams[id].trailers.empty());
}

TEST(Http2ClientSessionTest, OriginResetIsReported) {
  ServerPeer origin(ServerOptions());
  ClientPeer edge;
  int32_t id = *edge.session->SubmitRequest(Grpc("/a.B/C"), false);
  Pump(edge, origin);
  ASSERT_TRUE(origin.session->Reset(id, NGHTTP2_CANCEL).ok());
  Pump(edge, origin);
  EXPECT_TRUE(edge.streams[id].closed);
  EXPECT_EQ(edge.streams[id].close_code, static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(edge.session->SendData(id, "late").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Http2ClientSessionTest, OversizedResponseHeadResetsTheStream) {
  ServerPeer origin(ServerOptions());
  Http2ClientOptions options;
  options.limits.max_header_list_bytes = 1000;
  ClientPeer edge(options);
  int32_t id = *edge.session->SubmitRequest(Grpc("/a.B/C"), true);
  Pump(edge, origin);
  ASSERT_TRUE(
      origin.session->SubmitResponse(id, 200, {{"x-big", std::string(2000, 'b')}}, true).ok());
  Pump(edge, origin);
  EXPECT_EQ(edge.responses.count(id), 0u);
  EXPECT_TRUE(edge.streams[id].closed);
  EXPECT_EQ(edge.streams[id].close_code, static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
}

TEST(Http2ClientSessionTest, GoAwayStopsNewStreams) {
  ServerPeer origin(ServerOptions());
  ClientPeer edge;
  int32_t id = *edge.session->SubmitRequest(Grpc("/a.B/C"), true);
  Pump(edge, origin);
  EXPECT_TRUE(edge.session->CanSubmit());
  origin.session->GoAway(NGHTTP2_NO_ERROR, "draining");
  Pump(edge, origin);
  EXPECT_EQ(edge.goaway_code, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_FALSE(edge.session->CanSubmit());
  absl::StatusOr<int32_t> next = edge.session->SubmitRequest(Grpc("/a.B/C"), true);
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable);
  (void)id;
}

TEST(Http2ClientSessionTest, ConcurrencyFollowsTheOriginsSettings) {
  Http2ServerOptions server_options = ServerOptions();
  server_options.max_concurrent_streams = 2;
  ServerPeer origin(server_options);
  ClientPeer edge;
  Pump(edge, origin);  // SETTINGS exchanged
  ASSERT_TRUE(edge.session->SubmitRequest(Grpc("/1"), false).ok());
  EXPECT_TRUE(edge.session->CanSubmit());
  ASSERT_TRUE(edge.session->SubmitRequest(Grpc("/2"), false).ok());
  EXPECT_FALSE(edge.session->CanSubmit());
}

}  // namespace
}  // namespace certgate::edge
