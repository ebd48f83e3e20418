#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/http/origin_stream.h"

namespace certgate::edge {

class Http2OriginConnection;
class Http2OriginPool;

// Http2OriginStream is one request on a pooled HTTP/2 origin connection,
// owned by the client connection that opened it. The origin connection
// drives it (Http2OriginConnection) and detaches it when it ends or dies.
class Http2OriginStream : public OriginStream {
 public:
  Http2OriginStream(Http2OriginPool* pool, OriginStreamSink* sink, OriginRequest request,
                    bool end_stream);
  ~Http2OriginStream() override;
  Http2OriginStream(const Http2OriginStream&) = delete;
  Http2OriginStream& operator=(const Http2OriginStream&) = delete;

  size_t SendSpace() const override;
  absl::Status SendData(absl::string_view data) override;
  absl::Status Finish(HttpHeaders trailers) override;
  void Consume(size_t bytes) override;

 private:
  friend class Http2OriginConnection;
  friend class Http2OriginPool;

  Http2OriginPool* pool_;
  OriginStreamSink* sink_;
  // The request head, kept until the stream is submitted for good: a stream
  // the origin refused unprocessed (GOAWAY, REFUSED_STREAM) is sent once
  // more on another connection when no body byte has left yet.
  OriginRequest request_;
  bool end_stream_;
  Http2OriginConnection* connection_ = nullptr;  // null once ended or failed
  int32_t id_ = 0;                               // 0 until submitted
  bool body_sent_ = false;                       // a body byte went to the session
  bool retried_ = false;
  bool finish_pending_ = false;  // Finish came before the stream was submitted
  HttpHeaders pending_trailers_;
  mutable bool blocked_ = false;  // SendSpace was 0: OnOriginWritable when it grows
  bool response_seen_ = false;
  bool ended_ = false;           // the whole response arrived
  bool session_closed_ = false;  // nghttp2 closed the stream (nothing to reset)
};

}  // namespace certgate::edge
