#include "dataplane/http/request_decision.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/names.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/request_target.h"

namespace certgate::edge {

namespace {

bool ListsH2c(absl::string_view upgrade) {
  for (absl::string_view token : absl::StrSplit(upgrade, ',')) {
    token = absl::StripAsciiWhitespace(token);
    // A protocol may carry a version: "h2c/..." is still h2c.
    absl::string_view name = token.substr(0, token.find('/'));
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(name), "h2c")) {
      return true;
    }
  }
  return false;
}

}  // namespace

RequestDecision DecideRequest(const ZoneConfig& zone, const ConnectionAuth& auth,
                              absl::string_view method, absl::string_view target,
                              const HttpHeaders& headers, bool keep_alive) {
  RequestDecision out;
  auto answer = [&out](int code, std::string message, bool keep) {
    out.status = code;
    out.message = std::move(message);
    out.keep_alive = keep;
    return out;
  };
  // Whatever follows an upgrade request may be another protocol: a local
  // answer to one never leaves the connection open for a next request.
  bool upgrade = CountHeader(headers, "upgrade") > 0 && ConnectionListsToken(headers, "upgrade");
  if (upgrade) {
    keep_alive = false;
  }
  if (absl::Status bytes = CheckRequestHeadBytes(target, headers); !bytes.ok()) {
    return answer(400, std::string(bytes.message()), false);
  }
  int host_count = CountHeader(headers, "host");
  if (host_count != 1) {
    return answer(400, host_count == 0 ? "missing Host header" : "more than one Host header",
                  false);
  }
  const std::string& host = *FindHeader(headers, "host");
  if (!IsWellFormedHost(host)) {
    return answer(400, "Host is not a host and optional port", false);
  }
  out.host = HostWithoutPort(host);
  if (!HostnameMatchesZone(out.host, zone.hostname)) {
    return answer(421,
                  absl::StrCat("host \"", out.host,
                               "\" is not served on this connection (TLS server name "
                               "belongs to another zone)"),
                  keep_alive);
  }
  // An absolute-form target names its own authority, which an origin may route
  // by: it must belong to this zone too, and the origin gets the origin form.
  absl::StatusOr<RequestTarget> parsed = ParseRequestTarget(target);
  if (!parsed.ok()) {
    return answer(400, std::string(parsed.status().message()), false);
  }
  if (!parsed->host.empty() && !HostnameMatchesZone(parsed->host, zone.hostname)) {
    return answer(
        421,
        absl::StrCat("request target host \"", parsed->host, "\" is not served on this connection"),
        keep_alive);
  }
  bool valid = auth.status == CertStatus::kValid;
  RuleVerdict verdict;
  if (zone.access != nullptr) {
    verdict = zone.access->Evaluate(zone.mode, out.host, method, parsed->origin_form, valid,
                                    auth.reason, auth.pinned, auth.identity.get());
  } else {
    verdict.action = zone.mode == v1::MODE_ENFORCE ? v1::RULE_ACTION_ENFORCE : v1::RULE_ACTION_OFF;
    verdict.refusal = valid ? "" : "invalid";
  }
  out.rule = verdict.rule;
  out.rule_refuses = verdict.action != v1::RULE_ACTION_OFF && !verdict.refusal.empty();
  if (valid) {
    out.refusal = verdict.refusal;
  }
  out.withhold_certificate = verdict.unvouched;
  if (verdict.unvouched && out.refusal.empty()) {
    out.refusal = "not_allowlisted";  // an off action: nothing refused, nothing vouched
  }
  if (verdict.action == v1::RULE_ACTION_ENFORCE && !verdict.refusal.empty()) {
    return answer(403, "a valid client certificate is required", keep_alive);
  }
  if (upgrade) {
    if (CountHeader(headers, "upgrade") != 1) {
      return answer(400, "more than one Upgrade header", false);
    }
    const std::string& protocols = *FindHeader(headers, "upgrade");
    if (ListsH2c(protocols)) {
      return answer(501, "h2c upgrades are not supported", false);
    }
    // A body would be read as HTTP by the origin if it refuses the switch and
    // as the new protocol if it accepts: refused, so the two never disagree.
    if (CountHeader(headers, "content-length") > 0 ||
        CountHeader(headers, "transfer-encoding") > 0) {
      return answer(400, "an Upgrade request cannot carry a body", false);
    }
    if (absl::StripAsciiWhitespace(protocols).empty()) {
      return answer(400, "empty Upgrade header", false);
    }
    out.upgrade = std::string(absl::StripAsciiWhitespace(protocols));
  }
  out.origin_form = std::move(parsed->origin_form);
  return out;
}

}  // namespace certgate::edge
