#include "dataplane/metrics/labeled_counter.h"

#include "absl/strings/str_cat.h"

namespace certgate::edge {
namespace {
constexpr char kSeparator = '\x1f';
}  // namespace

void LabeledCounter::Increment(absl::string_view key, uint64_t delta) {
  Slot(key)->fetch_add(delta, std::memory_order_relaxed);
}

std::atomic<uint64_t>* LabeledCounter::Slot(absl::string_view key) {
  // Lock-free when the key exists: see the class comment. A node map: the
  // value never moves.
  auto it = values_.find(key);
  if (it == values_.end()) {
    absl::MutexLock lock(&mu_);
    it = values_.try_emplace(std::string(key), 0).first;
  }
  return &it->second;
}

void LabeledCounter::ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [key, value] : values_) {
    fn(key, value.load(std::memory_order_relaxed));
  }
}

std::string LabelKey(absl::string_view a, absl::string_view b) {
  return absl::StrCat(a, absl::string_view(&kSeparator, 1), b);
}

std::pair<std::string, std::string> SplitLabelKey(absl::string_view key) {
  size_t pos = key.find(kSeparator);
  if (pos == absl::string_view::npos) {
    return {std::string(key), ""};
  }
  return {std::string(key.substr(0, pos)), std::string(key.substr(pos + 1))};
}

}  // namespace certgate::edge
