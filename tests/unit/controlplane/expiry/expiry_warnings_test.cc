#include "controlplane/expiry/expiry_warnings.h"

#include "common/status_macros.h"
#include "controlplane/store/store_transaction.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace certgate::controlplane {
namespace {

// The call's window, else the tenant's own, else the default; a window
// outside 0..kMaxWarnDays is refused whatever the caller.
TEST(ExpiryWarningsTest, CallThenTenantThenDefaultAndOnlyInRange) {
  SqliteStoreOptions options;
  options.path = certgate::testing::MakeTempDir("warnings") + "/store.db";
  auto store = SqliteStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)
                  ->Mutate("admin", "seed",
                           [](StoreTransaction& txn) -> absl::Status {
                             RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t1", "one", 1}));
                             RETURN_IF_ERROR(txn.InsertTenant(TenantRow{"t2", "two", 1}));
                             return txn.SetTenantSettings("t1", TenantSettingsRow{"", 7});
                           })
                  .ok());
  ExpiryWarnings warnings(store->get(), 30);
  EXPECT_EQ(warnings.WarnDays("t1", std::nullopt).value_or(-1), 7);
  EXPECT_EQ(warnings.WarnDays("t2", std::nullopt).value_or(-1), 30);
  EXPECT_EQ(warnings.WarnDays("t1", 0).value_or(-1), 0);
  EXPECT_EQ(warnings.WarnDays("t2", ExpiryWarnings::kMaxWarnDays).value_or(-1),
            ExpiryWarnings::kMaxWarnDays);
  for (int bad : {-1, ExpiryWarnings::kMaxWarnDays + 1, INT32_MIN, INT32_MAX}) {
    absl::StatusOr<int> days = warnings.WarnDays("t1", bad);
    EXPECT_EQ(days.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace certgate::controlplane
