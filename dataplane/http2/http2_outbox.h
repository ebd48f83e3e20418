#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

// Http2Outbox is one stream's outgoing body: bytes the application queued
// and nghttp2 has not yet framed (it frames only as far as the peer's flow
// control windows allow), then the end of the body and its trailers.
class Http2Outbox {
 public:
  Http2Outbox() = default;
  Http2Outbox(const Http2Outbox&) = delete;
  Http2Outbox& operator=(const Http2Outbox&) = delete;

  void Append(absl::string_view data);
  // Finish: no more body; `trailers` (maybe empty) follow it.
  void Finish(HttpHeaders trailers);

  // Take copies up to `max` queued bytes into `out` and returns how many.
  size_t Take(uint8_t* out, size_t max);

  size_t buffered() const { return data_.size() - offset_; }
  bool finished() const { return finished_; }
  const HttpHeaders& trailers() const { return trailers_; }

  // deferred: nghttp2 was told to wait (NGHTTP2_ERR_DEFERRED) and must be
  // resumed when bytes or the end arrive.
  bool deferred = false;

 private:
  std::string data_;
  size_t offset_ = 0;
  bool finished_ = false;
  HttpHeaders trailers_;
};

}  // namespace certgate::edge
