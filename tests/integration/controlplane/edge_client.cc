#include "tests/integration/controlplane/edge_client.h"

#include <cstdint>
#include <cstdio>

#include "absl/time/clock.h"
#include "dataplane/config/snapshot_assembler.h"

namespace certgate::testing {

EdgeClient::EdgeClient(ControlPlaneProcess& server, const std::string& token)
    : stub_(server.Edge()) {
  context_.AddMetadata("authorization", "Bearer " + token);
  context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(240));
  stream_ = stub_->Subscribe(&context_);
  reader_ = std::thread([this] {
    v1::ControlMessage message;
    while (stream_->Read(&message)) {
      absl::MutexLock lock(&mu_);
      received_.push_back(message);
    }
    absl::MutexLock lock(&mu_);
    ended_ = true;
  });
}

EdgeClient::~EdgeClient() {
  if (!closed_) {
    context_.TryCancel();
  }
  reader_.join();
}

bool EdgeClient::Send(const v1::EdgeMessage& message) { return stream_->Write(message); }

bool EdgeClient::Hello(const std::string& node_id, uint64_t version) {
  v1::EdgeMessage message;
  message.mutable_hello()->set_node_id(node_id);
  message.mutable_hello()->set_version(version);
  message.mutable_hello()->set_software_version("test-edge");
  return Send(message);
}

bool EdgeClient::Ack(uint64_t version) {
  v1::EdgeMessage message;
  message.mutable_ack()->set_version(version);
  return Send(message);
}

bool EdgeClient::Nack(uint64_t version, const std::string& error) {
  v1::EdgeMessage message;
  message.mutable_nack()->set_version(version);
  message.mutable_nack()->set_error(error);
  return Send(message);
}

std::optional<v1::ControlMessage> EdgeClient::Next(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  edge::SnapshotAssembler assembler(INT32_MAX);
  last_chunk_sizes_.clear();
  while (true) {
    std::optional<v1::ControlMessage> message = NextRaw(deadline - absl::Now());
    if (!message.has_value() || !message->has_snapshot_chunk()) {
      if (assembler.InProgress()) {
        std::fprintf(stderr, "EdgeClient: snapshot chunks of version %llu stopped short\n",
                     static_cast<unsigned long long>(assembler.version()));
        return std::nullopt;
      }
      return message;
    }
    last_chunk_sizes_.push_back(message->snapshot_chunk().data().size());
    absl::StatusOr<std::optional<v1::Snapshot>> assembled =
        assembler.Add(message->snapshot_chunk());
    if (!assembled.ok()) {
      std::fprintf(stderr, "EdgeClient: %s\n", std::string(assembled.status().message()).c_str());
      return std::nullopt;
    }
    if (assembled->has_value()) {
      v1::ControlMessage whole;
      *whole.mutable_snapshot() = std::move(**assembled);
      return whole;
    }
  }
}

std::optional<v1::ControlMessage> EdgeClient::NextRaw(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !received_.empty() || ended_; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (received_.empty()) {
    return std::nullopt;
  }
  v1::ControlMessage message = std::move(received_.front());
  received_.pop_front();
  return message;
}

grpc::Status EdgeClient::Close() {
  closed_ = true;
  stream_->WritesDone();
  reader_.join();
  reader_ = std::thread([] {});
  return stream_->Finish();
}

}  // namespace certgate::testing
