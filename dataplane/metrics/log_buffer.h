#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace certgate::edge {

class LogFile;

// LogBuffer is one worker's side of a log: lines are gathered here and
// written to the LogFile in one write(2) when `buffer_bytes` fill up or the
// worker flushes (on its timer, on drain and at exit). Only its worker's
// thread uses it, so the request path takes no lock. With `buffer_bytes`
// 0 every line is written at once, unless a turn hook is set.
class LogBuffer {
 public:
  // `file` is borrowed and outlives the buffer; null means off.
  // `success_sample` (0..1) is the share of successful requests kept.
  LogBuffer(const LogFile* file, size_t buffer_bytes, double success_sample, uint64_t seed);
  ~LogBuffer();
  LogBuffer(const LogBuffer&) = delete;
  LogBuffer& operator=(const LogBuffer&) = delete;

  bool enabled() const { return fd_ >= 0; }

  // ShouldLogRequest: whether a request's line is written at all (decided
  // before it is formatted). Responses of 400 and above (refusals and
  // errors), no response at all (status 0) and a presented certificate that
  // failed verification are always logged; the rest are sampled.
  bool ShouldLogRequest(int status, bool cert_invalid);

  // Write adds one whole line (ending in '\n').
  void Write(absl::string_view line);
  // Append adds one whole line that `append(std::string* out)` appends to
  // `out`: the line is formatted straight into the buffer, never into a
  // string of its own.
  template <typename AppendFn>
  void Append(AppendFn&& append) {
    if (fd_ < 0) {
      return;
    }
    bool first = buffer_.empty();
    append(&buffer_);
    Added(first);
  }
  // SetTurnHook: with `buffer_bytes` 0, instead of one write(2) per line,
  // lines are held and `hook(arg)` is called when the first one arrives;
  // the owner then calls Flush before its event loop waits again (the
  // worker: at the end of the loop turn), so the lines of one turn go out
  // in one write. Null: every line at once again.
  void SetTurnHook(void (*hook)(void* arg), void* arg);
  // Flush writes what is buffered.
  void Flush();

  size_t buffered() const { return buffer_.size(); }

 private:
  // Added: a line was appended to buffer_ (`first`: to an empty one);
  // writes or arranges the write as the settings say.
  void Added(bool first);

  int fd_;
  size_t buffer_bytes_;
  // Threshold on the 64-bit random value: below it a success is kept.
  uint64_t keep_below_;
  bool keep_all_;
  uint64_t rng_state_;
  std::string buffer_;
  void (*turn_hook_)(void*) = nullptr;
  void* turn_hook_arg_ = nullptr;
};

}  // namespace certgate::edge
