#include "dataplane/tls/verification_cache.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

CachedVerdict Verdict(bool valid, int64_t expires, const std::string& reason = "") {
  CachedVerdict verdict;
  verdict.valid = valid;
  verdict.reason = reason;
  verdict.expires_unix = expires;
  return verdict;
}

TEST(VerificationCacheTest, HitAndMiss) {
  VerificationCache cache(100, 4);
  EXPECT_FALSE(cache.Lookup("hash", 1, 1, 1000).has_value());
  cache.Insert("hash", 1, 1, Verdict(false, 2000, "bad_signature"));
  auto hit = cache.Lookup("hash", 1, 1, 1000);
  ASSERT_TRUE(hit.has_value());
  EXPECT_FALSE(hit->valid);
  EXPECT_EQ(hit->reason, "bad_signature");
  // Another zone or another trust version of the zone is another key.
  EXPECT_FALSE(cache.Lookup("hash", 2, 1, 1000).has_value());
  EXPECT_FALSE(cache.Lookup("hash", 1, 2, 1000).has_value());
  EXPECT_FALSE(cache.Lookup("other", 1, 1, 1000).has_value());
  VerificationCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 4u);
  EXPECT_EQ(stats.size, 1u);
}

TEST(VerificationCacheTest, ExpiredEntryIsAMissAndIsDropped) {
  VerificationCache cache(10, 1);
  cache.Insert("hash", 1, 1, Verdict(true, 2000));
  EXPECT_TRUE(cache.Lookup("hash", 1, 1, 1999).has_value());
  EXPECT_FALSE(cache.Lookup("hash", 1, 1, 2000).has_value());
  EXPECT_EQ(cache.Stats().size, 0u);
  EXPECT_FALSE(cache.Lookup("hash", 1, 1, 1000).has_value());
}

TEST(VerificationCacheTest, EvictsTheLeastRecentlyUsed) {
  VerificationCache cache(2, 1);
  cache.Insert("a", 1, 1, Verdict(true, 100));
  cache.Insert("b", 1, 1, Verdict(true, 100));
  ASSERT_TRUE(cache.Lookup("a", 1, 1, 0).has_value());  // b is now the oldest
  cache.Insert("c", 1, 1, Verdict(true, 100));
  EXPECT_TRUE(cache.Lookup("a", 1, 1, 0).has_value());
  EXPECT_FALSE(cache.Lookup("b", 1, 1, 0).has_value());
  EXPECT_TRUE(cache.Lookup("c", 1, 1, 0).has_value());
  EXPECT_EQ(cache.Stats().evictions, 1u);
  EXPECT_EQ(cache.Stats().size, 2u);
}

TEST(VerificationCacheTest, InsertReplacesAnExistingVerdict) {
  VerificationCache cache(2, 1);
  cache.Insert("a", 1, 1, Verdict(true, 100));
  cache.Insert("a", 1, 1, Verdict(false, 100, "revoked"));
  EXPECT_EQ(cache.Stats().size, 1u);
  EXPECT_EQ(cache.Lookup("a", 1, 1, 0)->reason, "revoked");
}

TEST(VerificationCacheTest, ShardsBoundTheSizeAndSpreadTheKeys) {
  VerificationCache cache(64, 8);
  EXPECT_EQ(cache.Capacity(), 64u);
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(absl::StrCat("chain-", i), 1, 1, Verdict(true, 100));
  }
  VerificationCacheStats stats = cache.Stats();
  EXPECT_LE(stats.size, 64u);
  // With keys spread over every shard, nearly all 64 slots stay in use.
  EXPECT_GE(stats.size, 56u);
  EXPECT_EQ(stats.evictions, 1000u - stats.size);
  int found = 0;
  for (int i = 0; i < 1000; ++i) {
    found += cache.Lookup(absl::StrCat("chain-", i), 1, 1, 0).has_value() ? 1 : 0;
  }
  EXPECT_EQ(static_cast<uint64_t>(found), stats.size);
}

TEST(VerificationCacheTest, CapacityZeroDisablesTheCache) {
  VerificationCache cache(0, 16);
  cache.Insert("a", 1, 1, Verdict(true, 100));
  EXPECT_FALSE(cache.Lookup("a", 1, 1, 0).has_value());
  EXPECT_EQ(cache.Stats().size, 0u);
  EXPECT_EQ(cache.Stats().misses, 1u);
  EXPECT_EQ(cache.Capacity(), 0u);
}

TEST(VerificationCacheTest, ConcurrentUseKeepsCountsConsistent) {
  VerificationCache cache(128, 16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = absl::StrCat("k", (i * 7 + t) % 300);
        if (!cache.Lookup(key, 1, 1, 0).has_value()) {
          cache.Insert(key, 1, 1, Verdict(true, 100));
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  VerificationCacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits + stats.misses, 8000u);
  EXPECT_LE(stats.size, 128u);
}

}  // namespace
}  // namespace certgate::edge
