#include "controlplane/webhook/webhook_notifier.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "controlplane/store/store_transaction.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tests/unit/controlplane/webhook/test_receiver.h"

namespace certgate::controlplane {
namespace {

// A store with tenant t1 whose webhook is `url`.
std::unique_ptr<SqliteStore> StoreWithWebhook(const std::string& url) {
  SqliteStoreOptions options;
  options.path = certgate::testing::MakeTempDir("notifier") + "/store.db";
  auto store = SqliteStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  auto made = (*store)->Mutate("admin", "seed", [&](StoreTransaction& txn) -> absl::Status {
    RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t1", "acme \"corp\"\n", 1}));
    return txn.SetTenantSettings("t1", TenantSettingsRow{url, std::nullopt});
  });
  EXPECT_TRUE(made.ok()) << made.status();
  return std::move(*store);
}

bool WasSent(SqliteStore& store, const std::string& key) {
  bool sent = false;
  EXPECT_TRUE(store
                  .Read([&](StoreTransaction& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(sent, txn.WebhookSent("t1", key));
                    return absl::OkStatus();
                  })
                  .ok());
  return sent;
}

// Whatever the strings hold (quotes, backslashes, newlines, a closing brace),
// the receiver gets one JSON object whose fields read back exactly.
TEST(WebhookNotifierTest, EventsAreJsonWhateverTheirStrings) {
  absl::Mutex mu;
  std::vector<std::string> bodies;
  Receiver receiver([&](int fd, const std::string& request) {
    absl::MutexLock lock(&mu);
    bodies.push_back(request.substr(request.find("\r\n\r\n") + 4));
    SendAll(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  });
  OriginPolicy policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  auto store = StoreWithWebhook(absl::StrCat("http://127.0.0.1:", receiver.port(), "/h"));
  WebhookClientOptions client_options;
  client_options.policy = policy;
  client_options.timeout = absl::Seconds(5);
  auto client = WebhookClient::Create(client_options);
  ASSERT_TRUE(client.ok());
  WebhookNotifierOptions options;
  options.policy = policy;
  options.scan_interval = absl::Hours(1);
  WebhookNotifier notifier(store.get(), client->get(), options);
  notifier.Start();
  const std::string hostile = "x\"}, \"injected\": 1, \"y\": \"\\\n\r\t\x01";
  google::protobuf::Struct details;
  (*details.mutable_fields())["error"].set_string_value(hostile);
  notifier.Notify("t1", "edge_zone_failure", hostile, details, "key-1");
  ASSERT_TRUE(certgate::testing::WaitFor([&] { return notifier.sent() == 1; }, absl::Seconds(10)));
  notifier.Stop();

  absl::MutexLock lock(&mu);
  ASSERT_EQ(bodies.size(), 1u);
  google::protobuf::Struct event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(bodies[0], &event).ok()) << bodies[0];
  EXPECT_EQ(bodies[0].find('\n'), std::string::npos) << bodies[0];
  EXPECT_EQ(event.fields().count("injected"), 0u);
  EXPECT_EQ(event.fields().at("tenant").string_value(), "acme \"corp\"\n");
  EXPECT_EQ(event.fields().at("hostname").string_value(), hostile);
  EXPECT_EQ(event.fields().at("details").struct_value().fields().at("error").string_value(),
            hostile);
  EXPECT_TRUE(WasSent(*store, "key-1"));
}

// A redirect is not a delivery: the event is retried, never recorded sent,
// and the place it points to is never contacted.
TEST(WebhookNotifierTest, ARedirectIsRetriedNotRecorded) {
  Receiver elsewhere(
      [](int fd, const std::string&) { SendAll(fd, "HTTP/1.1 204 No Content\r\n\r\n"); });
  std::string location = absl::StrCat("http://127.0.0.1:", elsewhere.port(), "/");
  Receiver redirecting([&](int fd, const std::string&) {
    SendAll(fd, absl::StrCat("HTTP/1.1 301 Moved\r\nLocation: ", location, "\r\n\r\n"));
  });
  OriginPolicy policy = OriginPolicy::Create({"127.0.0.0/8"}).value();
  auto store = StoreWithWebhook(absl::StrCat("http://127.0.0.1:", redirecting.port(), "/h"));
  auto client = WebhookClient::Create(WebhookClientOptions{policy, "", absl::Seconds(5)});
  ASSERT_TRUE(client.ok());
  WebhookNotifierOptions options;
  options.policy = policy;
  options.scan_interval = absl::Hours(1);
  options.first_retry_delay = absl::Milliseconds(50);
  options.max_attempts = 3;
  WebhookNotifier notifier(store.get(), client->get(), options);
  notifier.Start();
  notifier.Notify("t1", "zone_verified", "a.example", google::protobuf::Struct(), "key-2");
  ASSERT_TRUE(
      certgate::testing::WaitFor([&] { return redirecting.accepted() >= 3; }, absl::Seconds(10)));
  notifier.Stop();
  EXPECT_EQ(notifier.sent(), 0);
  EXPECT_EQ(elsewhere.accepted(), 0);
  EXPECT_FALSE(WasSent(*store, "key-2"));
}

}  // namespace
}  // namespace certgate::controlplane
