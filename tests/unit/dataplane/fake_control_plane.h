#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "certgate/v1/edge_config.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace certgate::edge::testing {

// FakeControlPlane serves EdgeConfigService.Subscribe on 127.0.0.1: the test
// pushes control messages and watches what the edge sends back.
class FakeControlPlane final : public v1::EdgeConfigService::Service {
 public:
  struct Received {
    int stream = 0;  // 1 for the first stream, 2 after a reconnect...
    v1::EdgeMessage message;
  };

  // Start listens on a free port with `credentials` (insecure when null).
  explicit FakeControlPlane(std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~FakeControlPlane() override;

  int port() const { return port_; }
  // Push sends `message` on the current (or next) stream.
  void Push(const v1::ControlMessage& message);
  // WaitUntilSent waits until every pushed message was written.
  bool WaitUntilSent(absl::Duration timeout = absl::Seconds(10));
  // ClearReceived forgets what was received so far.
  void ClearReceived();
  // CloseStream ends the current stream from the server side.
  void CloseStream();
  // WaitFor waits until `done` holds for what was received.
  bool WaitFor(const std::function<bool(const std::vector<Received>&)>& done,
               absl::Duration timeout = absl::Seconds(10));
  std::vector<Received> received();
  int streams();
  std::string authorization();

  grpc::Status Subscribe(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControlMessage, v1::EdgeMessage>* stream) override;

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<v1::ControlMessage> outbox_;
  std::vector<Received> received_;
  int streams_ = 0;
  bool close_requested_ = false;
  bool shutting_down_ = false;
  std::string authorization_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace certgate::edge::testing
