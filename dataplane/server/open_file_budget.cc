#include "dataplane/server/open_file_budget.h"

#include <sys/resource.h>

#include <algorithm>

namespace certgate::edge {
namespace {

constexpr size_t kReservedDescriptors = 256;

}  // namespace

size_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 1024;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  if (limit.rlim_cur == RLIM_INFINITY) {
    return size_t{1} << 20;
  }
  return static_cast<size_t>(limit.rlim_cur);
}

size_t ConnectionsPerWorker(size_t open_file_limit, int workers) {
  size_t usable = open_file_limit > kReservedDescriptors * 2
                      ? open_file_limit - kReservedDescriptors
                      : open_file_limit / 2;
  size_t per_worker = usable / 2 / static_cast<size_t>(std::max(workers, 1));
  return std::max<size_t>(per_worker, 1);
}

}  // namespace certgate::edge
