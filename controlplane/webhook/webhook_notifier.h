#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/origin_policy.h"
#include "controlplane/store/rows.h"
#include "controlplane/store/sqlite_store.h"
#include "controlplane/webhook/webhook_client.h"
#include "google/protobuf/struct.pb.h"

namespace certgate::controlplane {

struct WebhookNotifierOptions {
  // The warning window of tenants that set none (--warn-days).
  int default_warn_days = 30;
  // How often every webhook tenant's zones are checked for expiry.
  absl::Duration scan_interval = absl::Minutes(5);
  // Delay before the first retry of a failed POST; doubled each time up to
  // max_retry_delay. After max_attempts the event is dropped (an expiry
  // event is queued again by the next scan, as it was never recorded sent).
  absl::Duration first_retry_delay = absl::Seconds(2);
  absl::Duration max_retry_delay = absl::Minutes(10);
  int max_attempts = 8;
  // Checks webhook URLs read from the store, literal addresses included.
  OriginPolicy policy;
};

// WebhookNotifier POSTs tenants' events to their webhooks from a thread of
// its own: certificate_expiring (found by a periodic scan of the tenant's
// zones), zone_verified, zone_verification_failed and edge_zone_failure
// (handed in by Notify). An event with a key is sent at most once: its key is
// recorded in the store after a 2xx answer and never queued again, across
// restarts. A failed POST (no answer, or not 2xx) is retried with backoff.
class WebhookNotifier {
 public:
  WebhookNotifier(SqliteStore* store, WebhookClient* client, WebhookNotifierOptions options)
      : store_(store), client_(client), options_(std::move(options)) {}
  ~WebhookNotifier() { Stop(); }
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  void Start();
  void Stop();

  // Notify queues one event for `tenant_id`'s webhook, if it has one.
  // `key`: empty, or what makes it sent at most once.
  void Notify(const std::string& tenant_id, const std::string& type, const std::string& hostname,
              google::protobuf::Struct details, const std::string& key);

  // The events other parts report (each sent at most once per key):
  // ZoneVerified when a zone became active (`how`: dns, admin, off);
  // ZoneVerificationFailed when its DNS check failed (once per distinct
  // reason and challenge); EdgeZoneFailure when an edge could not build one
  // of the tenant's zones (once per edge, zone and error).
  void ZoneVerified(const ZoneRow& zone, const std::string& how);
  void ZoneVerificationFailed(const ZoneRow& zone, const std::string& error);
  void EdgeZoneFailure(const std::string& node_id, uint64_t version, uint64_t zone_id,
                       const std::string& error);

  // ScanExpiry queues certificate_expiring for every webhook tenant's item
  // inside its window not yet sent; returns how many it queued.
  int ScanExpiry();

  // Sent: events delivered since start (for logs and tests).
  int64_t sent() const;

 private:
  struct Pending {
    std::string tenant_id;
    std::string key;
    std::string body;  // the JSON event
    int attempts = 0;
    absl::Time next_attempt;
  };

  void Run();
  // DeliverDue posts every event whose time has come; returns when the next
  // one is due (InfiniteFuture when none is queued).
  absl::Time DeliverDue();
  // Deliver: OK when the tenant's webhook answered 2xx (or it has none now).
  absl::Status Deliver(const Pending& event);
  // Enqueue: false when its key is queued already.
  bool Enqueue(Pending event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SqliteStore* store_;
  WebhookClient* client_;
  const WebhookNotifierOptions options_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> queued_keys_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread loop_;
};

}  // namespace certgate::controlplane
