#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tests/integration/faults/loopback_server.h"

namespace certgate::faults {

// TestOrigin is an HTTP/1.1 origin inside the test process (plain sockets,
// one thread per connection) that can misbehave on purpose. It counts the
// requests that reach it, so a test can prove that the edge forwarded
// nothing.
class TestOrigin {
 public:
  enum class Behavior {
    kEcho,                      // 200, the request head as the body
    kResetBeforeResponse,       // reads the request, then resets the connection
    kResetMidResponse,          // sends headers and part of the body, then resets
    kNeverAnswer,               // reads the request and stays silent
    kOneResponsePerConnection,  // echoes the first request of a keep-alive
                                // connection, then closes on the next one
                                // unanswered, as if its idle close raced it
  };

  static absl::StatusOr<std::unique_ptr<TestOrigin>> Start(Behavior behavior);
  ~TestOrigin();
  TestOrigin(const TestOrigin&) = delete;
  TestOrigin& operator=(const TestOrigin&) = delete;

  int port() const { return server_->port(); }
  // requests: complete request heads received so far.
  int requests() const { return requests_.load(); }
  // bytes_received: every byte read from the edge, complete requests or not.
  uint64_t bytes_received() const { return bytes_received_.load(); }
  // last_head: the last request head received.
  std::string last_head();

 private:
  explicit TestOrigin(Behavior behavior) : behavior_(behavior) {}
  void Serve(int fd);

  const Behavior behavior_;
  std::atomic<int> requests_{0};
  std::atomic<uint64_t> bytes_received_{0};
  absl::Mutex mu_;
  std::string last_head_ ABSL_GUARDED_BY(mu_);
  // Last, so that it stops (and joins every connection) before the rest goes.
  std::unique_ptr<LoopbackServer> server_;
};

}  // namespace certgate::faults
