#include "dataplane/http/origin_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

// Plain origin connections over socketpairs; the far ends stay open (kept in
// `peers`), so every pooled connection looks open.
std::unique_ptr<OriginTransport> Connection(std::vector<UniqueFd>* peers) {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  peers->emplace_back(fds[1]);
  return OriginTransport::Plain(UniqueFd(fds[0]));
}

TEST(OriginPoolTest, ABurstBeyondTheLimitStaysBrieflyThenTheOldestClose) {
  std::vector<UniqueFd> peers;
  OriginPool pool(4, absl::Seconds(30), absl::Milliseconds(200));
  // Ten answers in one burst: all ten wait for the next requests.
  for (int i = 0; i < 10; ++i) {
    pool.Put("zone|origin", Connection(&peers));
  }
  EXPECT_EQ(pool.idle_count(), 10u);
  // Taken again at once: no connection had to be opened anew.
  std::vector<std::unique_ptr<OriginTransport>> taken;
  for (int i = 0; i < 10; ++i) {
    taken.push_back(pool.Take("zone|origin", /*check_open=*/true));
    ASSERT_NE(taken.back(), nullptr) << i;
  }
  EXPECT_EQ(pool.Take("zone|origin", false), nullptr);
  for (auto& c : taken) {
    pool.Put("zone|origin", std::move(c));
  }
  EXPECT_EQ(pool.idle_count(), 10u);
  // Once the surplus has idled past its time, the next Put closes the
  // oldest down to the limit.
  absl::SleepFor(absl::Milliseconds(250));
  pool.Put("zone|origin", Connection(&peers));
  EXPECT_EQ(pool.idle_count(), 4u);
}

TEST(OriginPoolTest, NeverMoreThanTheSurplusFactorTimesTheLimit) {
  std::vector<UniqueFd> peers;
  OriginPool pool(4, absl::Seconds(30), absl::Seconds(60));
  for (size_t i = 0; i < 3 * OriginPool::kSurplusFactor * 4; ++i) {
    pool.Put("zone|origin", Connection(&peers));
  }
  EXPECT_EQ(pool.idle_count(), OriginPool::kSurplusFactor * 4);
  // Each key has its own limit: another zone's connections are not counted.
  pool.Put("other|origin", Connection(&peers));
  EXPECT_EQ(pool.idle_count(), OriginPool::kSurplusFactor * 4 + 1);
}

TEST(OriginPoolTest, AConnectionTheOriginClosedIsNotTaken) {
  std::vector<UniqueFd> peers;
  OriginPool pool(4);
  pool.Put("zone|origin", Connection(&peers));
  peers.back().reset();  // the origin closes it while it idles
  EXPECT_EQ(pool.Take("zone|origin", /*check_open=*/true), nullptr);
}

}  // namespace
}  // namespace certgate::edge
