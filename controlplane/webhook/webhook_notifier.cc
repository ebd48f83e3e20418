#include "controlplane/webhook/webhook_notifier.h"

#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/expiry/zone_expiry.h"
#include "controlplane/store/store_transaction.h"
#include "google/protobuf/util/json_util.h"

namespace certgate::controlplane {

namespace {

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

google::protobuf::Struct ExpiryDetails(const certgate::v1::ExpiringItem& item) {
  google::protobuf::Struct details;
  auto& fields = *details.mutable_fields();
  fields["kind"].set_string_value(item.kind());
  fields["subject"].set_string_value(item.subject());
  fields["id"].set_string_value(item.id());
  fields["expires"].set_string_value(Rfc3339(absl::FromUnixSeconds(item.expires_unix())));
  fields["expires_unix"].set_number_value(static_cast<double>(item.expires_unix()));
  fields["seconds_left"].set_number_value(static_cast<double>(item.seconds_left()));
  fields["expired"].set_bool_value(item.expired());
  return details;
}

}  // namespace

void WebhookNotifier::Start() {
  loop_ = std::thread([this] { Run(); });
}

void WebhookNotifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) {
    loop_.join();
  }
}

int64_t WebhookNotifier::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

bool WebhookNotifier::Enqueue(Pending event) {
  if (!event.key.empty() && !queued_keys_.insert(event.tenant_id + "\n" + event.key).second) {
    return false;
  }
  queue_.push_back(std::move(event));
  wake_ = true;
  return true;
}

void WebhookNotifier::Notify(const std::string& tenant_id, const std::string& type,
                             const std::string& hostname, google::protobuf::Struct details,
                             const std::string& key) {
  std::string tenant_name;
  bool wanted = false;
  absl::Status read = store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(TenantSettingsRow settings, txn.TenantSettings(tenant_id));
    if (settings.webhook_url.empty()) {
      return absl::OkStatus();
    }
    if (!key.empty()) {
      ASSIGN_OR_RETURN(bool sent, txn.WebhookSent(tenant_id, key));
      if (sent) {
        return absl::OkStatus();
      }
    }
    ASSIGN_OR_RETURN(TenantRow tenant, txn.FindTenant(tenant_id));
    tenant_name = tenant.name;
    wanted = true;
    return absl::OkStatus();
  });
  if (!read.ok() || !wanted) {
    return;
  }
  google::protobuf::Struct event;
  auto& fields = *event.mutable_fields();
  fields["type"].set_string_value(type);
  fields["tenant"].set_string_value(tenant_name);
  fields["hostname"].set_string_value(hostname);
  fields["time"].set_string_value(Rfc3339(absl::Now()));
  *fields["details"].mutable_struct_value() = std::move(details);
  std::string body;
  if (!google::protobuf::util::MessageToJsonString(event, &body).ok()) {
    return;
  }
  absl::MutexLock lock(&mu_);
  Enqueue(Pending{tenant_id, key, std::move(body), 0, absl::Now()});
}

void WebhookNotifier::ZoneVerified(const ZoneRow& zone, const std::string& how) {
  google::protobuf::Struct details;
  (*details.mutable_fields())["verified_by"].set_string_value(how);
  Notify(zone.tenant_id, "zone_verified", zone.zone.hostname(), std::move(details),
         absl::StrCat("verified|", zone.id, "|", zone.verified_unix));
}

void WebhookNotifier::ZoneVerificationFailed(const ZoneRow& zone, const std::string& error) {
  google::protobuf::Struct details;
  (*details.mutable_fields())["error"].set_string_value(error);
  Notify(zone.tenant_id, "zone_verification_failed", zone.zone.hostname(), std::move(details),
         absl::StrCat("verify_failed|", zone.id, "|", zone.challenge_token, "|", error));
}

void WebhookNotifier::EdgeZoneFailure(const std::string& node_id, uint64_t version,
                                      uint64_t zone_id, const std::string& error) {
  std::optional<ZoneRow> zone;
  absl::Status read = store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(zone, txn.FindZoneById(static_cast<int64_t>(zone_id)));
    return absl::OkStatus();
  });
  if (!read.ok() || !zone.has_value()) {
    return;  // deleted meanwhile: nobody to tell
  }
  google::protobuf::Struct details;
  auto& fields = *details.mutable_fields();
  fields["node_id"].set_string_value(node_id);
  fields["config_version"].set_number_value(static_cast<double>(version));
  fields["error"].set_string_value(error);
  Notify(zone->tenant_id, "edge_zone_failure", zone->zone.hostname(), std::move(details),
         absl::StrCat("edge_failure|", node_id, "|", zone_id, "|", error));
}

