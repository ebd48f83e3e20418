#include "controlplane/expiry/zone_expiry.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

std::vector<ZoneExpiry> ZoneExpiries(const certgate::v1::Zone& zone) {
  std::vector<ZoneExpiry> out;
  auto add = [&out](const char* kind, const std::string& subject, const std::string& id,
                    int64_t expires_unix) {
    if (expires_unix != 0) {
      out.push_back(ZoneExpiry{kind, subject, id, expires_unix});
    }
  };
  for (const certgate::v1::CaCertificate& root : zone.roots()) {
    add("root", root.subject(), root.id(), root.not_after_unix());
  }
  for (const certgate::v1::CaCertificate& intermediate : zone.intermediates()) {
    add("intermediate", intermediate.subject(), intermediate.id(), intermediate.not_after_unix());
  }
  if (!zone.server_certificate().chain_pem().empty()) {
    add("server_certificate", zone.server_certificate().subject(), "",
        zone.server_certificate().not_after_unix());
  }
  if (!zone.origin_client_certificate().chain_pem().empty()) {
    add("origin_client_certificate", zone.origin_client_certificate().subject(), "",
        zone.origin_client_certificate().not_after_unix());
  }
  for (const certgate::v1::Crl& crl : zone.crls()) {
    add("crl", crl.issuer(), crl.id(), crl.next_update_unix());
  }
  return out;
}

std::vector<certgate::v1::ExpiringItem> ExpiringItems(const certgate::v1::Zone& zone,
                                                      absl::Time now, int warn_days) {
  int64_t now_unix = absl::ToUnixSeconds(now);
  int64_t horizon = now_unix + int64_t{warn_days} * 86400;
  std::vector<certgate::v1::ExpiringItem> items;
  for (const ZoneExpiry& expiry : ZoneExpiries(zone)) {
    if (expiry.expires_unix > horizon) {
      continue;
    }
    certgate::v1::ExpiringItem& item = items.emplace_back();
    item.set_hostname(zone.hostname());
    item.set_kind(expiry.kind);
    item.set_subject(expiry.subject);
    item.set_id(expiry.id);
    item.set_expires_unix(expiry.expires_unix);
    item.set_seconds_left(expiry.expires_unix - now_unix);
    item.set_expired(expiry.expires_unix <= now_unix);
  }
  SortExpiring(items);
  return items;
}

void SortExpiring(std::vector<certgate::v1::ExpiringItem>& items) {
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.expires_unix(), a.hostname(), a.kind(), a.id()) <
           std::make_tuple(b.expires_unix(), b.hostname(), b.kind(), b.id());
  });
}

std::string ExpiryEventKey(const certgate::v1::ExpiringItem& item) {
  return absl::StrCat("expiry|", item.hostname(), "|", item.kind(), "|", item.id(), "|",
                      item.expires_unix(), "|", item.expired() ? "expired" : "warn");
}

}  // namespace certgate::controlplane
