#include "dataplane/http/origin_stream.h"

#include <event2/buffer.h>

#include <algorithm>

namespace certgate::edge {

absl::StatusOr<size_t> SendBufferedBody(OriginStream& stream, evbuffer* body) {
  size_t total = 0;
  while (evbuffer_get_length(body) > 0) {
    size_t space = stream.SendSpace();
    if (space == 0) {
      break;  // OnOriginWritable comes when it grows
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(body, -1, nullptr, &vec, 1) < 1) {
      break;
    }
    size_t n = std::min(space, vec.iov_len);
    absl::Status sent = stream.SendData(absl::string_view(static_cast<char*>(vec.iov_base), n));
    if (absl::IsResourceExhausted(sent)) {
      break;
    }
    if (!sent.ok()) {
      return sent;
    }
    evbuffer_drain(body, n);
    total += n;
  }
  return total;
}

}  // namespace certgate::edge
