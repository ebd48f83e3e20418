#pragma once

#include "openssl/base.h"

namespace certgate::edge {

// SocketBio is a BIO on a non-blocking socket for a hand-driven SSL. Unlike
// BoringSSL's socket BIO, which reads a record's 5-byte header and then its
// body (two reads per record), it reads as much as the socket holds in one
// recv and serves the SSL from that. With readiness hints on, it also skips
// the recv when the socket is known to be empty: the last recv came back
// short and the event loop has not said "readable" since (MarkReadable).
// That saves the read that would only return EAGAIN after each request.
// Writes go straight to the socket (MSG_NOSIGNAL).
class SocketBio {
 public:
  // New returns a BIO on `fd` (borrowed: the caller closes it), hints off;
  // null on allocation failure.
  static bssl::UniquePtr<BIO> New(int fd);
  // Is: `bio` is a SocketBio (a driver lent an SSL checks before using the
  // calls below on its BIO).
  static bool Is(const BIO* bio);
  // UseReadinessHints turns the hints on or off. Whoever turns them on must
  // call MarkReadable whenever the loop reports the socket readable.
  static void UseReadinessHints(BIO* bio, bool on);
  // MarkReadable: the loop says the socket has something to read.
  static void MarkReadable(BIO* bio);
  // MaybeReadable: a read could return something (bytes buffered here, or
  // the socket not known to be empty).
  static bool MaybeReadable(BIO* bio);
};

}  // namespace certgate::edge
