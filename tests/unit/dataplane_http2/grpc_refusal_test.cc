#include "dataplane/http/grpc_refusal.h"

#include <nghttp2/nghttp2.h>

#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/message_parser.h"
#include "gtest/gtest.h"
#include "tests/unit/dataplane_http2/http2_test_peer.h"

namespace certgate::edge {
namespace {

TEST(GrpcRefusalTest, ContentTypes) {
  struct Case {
    const char* type;
    bool grpc;
  } cases[] = {
      {"application/grpc", true},
      {"application/grpc+proto", true},
      {"Application/GRPC+json", true},
      {"application/grpc; charset=utf-8", true},
      {"application/grpc-web", true},
      {"application/grpc-web-text+proto", true},
      {" application/grpc ", true},
      {"application/grpcx", false},
      {"application/json", false},
      {"text/html", false},
      {"", false},
      {"application/grp", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsGrpcContentType(c.type), c.grpc) << c.type;
  }
  EXPECT_TRUE(IsGrpcRequest({{"Content-Type", "application/grpc"}}));
  EXPECT_FALSE(IsGrpcRequest({{"Accept", "application/grpc"}}));
}

TEST(GrpcRefusalTest, Table) {
  struct Case {
    const char* name;
    CertStatus status;
    const char* reason;
    const char* content_type;
    int want_grpc_status;
    const char* want_message;
    const char* want_type;
  } cases[] = {
      {"no certificate", CertStatus::kNone, "", "application/grpc", 16,
       "a valid client certificate is required", "application/grpc"},
      {"expired", CertStatus::kInvalid, "expired", "application/grpc+proto", 7,
       "the client certificate is not valid: expired", "application/grpc+proto"},
      {"invalid without reason", CertStatus::kInvalid, "", "application/grpc", 7,
       "the client certificate is not valid", "application/grpc"},
      {"reason needing encoding", CertStatus::kInvalid, "bad%\r\n\xc3\xa9", "application/grpc", 7,
       "the client certificate is not valid: bad%25%0D%0A%C3%A9", "application/grpc"},
      {"content type with spaces falls back", CertStatus::kNone, "", "application/grpc; a=b", 16,
       "a valid client certificate is required", "application/grpc"},
      {"web client keeps its type", CertStatus::kNone, "", "application/grpc-web+proto", 16,
       "a valid client certificate is required", "application/grpc-web+proto"},
  };
  for (const Case& c : cases) {
    GrpcRefusal r = MakeGrpcRefusal(c.status, c.reason, c.content_type);
    EXPECT_EQ(r.http_status, 200) << c.name;
    EXPECT_EQ(static_cast<int>(r.grpc_status), c.want_grpc_status) << c.name;
    EXPECT_EQ(r.grpc_message, c.want_message) << c.name;
    ASSERT_NE(FindHeader(r.fields, "grpc-status"), nullptr) << c.name;
    EXPECT_EQ(*FindHeader(r.fields, "grpc-status"), std::to_string(c.want_grpc_status)) << c.name;
    EXPECT_EQ(*FindHeader(r.fields, "grpc-message"), c.want_message) << c.name;
    EXPECT_EQ(*FindHeader(r.fields, "content-type"), c.want_type) << c.name;
  }
}

TEST(GrpcRefusalTest, PercentEncoding) {
  EXPECT_EQ(GrpcPercentEncode("plain text ~"), "plain text ~");
  EXPECT_EQ(GrpcPercentEncode("100%"), "100%25");
  EXPECT_EQ(GrpcPercentEncode(std::string("\x00\x1f\x7f", 3)), "%00%1F%7F");
  EXPECT_EQ(GrpcPercentEncode("\xe2\x9c\x93"), "%E2%9C%93");
}

// A reason or content type carrying CR, LF or non-ASCII never splits the
// answer's head: grpc-message is percent-encoded, the type falls back.
TEST(GrpcRefusalTest, HostileReasonAndContentTypeStayInOneField) {
  GrpcRefusal r = MakeGrpcRefusal(CertStatus::kInvalid, "x\r\nx-injected: 1 \xc3\xa9",
                                  "application/grpc\r\nx-injected: 1");
  EXPECT_EQ(r.grpc_message, "the client certificate is not valid: x%0D%0Ax-injected: 1 %C3%A9");
  EXPECT_EQ(*FindHeader(r.fields, "content-type"), "application/grpc");
  for (const HttpHeader& h : r.fields) {
    EXPECT_EQ(h.value.find_first_of("\r\n"), std::string::npos) << h.name;
  }
  std::string wire = SerializeGrpcRefusal(r, false);
  EXPECT_EQ(wire.find("\r\nx-injected"), std::string::npos) << wire;
}

TEST(GrpcRefusalTest, Http11IsA200WithTheStatusInTheHead) {
  GrpcRefusal r = MakeGrpcRefusal(CertStatus::kNone, "", "application/grpc");
  std::string wire = SerializeGrpcRefusal(r, true);
  bool complete = false;
  MessageParser parser(HTTP_RESPONSE, ParserLimits{},
                       MessageParser::Callbacks{nullptr, [](bool*) { return true; },
                                                [](absl::string_view) { return false; },
                                                [&complete] {
                                                  complete = true;
                                                  return true;
                                                }});
  EXPECT_EQ(parser.Feed(wire.data(), wire.size()), wire.size());
  ASSERT_TRUE(complete) << wire;
  EXPECT_EQ(parser.status_code(), 200);
  EXPECT_EQ(*FindHeader(parser.headers(), "grpc-status"), "16");
  EXPECT_EQ(*FindHeader(parser.headers(), "content-length"), "0");
  EXPECT_TRUE(parser.keep_alive());
}

TEST(GrpcRefusalTest, Http2IsOneHeadersFrameEndingTheStream) {
  testing::ServerPeer server(testing::ServerOptions());
  testing::ClientPeer client;
  Http2RequestHead call;
  call.method = "POST";
  call.scheme = "https";
  call.authority = "auth.pizza";
  call.path = "/svc.S/M";
  call.fields = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  int32_t id = *client.session->SubmitRequest(call, false);
  ASSERT_TRUE(client.session->SendData(id, std::string("\0\0\0\0\0", 5)).ok());
  testing::Pump(client, server);
  ASSERT_EQ(server.requests.size(), 1u);
  ASSERT_TRUE(IsGrpcRequest(server.requests[0].fields));
  GrpcRefusal r = MakeGrpcRefusal(CertStatus::kInvalid, "revoked", "application/grpc");
  ASSERT_TRUE(server.session->SubmitResponse(id, r.http_status, r.fields, true).ok());
  std::string out = server.session->TakeOutput();
  int headers_frames = 0;
  for (const testing::Frame& f : testing::ParseFrames(out)) {
    if (f.stream_id == id) {
      EXPECT_EQ(f.type, NGHTTP2_HEADERS) << "a trailers-only answer has no DATA";
      EXPECT_NE(f.flags & NGHTTP2_FLAG_END_STREAM, 0);
      ++headers_frames;
    }
  }
  EXPECT_EQ(headers_frames, 1);
  ASSERT_TRUE(client.session->Receive(out).ok());
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_TRUE(client.responses[id].end_stream);
  EXPECT_EQ(*FindHeader(client.responses[id].fields, "grpc-status"), "7");
  EXPECT_EQ(*FindHeader(client.responses[id].fields, "grpc-message"),
            "the client certificate is not valid: revoked");
}

}  // namespace
}  // namespace certgate::edge
