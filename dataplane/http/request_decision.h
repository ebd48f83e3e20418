#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/handshake/tls_server.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

struct ZoneConfig;

// RequestDecision is what the edge does with one request head, before any
// byte of it reaches an origin.
struct RequestDecision {
  // 0: forward to the zone's origin. Else answer locally with this status:
  // 400 (bad bytes, Host count, target), 421 (Host or target of another
  // zone), 403 (enforce mode without a valid certificate: the zone's body).
  int status = 0;
  bool keep_alive = false;  // for a local answer: whether the connection stays open
  std::string message;      // for a local answer other than 403: why, one line
  std::string host;         // the request's host, lowercase, no port ("" before it is known)
  std::string origin_form;  // forward: the target as the origin gets it
  // forward: the Upgrade header's value when the request asks to switch
  // protocols (Upgrade plus Connection: upgrade), sent on with Connection:
  // upgrade; "" for a plain request.
  std::string upgrade;
};

// DecideRequest checks one request head against the connection's zone and
// certificate status: its bytes (CheckRequestHeadBytes), exactly one Host
// belonging to the zone, a target whose authority (absolute form) belongs to
// the zone, then the zone's mode, then an upgrade: refused (501) for h2c
// and (400) with a body or more than one Upgrade header; a local answer to
// an upgrade request always closes the connection (what the client sent
// after it need not be HTTP). `keep_alive` is what the client asked for.
// Pure: ClientConnection and the HTTP fuzzer both call it.
RequestDecision DecideRequest(const ZoneConfig& zone, CertStatus status, absl::string_view target,
                              const HttpHeaders& headers, bool keep_alive);

}  // namespace certgate::edge
