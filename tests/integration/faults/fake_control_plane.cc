#include "tests/integration/faults/fake_control_plane.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace certgate::faults {

FakeControlPlane::~FakeControlPlane() { Stop(); }

bool FakeControlPlane::Start(int port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
  builder.RegisterService(this);
  builder.SetMaxSendMessageSize(-1);
  server_ = builder.BuildAndStart();
  return server_ != nullptr;
}

void FakeControlPlane::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
    server_.reset();
  }
}

void FakeControlPlane::Publish(const v1::Snapshot& snapshot) {
  v1::ControlMessage message;
  *message.mutable_snapshot() = snapshot;
  PublishMessage(message);
}

void FakeControlPlane::PublishMessage(const v1::ControlMessage& message) {
  absl::MutexLock lock(&mu_);
  message_ = message;
  ++generation_;
}

std::vector<uint64_t> FakeControlPlane::acks() {
  absl::MutexLock lock(&mu_);
  return acks_;
}

std::vector<v1::Ack> FakeControlPlane::ack_messages() {
  absl::MutexLock lock(&mu_);
  return ack_messages_;
}

std::vector<v1::Hello> FakeControlPlane::hellos() {
  absl::MutexLock lock(&mu_);
  return hellos_;
}

std::vector<v1::Nack> FakeControlPlane::nacks() {
  absl::MutexLock lock(&mu_);
  return nacks_;
}

grpc::Status FakeControlPlane::Subscribe(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ControlMessage, v1::EdgeMessage>* stream) {
  v1::EdgeMessage hello;
  if (!stream->Read(&hello) || !hello.has_hello()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected hello");
  }
  uint64_t sent_generation = 0;
  {
    absl::MutexLock lock(&mu_);
    hellos_.push_back(hello.hello());
    uint64_t version =
        message_.has_snapshot() ? message_.snapshot().version() : message_.delta().version();
    // The edge already holds this version: nothing to send until a Publish.
    if (generation_ > 0 && version == hello.hello().version()) {
      sent_generation = generation_;
    }
  }
  bool reader_done = false;
  std::thread reader([&] {
    v1::EdgeMessage answer;
    while (stream->Read(&answer)) {
      absl::MutexLock lock(&mu_);
      if (answer.has_ack()) {
        acks_.push_back(answer.ack().version());
        ack_messages_.push_back(answer.ack());
      } else if (answer.has_nack()) {
        nacks_.push_back(answer.nack());
      }
    }
    absl::MutexLock lock(&mu_);
    reader_done = true;
  });
  while (true) {
    v1::ControlMessage message;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&] {
        mu_.AssertHeld();
        return stopping_ || reader_done || generation_ != sent_generation;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready, &decltype(ready)::operator()),
                           absl::Milliseconds(100));
      if (stopping_ || reader_done || context->IsCancelled()) {
        break;
      }
      if (generation_ == sent_generation) {
        continue;
      }
      sent_generation = generation_;
      message = message_;
    }
    if (!stream->Write(message)) {
      break;
    }
  }
  context->TryCancel();
  reader.join();
  return grpc::Status::OK;
}

}  // namespace certgate::faults
