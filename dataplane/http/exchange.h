#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "dataplane/http/header_rewriter.h"

namespace certgate::edge {

// How a request is being answered.
enum class ExchangeAction { kNone, kLocal, kProxy };

// Exchange is one request and its response on a client connection, reset
// whole between requests. The ClientConnection owns it; its UpstreamExchange
// fills in the response half when the request is forwarded.
struct Exchange {
  ExchangeAction action = ExchangeAction::kNone;
  absl::Time start;
  std::string method;
  std::string path;
  std::string host;
  std::string refusal;  // the access rule's refusal of this request, for log and origin
  bool withhold_certificate = false;  // RequestDecision's
  bool request_complete = false;
  bool request_chunked = false;
  // The client's trailers after a chunked body (rewritten), for an HTTP/2
  // origin; an HTTP/1.1 origin gets none, as from nginx.
  HttpHeaders request_trailers;
  bool head_request = false;
  // The protocol the request asks to switch to ("" for a plain request)
  // and whether the origin agreed (a 101 with Upgrade).
  std::string upgrade;
  bool switching = false;
  bool response_started = false;
  bool response_complete = false;
  bool interim_response = false;
  BodyFraming response_framing = BodyFraming::kNone;
  int status_code = 0;
  bool logged = false;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

// ClientPersistence: what the client's latest request said about the
// connection. Kept across the exchange reset: read before the next
// request's headers set it.
struct ClientPersistence {
  bool http11 = true;
  bool keep_alive = true;
};

}  // namespace certgate::edge
