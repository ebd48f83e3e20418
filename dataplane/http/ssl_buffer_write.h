#pragma once

#include <cstddef>

#include "openssl/base.h"

struct evbuffer;

namespace certgate::edge {

enum class SslWriteResult {
  kDone,     // the buffer is empty
  kBlocked,  // the socket would block (SSL wants it writable, or readable)
  kFailed,   // the connection failed; see the SSL_get_error code
};

// SslWriteBuffer encrypts and sends the front of `buf` on a non-blocking
// SSL, at most one record (16 KiB) per SSL_write, draining what was sent,
// until the buffer is empty, the socket would block or the connection
// fails. `ssl_error`, when given, gets the last SSL_get_error code (0 when
// done). The SSL must allow moving write buffers
// (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER): a retry may come from a buffer
// that evbuffer_pullup moved.
SslWriteResult SslWriteBuffer(SSL* ssl, evbuffer* buf, int* ssl_error = nullptr);

}  // namespace certgate::edge
