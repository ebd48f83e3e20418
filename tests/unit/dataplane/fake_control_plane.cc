#include "tests/unit/dataplane/fake_control_plane.h"

#include <chrono>
#include <thread>

namespace certgate::edge::testing {

FakeControlPlane::FakeControlPlane(std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0",
                           credentials ? credentials : grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
}

FakeControlPlane::~FakeControlPlane() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  changed_.notify_all();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
}

void FakeControlPlane::Push(const v1::ControlMessage& message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    outbox_.push_back(message);
  }
  changed_.notify_all();
}

bool FakeControlPlane::WaitUntilSent(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return outbox_.empty(); });
}

void FakeControlPlane::ClearReceived() {
  std::lock_guard<std::mutex> lock(mu_);
  received_.clear();
}

void FakeControlPlane::CloseStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_requested_ = true;
  }
  changed_.notify_all();
}

bool FakeControlPlane::WaitFor(const std::function<bool(const std::vector<Received>&)>& done,
                               absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                           [&] { return done(received_); });
}

std::vector<FakeControlPlane::Received> FakeControlPlane::received() {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

int FakeControlPlane::streams() {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_;
}

std::string FakeControlPlane::authorization() {
  std::lock_guard<std::mutex> lock(mu_);
  return authorization_;
}

grpc::Status FakeControlPlane::Subscribe(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ControlMessage, v1::EdgeMessage>* stream) {
  int stream_number;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream_number = ++streams_;
    close_requested_ = false;
    auto it = context->client_metadata().find("authorization");
    if (it != context->client_metadata().end()) {
      authorization_ = std::string(it->second.data(), it->second.size());
    }
  }
  bool reader_done = false;
  std::thread reader([&] {
    v1::EdgeMessage message;
    while (stream->Read(&message)) {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(Received{stream_number, message});
      changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    reader_done = true;
    changed_.notify_all();
  });
  while (true) {
    v1::ControlMessage message;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return !outbox_.empty() || close_requested_ || reader_done || shutting_down_;
      });
      if (close_requested_ || reader_done || shutting_down_ || context->IsCancelled()) {
        close_requested_ = false;
        break;
      }
      if (outbox_.empty()) {
        continue;
      }
      message = outbox_.front();
      outbox_.pop_front();
    }
    changed_.notify_all();
    if (!stream->Write(message)) {
      break;
    }
  }
  context->TryCancel();
  reader.join();
  return grpc::Status::OK;
}

}  // namespace certgate::edge::testing
