#include "dataplane/http/ssl_buffer_write.h"

#include <event2/buffer.h>

#include <algorithm>

#include "openssl/err.h"
#include "openssl/ssl.h"

namespace certgate::edge {

SslWriteResult SslWriteBuffer(SSL* ssl, evbuffer* buf, int* ssl_error) {
  constexpr size_t kRecord = 16384;
  while (evbuffer_get_length(buf) > 0) {
    size_t len = std::min(evbuffer_get_length(buf), kRecord);
    unsigned char* data = evbuffer_pullup(buf, static_cast<ev_ssize_t>(len));
    ERR_clear_error();
    int n = SSL_write(ssl, data, static_cast<int>(len));
    if (n > 0) {
      evbuffer_drain(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl, n);
    if (ssl_error != nullptr) {
      *ssl_error = err;
    }
    return err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? SslWriteResult::kBlocked
                                                                     : SslWriteResult::kFailed;
  }
  if (ssl_error != nullptr) {
    *ssl_error = 0;
  }
  return SslWriteResult::kDone;
}

}  // namespace certgate::edge