int WebhookNotifier::ScanExpiry() {
  struct Found {
    std::string tenant_id;
    certgate::v1::ExpiringItem item;
  };
  std::vector<Found> found;
  absl::Time now = absl::Now();
  absl::Status read = store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(auto tenants, txn.WebhookTenants());
    for (const auto& [tenant_id, settings] : tenants) {
      int warn_days = settings.warn_days.value_or(options_.default_warn_days);
      ASSIGN_OR_RETURN(std::vector<ZoneRow> zones, txn.ListZones(tenant_id));
      for (const ZoneRow& zone : zones) {
        for (certgate::v1::ExpiringItem& item : ExpiringItems(zone.zone, now, warn_days)) {
          ASSIGN_OR_RETURN(bool sent, txn.WebhookSent(tenant_id, ExpiryEventKey(item)));
          if (!sent) {
            found.push_back(Found{tenant_id, std::move(item)});
          }
        }
      }
    }
    return absl::OkStatus();
  });
  if (!read.ok()) {
    std::fprintf(stderr, "certgate-control: webhook expiry scan: %s\n",
                 std::string(read.message()).c_str());
    return 0;
  }
  int queued = 0;
  for (Found& entry : found) {
    std::string key = ExpiryEventKey(entry.item);
    {
      absl::MutexLock lock(&mu_);
      if (queued_keys_.contains(entry.tenant_id + "\n" + key)) {
        continue;
      }
    }
    Notify(entry.tenant_id, "certificate_expiring", entry.item.hostname(),
           ExpiryDetails(entry.item), key);
    ++queued;
  }
  return queued;
}

absl::Status WebhookNotifier::Deliver(const Pending& event) {
  TenantSettingsRow settings;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(settings, txn.TenantSettings(event.tenant_id));
    return absl::OkStatus();
  }));
  if (settings.webhook_url.empty()) {
    return absl::OkStatus();  // removed since: nothing to send
  }
  ASSIGN_OR_RETURN(WebhookUrl url, WebhookUrl::Parse(settings.webhook_url, options_.policy));
  ASSIGN_OR_RETURN(int code, client_->Post(url, event.body));
  if (code < 200 || code > 299) {
    return absl::UnavailableError(absl::StrCat("webhook ", url.Origin(), " answered HTTP ", code));
  }
  if (!event.key.empty()) {
    RETURN_IF_ERROR(store_->Write([&](StoreTransaction& txn) {
      return txn.RecordWebhookSent(event.tenant_id, event.key, absl::ToUnixSeconds(absl::Now()));
    }));
  }
  return absl::OkStatus();
}

absl::Time WebhookNotifier::DeliverDue() {
  while (true) {
    Pending event;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return absl::InfiniteFuture();
      }
      absl::Time now = absl::Now();
      auto due = queue_.end();
      absl::Time next = absl::InfiniteFuture();
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->next_attempt <= now) {
          due = it;
          break;
        }
        next = std::min(next, it->next_attempt);
      }
      if (due == queue_.end()) {
        return next;
      }
      event = std::move(*due);
      queue_.erase(due);
    }
    absl::Status delivered = Deliver(event);
    absl::MutexLock lock(&mu_);
    if (delivered.ok()) {
      ++sent_;
      queued_keys_.erase(event.tenant_id + "\n" + event.key);
      continue;
    }
    ++event.attempts;
    if (event.attempts >= options_.max_attempts) {
      std::fprintf(stderr, "certgate-control: webhook of tenant %s: giving up after %d tries: %s\n",
                   event.tenant_id.c_str(), event.attempts,
                   std::string(delivered.message()).c_str());
      queued_keys_.erase(event.tenant_id + "\n" + event.key);
      continue;
    }
    absl::Duration delay = options_.first_retry_delay;
    for (int i = 1; i < event.attempts && delay < options_.max_retry_delay; ++i) {
      delay *= 2;
    }
    delay = std::min(delay, options_.max_retry_delay);
    std::fprintf(stderr, "certgate-control: webhook of tenant %s: %s; retry in %s\n",
                 event.tenant_id.c_str(), std::string(delivered.message()).c_str(),
                 absl::FormatDuration(delay).c_str());
    event.next_attempt = absl::Now() + delay;
    queue_.push_back(std::move(event));
  }
}

void WebhookNotifier::Run() {
  absl::Time next_scan = absl::Now();
  while (true) {
    if (absl::Now() >= next_scan) {
      ScanExpiry();
      next_scan = absl::Now() + options_.scan_interval;
    }
    absl::Time next_delivery = DeliverDue();
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
    mu_.AwaitWithDeadline(absl::Condition(&woken), std::min(next_scan, next_delivery));
    wake_ = false;
    if (stopping_) {
      return;
    }
  }
}

}  // namespace certgate::controlplane
