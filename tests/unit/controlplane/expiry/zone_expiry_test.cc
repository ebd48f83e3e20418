#include "controlplane/expiry/zone_expiry.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace certgate::controlplane {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

certgate::v1::Zone ZoneWithEverything() {
  certgate::v1::Zone zone;
  zone.set_hostname("a.example");
  auto* root = zone.add_roots();
  root->set_id("r1");
  root->set_subject("CN=Root");
  root->set_not_after_unix(kNow + 10 * kDay);
  auto* old_root = zone.add_roots();
  old_root->set_id("r0");
  old_root->set_subject("CN=Old");
  old_root->set_not_after_unix(kNow - 2 * kDay);
  auto* intermediate = zone.add_intermediates();
  intermediate->set_id("i1");
  intermediate->set_subject("CN=Inter");
  intermediate->set_not_after_unix(kNow + 100 * kDay);
  zone.mutable_server_certificate()->set_chain_pem("pem");
  zone.mutable_server_certificate()->set_subject("CN=a.example");
  zone.mutable_server_certificate()->set_not_after_unix(kNow + 29 * kDay);
  zone.mutable_origin_client_certificate()->set_chain_pem("pem");
  zone.mutable_origin_client_certificate()->set_subject("CN=origin");
  zone.mutable_origin_client_certificate()->set_not_after_unix(kNow + 31 * kDay);
  auto* crl = zone.add_crls();
  crl->set_id("c1");
  crl->set_issuer("CN=Root");
  crl->set_next_update_unix(kNow + 1);
  auto* crl_without_next = zone.add_crls();
  crl_without_next->set_id("c2");
  crl_without_next->set_next_update_unix(0);
  return zone;
}

TEST(ZoneExpiryTest, ListsEveryDatedItemByKind) {
  std::vector<ZoneExpiry> all = ZoneExpiries(ZoneWithEverything());
  std::vector<std::string> kinds;
  for (const ZoneExpiry& expiry : all) {
    kinds.push_back(expiry.kind + ":" + expiry.id);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       "root:r1", "root:r0", "intermediate:i1",
                       "server_certificate:", "origin_client_certificate:", "crl:c1"}));
}

TEST(ZoneExpiryTest, NoServerCertificateYetIsNotListed) {
  certgate::v1::Zone zone;
  zone.mutable_server_certificate()->set_not_after_unix(kNow);
  EXPECT_TRUE(ZoneExpiries(zone).empty());
}

TEST(ZoneExpiryTest, WindowIncludesExpiredSoonestFirst) {
  std::vector<certgate::v1::ExpiringItem> items =
      ExpiringItems(ZoneWithEverything(), absl::FromUnixSeconds(kNow), 30);
  std::vector<std::string> order;
  for (const auto& item : items) {
    order.push_back(item.kind() + ":" + item.id());
    EXPECT_EQ(item.hostname(), "a.example");
    EXPECT_EQ(item.seconds_left(), item.expires_unix() - kNow);
    EXPECT_EQ(item.expired(), item.expires_unix() <= kNow);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"root:r0", "crl:c1", "root:r1", "server_certificate:"}));
  EXPECT_TRUE(items[0].expired());
  // A zero-day window: only what has expired.
  items = ExpiringItems(ZoneWithEverything(), absl::FromUnixSeconds(kNow), 0);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id(), "r0");
}

TEST(ZoneExpiryTest, EventKeyChangesWithThresholdAndDate) {
  certgate::v1::ExpiringItem item;
  item.set_hostname("a.example");
  item.set_kind("root");
  item.set_id("r1");
  item.set_expires_unix(kNow);
  std::string warn = ExpiryEventKey(item);
  item.set_expired(true);
  std::string expired = ExpiryEventKey(item);
  EXPECT_NE(warn, expired);
  item.set_expires_unix(kNow + 1);  // a replacement with a new date
  EXPECT_NE(ExpiryEventKey(item), expired);
}

}  // namespace
}  // namespace certgate::controlplane
