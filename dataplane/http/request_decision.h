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
  // The access rule that decided (index into the zone's rules); -1: none
  // matched and the zone's mode decided.
  int rule = -1;
  // Why the rule refused (403) or would refuse (report action) a valid
  // certificate: `not_allowlisted`, `identity_mismatch:<constraint>`. ""
  // otherwise: a certificate that is not valid keeps its own reason.
  std::string refusal;
  // The matching rule refused, or in report mode would refuse, the request.
  bool rule_refuses = false;
  // A pinned certificate this request's rule does not list (RuleVerdict):
  // forwarded, if at all, as not valid, without its identity.
  bool withhold_certificate = false;
};

// DecideRequest checks one request head against the connection's zone and
// certificate status: its bytes (CheckRequestHeadBytes), exactly one Host,
// a host and optional port (IsWellFormedHost: no userinfo), belonging to
// the zone, a target whose authority (absolute form) belongs to
// the zone, then the zone's access rules (the first matching host, method
// and path decides; none: the zone's mode) against the certificate's
// verdict and identity, then an upgrade: refused (501) for h2c
// and (400) with a body or more than one Upgrade header; a local answer to
// an upgrade request always closes the connection (what the client sent
// after it need not be HTTP). `keep_alive` is what the client asked for.
// Pure: ClientConnection and the HTTP fuzzer both call it.
RequestDecision DecideRequest(const ZoneConfig& zone, const ConnectionAuth& auth,
                              absl::string_view method, absl::string_view target,
                              const HttpHeaders& headers, bool keep_alive);

}  // namespace certgate::edge
