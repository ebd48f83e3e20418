#include "dataplane/http/message_parser.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

struct Recorder {
  std::vector<std::string> events;
  std::string body;
  MessageParser::Callbacks Callbacks() {
    return MessageParser::Callbacks{
        [this] { events.push_back("begin"); },
        [this](bool*) {
          events.push_back("headers");
          return true;
        },
        [this](absl::string_view data) {
          body.append(data.data(), data.size());
          return true;
        },
        [this] {
          events.push_back("complete");
          return true;
        },
    };
  }
};

TEST(MessageParserTest, CollectsStartLineHeadersAndBody) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string req = "POST /a?b=1 HTTP/1.1\r\nHost: auth.pizza\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_EQ(parser.Feed(req.data(), req.size()), req.size());
  EXPECT_EQ(parser.error(), MessageParser::Error::kNone);
  EXPECT_EQ(parser.url(), "/a?b=1");
  EXPECT_STREQ(parser.method_name(), "POST");
  ASSERT_EQ(parser.headers().size(), 2u);
  EXPECT_EQ(parser.headers()[0].name, "Host");
  EXPECT_EQ(parser.headers()[0].value, "auth.pizza");
  EXPECT_TRUE(parser.has_content_length());
  EXPECT_EQ(parser.content_length(), 5u);
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(parser.keep_alive());
  EXPECT_TRUE(parser.paused());
}

TEST(MessageParserTest, HeaderSplitAcrossFeeds) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string req = "GET / HTTP/1.1\r\nHost: auth.pizza\r\nX-Long-Name: some value\r\n\r\n";
  for (char c : req) {
    ASSERT_EQ(parser.Feed(&c, 1), 1u);
  }
  ASSERT_EQ(parser.headers().size(), 2u);
  EXPECT_EQ(parser.headers()[1].name, "X-Long-Name");
  EXPECT_EQ(parser.headers()[1].value, "some value");
}

TEST(MessageParserTest, PausesBetweenPipelinedRequests) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string one = "GET /1 HTTP/1.1\r\nHost: a.pizza\r\n\r\n";
  std::string two = "GET /2 HTTP/1.1\r\nHost: a.pizza\r\n\r\n";
  std::string both = one + two;
  size_t used = parser.Feed(both.data(), both.size());
  EXPECT_EQ(used, one.size());
  EXPECT_EQ(parser.url(), "/1");
  EXPECT_TRUE(parser.paused());
  EXPECT_EQ(parser.Feed(both.data() + used, both.size() - used), 0u);
  parser.Resume();
  EXPECT_EQ(parser.Feed(both.data() + used, both.size() - used), two.size());
  EXPECT_EQ(parser.url(), "/2");
}

TEST(MessageParserTest, ChunkedBodyIsDechunked) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string req =
      "POST / HTTP/1.1\r\nHost: a.pizza\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  parser.Feed(req.data(), req.size());
  EXPECT_EQ(parser.error(), MessageParser::Error::kNone);
  EXPECT_TRUE(parser.chunked());
  EXPECT_EQ(r.body, "abcde");
  EXPECT_EQ(r.events.back(), "complete");
}

// Trailer fields never join the head: the head judged when it ended is
// the head forwarded, even when the origin is reached after the body. They
// count toward the same limits.
TEST(MessageParserTest, TrailersStayApartFromTheHead) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string req =
      "POST / HTTP/1.1\r\nHost: a.pizza\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Client-Cert-Status: valid\r\n\r\n";
  parser.Feed(req.data(), req.size());
  EXPECT_EQ(parser.error(), MessageParser::Error::kNone);
  EXPECT_EQ(r.body, "abc");
  ASSERT_EQ(parser.headers().size(), 2u);
  EXPECT_EQ(parser.headers()[1].name, "Transfer-Encoding");
  ASSERT_EQ(parser.trailers().size(), 2u);
  EXPECT_EQ(parser.trailers()[0].name, "X-Checksum");
  EXPECT_EQ(parser.trailers()[0].value, "1234");
  EXPECT_EQ(parser.trailers()[1].name, "X-Client-Cert-Status");
  // The next message starts with neither.
  parser.Resume();
  std::string next = "GET / HTTP/1.1\r\nHost: a.pizza\r\n\r\n";
  parser.Feed(next.data(), next.size());
  EXPECT_EQ(parser.headers().size(), 1u);
  EXPECT_TRUE(parser.trailers().empty());

  ParserLimits limits;
  limits.max_headers = 3;
  Recorder over;
  MessageParser limited(HTTP_REQUEST, limits, over.Callbacks());
  std::string many =
      "POST / HTTP/1.1\r\nHost: a.pizza\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nA: 1\r\nB: 2\r\n\r\n";
  limited.Feed(many.data(), many.size());
  EXPECT_EQ(limited.error(), MessageParser::Error::kTooManyHeaders);
}

