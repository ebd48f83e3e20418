#pragma once

#include <http_parser.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace certgate::edge {

struct HttpHeader {
  std::string name;
  std::string value;
};
using HttpHeaders = std::vector<HttpHeader>;

struct ParserLimits {
  size_t max_header_bytes = 32768;  // request/status line plus every header
  size_t max_headers = 100;
};

// MessageParser adapts http_parser (Node's parser, from Debian) to the edge:
// it collects the start line and headers under limits and hands the body out
// as it arrives. One parser per direction of a connection; messages follow
// one another (keep-alive). The parser pauses itself after each complete
// message, so that a pipelined next request waits for its turn.
class MessageParser {
 public:
  enum class Error {
    kNone,
    kBadMessage,       // malformed: 400
    kBadFraming,       // invalid Content-Length, or both it and Transfer-Encoding: 400
    kHeadersTooLarge,  // 431
    kTooManyHeaders,   // 431
    kUnsupported,      // CONNECT: 501
    kAborted,          // a callback said stop
  };

  struct Callbacks {
    std::function<void()> on_message_begin;
    // Called with the start line and headers parsed. Return false to abort.
    // For responses, set *skip_body when the request was HEAD.
    std::function<bool(bool* skip_body)> on_headers_complete;
    // Body bytes (chunked framing removed). Return false to abort.
    std::function<bool(absl::string_view)> on_body;
    // The message ended. Return false to abort.
    std::function<bool()> on_message_complete;
  };

  MessageParser(http_parser_type type, ParserLimits limits, Callbacks callbacks);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Feed parses up to `len` bytes and returns how many it consumed: fewer
  // when it paused after a message or failed (see error()).
  size_t Feed(const char* data, size_t len);
  // FeedEof tells the parser that the peer closed; ends a body delimited by
  // the connection's close. False when the close came mid-message.
  bool FeedEof();

  bool paused() const { return paused_; }
  // Resume lets the next message be parsed.
  void Resume();
  // Reset starts over as if new (same limits and callbacks), keeping the
  // memory of its buffers.
  void Reset();

  Error error() const { return error_; }
  std::string error_detail() const;
  // in_message: between the first byte of a message and its end.
  bool in_message() const { return in_message_; }

  // The current (or last) message.
  const std::string& url() const { return url_; }
  const std::string& status_text() const { return status_text_; }
  const HttpHeaders& headers() const { return headers_; }
  // The trailer fields after a chunked body (never part of headers()).
  const HttpHeaders& trailers() const { return trailers_; }
  int method() const { return parser_.method; }
  const char* method_name() const;
  int status_code() const { return parser_.status_code; }
  int http_major() const { return parser_.http_major; }
  int http_minor() const { return parser_.http_minor; }
  bool keep_alive() const { return keep_alive_; }
  bool chunked() const { return (parser_.flags & F_CHUNKED) != 0; }
  // upgrade: the message asks (request: Upgrade and Connection: upgrade) or
  // agrees (a 101 response with both) to switch protocols. After such a
  // message the parser stays paused: what follows is not HTTP.
  bool upgrade() const { return parser_.upgrade != 0; }
  bool has_content_length() const { return has_content_length_; }
  uint64_t content_length() const { return content_length_; }
  size_t header_bytes() const { return header_bytes_; }

 private:
  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t len);
  static int OnStatus(http_parser* p, const char* at, size_t len);
  static int OnHeaderField(http_parser* p, const char* at, size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t len);
  static int OnMessageComplete(http_parser* p);
  bool CountHeaderBytes(size_t len);

  http_parser parser_;
  http_parser_settings settings_;
  ParserLimits limits_;
  Callbacks callbacks_;
  Error error_ = Error::kNone;
  bool paused_ = false;
  bool in_message_ = false;
  bool last_was_value_ = false;
  bool in_trailers_ = false;  // past the head: fields are trailers
  bool keep_alive_ = false;
  bool has_content_length_ = false;
  uint64_t content_length_ = 0;
  size_t header_bytes_ = 0;
  std::string url_;
  std::string status_text_;
  HttpHeaders headers_;
  HttpHeaders trailers_;
};

}  // namespace certgate::edge
