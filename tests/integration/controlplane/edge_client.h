#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "tests/support/control_plane_process.h"

namespace certgate::testing {

// EdgeClient is a minimal edge: one Subscribe stream, a reader thread
// queueing what the control plane sends.
class EdgeClient {
 public:
  EdgeClient(ControlPlaneProcess& server, const std::string& token);
  ~EdgeClient();

  bool Hello(const std::string& node_id, uint64_t version);
  bool Ack(uint64_t version);
  bool Nack(uint64_t version, const std::string& error);
  bool Send(const v1::EdgeMessage& message);
  // Next waits for the next message; nullopt on timeout or end of stream. A
  // chunked snapshot comes back whole (checked as an edge checks it), with
  // its chunks' data sizes in last_chunk_sizes().
  std::optional<v1::ControlMessage> Next(absl::Duration timeout = absl::Seconds(20));
  // NextRaw: the next message as sent, chunks one by one.
  std::optional<v1::ControlMessage> NextRaw(absl::Duration timeout = absl::Seconds(20));
  const std::vector<size_t>& last_chunk_sizes() const { return last_chunk_sizes_; }
  // Close half-closes and returns the final status.
  grpc::Status Close();

 private:
  std::unique_ptr<v1::EdgeConfigService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::EdgeMessage, v1::ControlMessage>> stream_;
  std::thread reader_;
  absl::Mutex mu_;
  std::deque<v1::ControlMessage> received_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ = false;
  std::vector<size_t> last_chunk_sizes_;
};

}  // namespace certgate::testing
