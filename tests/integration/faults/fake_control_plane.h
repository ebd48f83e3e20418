#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace certgate::faults {

// FakeControlPlane is an in-process EdgeConfigService: it sends every edge
// the snapshot set last (once per stream, and again on every Publish) and
// records the edges' ACKs and NACKs. Tests use it to send what a real
// control plane never would.
class FakeControlPlane final : public v1::EdgeConfigService::Service {
 public:
  FakeControlPlane() = default;
  ~FakeControlPlane() override;

  // Start serves on 127.0.0.1:port (plaintext).
  bool Start(int port);
  void Stop();

  // Publish makes `snapshot` the config to send, and sends it on every open
  // stream.
  void Publish(const v1::Snapshot& snapshot);
  // PublishMessage: the same for any message (a delta, say).
  void PublishMessage(const v1::ControlMessage& message);

  std::vector<uint64_t> acks();
  std::vector<v1::Ack> ack_messages();
  std::vector<v1::Nack> nacks();
  std::vector<v1::Hello> hellos();

  grpc::Status Subscribe(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControlMessage, v1::EdgeMessage>* stream) override;

 private:
  absl::Mutex mu_;
  v1::ControlMessage message_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<uint64_t> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Ack> ack_messages_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Hello> hellos_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Nack> nacks_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace certgate::faults
