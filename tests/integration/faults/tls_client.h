#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "openssl/ssl.h"

namespace certgate::faults {

// TlsClient is one blocking TLS connection to 127.0.0.1 (BoringSSL, no
// server certificate check: these tests are about what happens after the
// handshake). Every read and write is bounded by `io_timeout`.
class TlsClient {
 public:
  // Connect opens a TCP connection to 127.0.0.1:port and completes a TLS
  // handshake with `sni` as the server name, presenting `cert` (with `key`)
  // when both are given.
  static absl::StatusOr<std::unique_ptr<TlsClient>> Connect(
      int port, const std::string& sni, absl::Duration io_timeout = absl::Seconds(10),
      X509* cert = nullptr, EVP_PKEY* key = nullptr);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Write sends all of `data`; false once the peer has closed or reset.
  bool Write(const std::string& data);
  // ReadResponse reads one HTTP/1.1 response (status line, headers and a
  // Content-Length body). Returns the raw bytes read so far when the peer
  // closes early; an empty string on a clean close before any byte;
  // DEADLINE_EXCEEDED when nothing more arrives within the io timeout.
  absl::StatusOr<std::string> ReadResponse();
  // ReadUntilClosed: everything until the peer closes (or resets), at most
  // `timeout`. DEADLINE_EXCEEDED if it stays open.
  absl::StatusOr<std::string> ReadUntilClosed(absl::Duration timeout);
  // Closed: the peer closed the connection (a read returns EOF or an error
  // without waiting longer than `timeout`).
  bool ClosedWithin(absl::Duration timeout);
  // ReadableWithin: the peer sent application data (or closed) within
  // `timeout`.
  bool ReadableWithin(absl::Duration timeout);

 private:
  TlsClient(int fd, bssl::UniquePtr<SSL> ssl, absl::Duration io_timeout)
      : fd_(fd), ssl_(std::move(ssl)), io_timeout_(io_timeout) {}
  // ReadSome: >0 bytes read, 0 on close/reset, -1 on timeout.
  int ReadSome(char* buf, int len);

  int fd_;
  bssl::UniquePtr<SSL> ssl_;
  absl::Duration io_timeout_;
  std::string pending_;  // read past the end of the previous response
};

// StatusCode returns the status of a raw HTTP response ("HTTP/1.1 502 ..."),
// or 0 when it has none.
int StatusCode(const std::string& response);

}  // namespace certgate::faults
