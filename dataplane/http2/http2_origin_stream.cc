#include "dataplane/http2/http2_origin_stream.h"

#include <utility>

#include "dataplane/http2/http2_origin_connection.h"

namespace certgate::edge {

Http2OriginStream::Http2OriginStream(Http2OriginPool* pool, OriginStreamSink* sink,
                                     OriginRequest request, bool end_stream)
    : pool_(pool), sink_(sink), request_(std::move(request)), end_stream_(end_stream) {}

Http2OriginStream::~Http2OriginStream() {
  if (connection_ != nullptr) {
    connection_->Detach(this);
  }
}

size_t Http2OriginStream::SendSpace() const {
  if (connection_ == nullptr || end_stream_ || finish_pending_) {
    return 0;
  }
  if (id_ == 0) {
    blocked_ = true;  // connecting: OnOriginWritable once submitted
    return 0;
  }
  return connection_->SendSpace(this);
}

absl::Status Http2OriginStream::SendData(absl::string_view data) {
  if (connection_ == nullptr || id_ == 0) {
    return absl::FailedPreconditionError("the origin stream is not open");
  }
  return connection_->SendData(this, data);
}

absl::Status Http2OriginStream::Finish(HttpHeaders trailers) {
  if (end_stream_) {
    return absl::OkStatus();
  }
  if (connection_ == nullptr) {
    return absl::FailedPreconditionError("the origin stream is not open");
  }
  if (id_ == 0) {
    // Submitted with the head once the connection is up.
    finish_pending_ = true;
    pending_trailers_ = std::move(trailers);
    return absl::OkStatus();
  }
  return connection_->Finish(this, std::move(trailers));
}

void Http2OriginStream::Consume(size_t bytes) {
  if (connection_ != nullptr && id_ != 0) {
    connection_->Consume(this, bytes);
  }
}

}  // namespace certgate::edge