// Request smuggling and limits: each refused before anything is forwarded
// (the headers callback never runs).
TEST(MessageParserTest, RefusesBadFramingAndOversizedHeads) {
  struct Case {
    const char* name;
    std::string request;
    MessageParser::Error want;
  };
  std::string many_headers = "GET / HTTP/1.1\r\nHost: a.pizza\r\n";
  for (int i = 0; i < 5; ++i) {
    many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  }
  many_headers += "\r\n";
  std::vector<Case> cases = {
      {"content-length and chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       MessageParser::Error::kBadFraming},
      {"two content-lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
       MessageParser::Error::kBadFraming},
      {"non-numeric content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\n",
       MessageParser::Error::kBadFraming},
      {"te not ending in chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       MessageParser::Error::kBadFraming},
      {"garbage", "NOT HTTP\r\n\r\n", MessageParser::Error::kBadMessage},
      {"header too large",
       "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n",
       MessageParser::Error::kHeadersTooLarge},
      {"too many headers", many_headers, MessageParser::Error::kTooManyHeaders},
      {"connect", "CONNECT a.pizza:443 HTTP/1.1\r\nHost: a.pizza\r\n\r\n",
       MessageParser::Error::kUnsupported},
  };
  for (const Case& c : cases) {
    Recorder r;
    MessageParser parser(HTTP_REQUEST, ParserLimits{1024, 4}, r.Callbacks());
    parser.Feed(c.request.data(), c.request.size());
    EXPECT_EQ(parser.error(), c.want) << c.name;
    EXPECT_TRUE(std::find(r.events.begin(), r.events.end(), "headers") == r.events.end()) << c.name;
    EXPECT_FALSE(parser.error_detail().empty()) << c.name;
  }
}

// After an upgrade request or a 101 the parser stops: the bytes after the
// head are the new protocol's, left to the caller.
TEST(MessageParserTest, StopsAfterAnUpgrade) {
  Recorder r;
  MessageParser request(HTTP_REQUEST, {}, r.Callbacks());
  std::string head =
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  std::string data = head + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(request.Feed(data.data(), data.size()), head.size());
  EXPECT_EQ(request.error(), MessageParser::Error::kNone);
  EXPECT_TRUE(request.upgrade());
  EXPECT_TRUE(request.paused());
  EXPECT_EQ(r.events, (std::vector<std::string>{"begin", "headers", "complete"}));

  Recorder rr;
  MessageParser response(HTTP_RESPONSE, {}, rr.Callbacks());
  std::string switched =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
  std::string frames = switched + "\x81\x02hi";
  EXPECT_EQ(response.Feed(frames.data(), frames.size()), switched.size());
  EXPECT_TRUE(response.upgrade());
  // A 200 carrying the same headers is no switch.
  Recorder r200;
  MessageParser ok(HTTP_RESPONSE, {}, r200.Callbacks());
  std::string plain =
      "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n";
  ok.Feed(plain.data(), plain.size());
  EXPECT_FALSE(ok.upgrade());
  EXPECT_EQ(ok.error(), MessageParser::Error::kNone);
}

TEST(MessageParserTest, ResponseDelimitedByCloseEndsAtEof) {
  Recorder r;
  MessageParser parser(HTTP_RESPONSE, {}, r.Callbacks());
  std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body";
  parser.Feed(resp.data(), resp.size());
  EXPECT_EQ(r.body, "some body");
  EXPECT_TRUE(parser.in_message());
  EXPECT_TRUE(parser.FeedEof());
  EXPECT_EQ(r.events.back(), "complete");
  EXPECT_EQ(parser.status_code(), 200);
  EXPECT_EQ(parser.status_text(), "OK");
}

TEST(MessageParserTest, TruncatedResponseIsAnErrorAtEof) {
  Recorder r;
  MessageParser parser(HTTP_RESPONSE, {}, r.Callbacks());
  std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  parser.Feed(resp.data(), resp.size());
  EXPECT_FALSE(parser.FeedEof());
}

TEST(MessageParserTest, Http10WithoutKeepAliveCloses) {
  Recorder r;
  MessageParser parser(HTTP_REQUEST, {}, r.Callbacks());
  std::string req = "GET / HTTP/1.0\r\nHost: a.pizza\r\n\r\n";
  parser.Feed(req.data(), req.size());
  EXPECT_FALSE(parser.keep_alive());
}

}  // namespace
}  // namespace certgate::edge
