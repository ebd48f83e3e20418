#include "dataplane/http2/http2_outbox.h"

#include <algorithm>
#include <cstring>

namespace certgate::edge {

void Http2Outbox::Append(absl::string_view data) {
  // Reclaim what was already taken before growing, so that a long stream
  // keeps at most what is still queued plus one append.
  if (offset_ > 0 && offset_ >= data_.size() / 2) {
    data_.erase(0, offset_);
    offset_ = 0;
  }
  data_.append(data.data(), data.size());
}

void Http2Outbox::Finish(HttpHeaders trailers) {
  finished_ = true;
  trailers_ = std::move(trailers);
}

size_t Http2Outbox::Take(uint8_t* out, size_t max) {
  size_t n = std::min(max, buffered());
  if (n > 0) {
    std::memcpy(out, data_.data() + offset_, n);
    offset_ += n;
  }
  if (offset_ == data_.size()) {
    data_.clear();
    offset_ = 0;
  }
  return n;
}

}  // namespace certgate::edge
