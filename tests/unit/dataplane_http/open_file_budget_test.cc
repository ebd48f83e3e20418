#include "dataplane/server/open_file_budget.h"

#include <sys/resource.h>

#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

TEST(OpenFileBudgetTest, TwoDescriptorsPerConnectionAfterAReserve) {
  // 65536 descriptors, 256 reserved, two per connection, over 4 workers.
  EXPECT_EQ(ConnectionsPerWorker(65536, 4), (65536 - 256) / 2 / 4);
  EXPECT_EQ(ConnectionsPerWorker(65536, 1), (65536 - 256) / 2);
  // A small limit still leaves room for the reserve's half.
  EXPECT_EQ(ConnectionsPerWorker(400, 1), 100u);
  // Never zero: a zero would mean "no limit" to the worker.
  EXPECT_EQ(ConnectionsPerWorker(8, 64), 1u);
  EXPECT_EQ(ConnectionsPerWorker(0, 1), 1u);
  EXPECT_EQ(ConnectionsPerWorker(65536, 0), (65536 - 256) / 2);
}

TEST(OpenFileBudgetTest, RaisesTheSoftLimitToTheHardLimit) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  size_t limit = RaiseOpenFileLimit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, after.rlim_max);
  EXPECT_GE(after.rlim_cur, before.rlim_cur);
  if (after.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(limit, after.rlim_cur);
  }
}

}  // namespace
}  // namespace certgate::edge
