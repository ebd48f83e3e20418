#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

struct evbuffer;

namespace certgate::edge {

// OriginRequest is one request as a multiplexed (HTTP/2) origin gets it:
// the fields already rewritten for the origin (RewriteRequestHeaders), the
// client's Host as `authority`.
struct OriginRequest {
  std::string method;
  std::string authority;
  std::string path;
  HttpHeaders fields;
};

// OriginStreamSink is what an OriginStream reports to the connection that
// opened it. Every call comes from the event loop, never from inside an
// OriginStream method, so the sink may destroy the stream from any of them.
class OriginStreamSink {
 public:
  virtual ~OriginStreamSink() = default;
  // The origin's final response head; `end_stream`: no body follows.
  virtual void OnOriginResponse(int status, HttpHeaders fields, bool end_stream) = 0;
  // Body bytes; the sink calls Consume once it passed them on, and the
  // origin may send that much more (flow control).
  virtual void OnOriginData(absl::string_view data) = 0;
  virtual void OnOriginTrailers(HttpHeaders trailers) = 0;
  // The response is complete (after its trailers, if any).
  virtual void OnOriginEnd() = 0;
  // The stream failed: `status` is what a client that got no response yet
  // is answered (502, or 504 for a timeout); `why` is one line.
  virtual void OnOriginFailed(int status, std::string why) = 0;
  // SendSpace grew after it was 0.
  virtual void OnOriginWritable() = 0;
  // The (https) origin picked HTTP/1.1 by ALPN: nothing of the request was
  // sent; the sink sends it the HTTP/1.1 way (the connection waits in the
  // HTTP/1.1 pool) and drops the stream.
  virtual void OnOriginHttp1() = 0;
};

// OriginStream is one request in flight on a multiplexed origin connection
// (an HTTP/2 stream). Destroying it before its end resets the stream.
class OriginStream {
 public:
  virtual ~OriginStream() = default;
  // SendSpace: request body bytes SendData takes now (0 while connecting or
  // while the origin's windows hold the body back).
  virtual size_t SendSpace() const = 0;
  virtual absl::Status SendData(absl::string_view data) = 0;
  // Finish ends the request body, with trailers when not empty.
  virtual absl::Status Finish(HttpHeaders trailers) = 0;
  virtual void Consume(size_t bytes) = 0;
};

// SendBufferedBody sends `body` on `stream` as far as its flow control
// takes it now, draining what went: the bytes sent, or the stream's error.
absl::StatusOr<size_t> SendBufferedBody(OriginStream& stream, evbuffer* body);

}  // namespace certgate::edge
