#include "dataplane/metrics/log_buffer.h"

#include <cmath>

#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/log_file.h"

namespace certgate::edge {
namespace {

// What one loop turn may hold back with a turn hook and no buffer.
constexpr size_t kTurnBufferLimit = 64 * 1024;

}  // namespace

LogBuffer::LogBuffer(const LogFile* file, size_t buffer_bytes, double success_sample, uint64_t seed)
    : fd_(file != nullptr && file->enabled() ? file->fd() : -1),
      buffer_bytes_(buffer_bytes),
      keep_below_(0),
      keep_all_(success_sample >= 1.0),
      rng_state_(seed | 1) {
  if (!keep_all_ && success_sample > 0) {
    keep_below_ = static_cast<uint64_t>(std::ldexp(success_sample, 64));
  }
  if (buffer_bytes_ > 0) {
    buffer_.reserve(buffer_bytes_ + 1024);
  }
}

LogBuffer::~LogBuffer() { Flush(); }

bool LogBuffer::ShouldLogRequest(int status, bool cert_invalid) {
  if (fd_ < 0) {
    return false;
  }
  if (keep_all_ || status >= 400 || status == 0 || cert_invalid) {
    return true;
  }
  // xorshift64*: cheap, per worker, and good enough to pick a share.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return rng_state_ * 2685821657736338717ULL < keep_below_;
}

void LogBuffer::Write(absl::string_view line) {
  if (fd_ < 0) {
    return;
  }
  if (buffer_bytes_ == 0 && turn_hook_ == nullptr) {
    WriteLogLine(fd_, line);
    return;
  }
  bool first = buffer_.empty();
  buffer_.append(line.data(), line.size());
  Added(first);
}

void LogBuffer::Added(bool first) {
  if (buffer_bytes_ == 0) {
    if (turn_hook_ == nullptr) {
      Flush();  // every line at once
    } else if (first) {
      turn_hook_(turn_hook_arg_);
    } else if (buffer_.size() >= kTurnBufferLimit) {
      Flush();  // a turn that logs this much writes as it goes
    }
    return;
  }
  if (buffer_.size() >= buffer_bytes_) {
    Flush();
  }
}

void LogBuffer::SetTurnHook(void (*hook)(void* arg), void* arg) {
  Flush();
  turn_hook_ = hook;
  turn_hook_arg_ = arg;
}

void LogBuffer::Flush() {
  if (buffer_.empty() || fd_ < 0) {
    return;
  }
  WriteLogLine(fd_, buffer_);
  buffer_.clear();
}

}  // namespace certgate::edge
