#include "dataplane/http/request_decision.h"

#include "absl/strings/str_cat.h"
#include "common/names.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/header_rewriter.h"
#include "dataplane/http/request_target.h"

namespace certgate::edge {

RequestDecision DecideRequest(const ZoneConfig& zone, CertStatus status, absl::string_view target,
                              const HttpHeaders& headers, bool keep_alive) {
  RequestDecision out;
  auto answer = [&out](int code, std::string message, bool keep) {
    out.status = code;
    out.message = std::move(message);
    out.keep_alive = keep;
    return out;
  };
  if (absl::Status bytes = CheckRequestHeadBytes(target, headers); !bytes.ok()) {
    return answer(400, std::string(bytes.message()), false);
  }
  int host_count = CountHeader(headers, "host");
  if (host_count != 1) {
    return answer(400, host_count == 0 ? "missing Host header" : "more than one Host header",
                  false);
  }
  out.host = HostWithoutPort(*FindHeader(headers, "host"));
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
  if (zone.mode == v1::MODE_ENFORCE && status != CertStatus::kValid) {
    return answer(403, "a valid client certificate is required", keep_alive);
  }
  out.origin_form = std::move(parsed->origin_form);
  return out;
}

}  // namespace certgate::edge
