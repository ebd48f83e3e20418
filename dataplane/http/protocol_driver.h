#pragma once

#include <functional>
#include <memory>
#include <string>

#include "openssl/base.h"

namespace certgate::edge {

struct ConnectionAuth;
struct WorkerContext;

// ProtocolDriver serves a client connection after its TLS handshake in a
// protocol other than HTTP/1.1 (HTTP/2, chosen by ALPN). The connection
// keeps the socket and the SSL and lends them; the driver reads, writes and
// answers on its own events until it calls `on_end`. It lives in a layer
// above this one (dataplane/http2): the worker hands ClientConnection a
// factory (WorkerContext::http2_driver), so this layer never includes it.
class ProtocolDriver {
 public:
  // What the connection lends the driver; everything outlives it.
  struct Connection {
    WorkerContext* ctx = nullptr;
    SSL* ssl = nullptr;  // handshake done, moving write buffers allowed
    int fd = -1;
    ConnectionAuth* auth = nullptr;  // owned by ssl; its zone is set
    std::string client_ip;
    // The driver is done: the connection closes (and Stop follows). Never
    // called from Start.
    std::function<void()> on_end;
  };

  virtual ~ProtocolDriver() = default;
  // Start begins serving (the client may have sent bytes already).
  virtual void Start() = 0;
  // Drain: the worker is stopping; finish what is under way, accept nothing
  // new, then end.
  virtual void Drain() = 0;
  // Stop releases the driver's events and origin connections at once; the
  // connection frees the driver later, never from its own callback.
  virtual void Stop() = 0;
};

using ProtocolDriverFactory =
    std::function<std::unique_ptr<ProtocolDriver>(ProtocolDriver::Connection connection)>;

}  // namespace certgate::edge
