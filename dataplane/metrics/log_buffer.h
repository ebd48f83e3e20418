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
// 0 every line is written at once.
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
  // Flush writes what is buffered.
  void Flush();

  size_t buffered() const { return buffer_.size(); }

 private:
  int fd_;
  size_t buffer_bytes_;
  // Threshold on the 64-bit random value: below it a success is kept.
  uint64_t keep_below_;
  bool keep_all_;
  uint64_t rng_state_;
  std::string buffer_;
};

}  // namespace certgate::edge
