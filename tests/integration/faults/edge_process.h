#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/evp.h"
#include "openssl/x509.h"
#include "tests/support/process.h"

namespace certgate::faults {

// FaultPki: a CA and a server certificate for auth.pizza and *.auth.pizza
// that every zone of these tests presents.
struct FaultPki {
  bssl::UniquePtr<EVP_PKEY> ca_key;
  bssl::UniquePtr<X509> ca;
  bssl::UniquePtr<EVP_PKEY> server_key;
  bssl::UniquePtr<X509> server;
};
const FaultPki& GetFaultPki();

// MakeZone: a zone as the control plane would send it.
v1::EdgeZone MakeZone(uint64_t id, const std::string& hostname, v1::Mode mode, int origin_port);

// EdgeProcess is one certgate-edge on loopback, with one worker unless
// `extra_flags` holds --workers.
class EdgeProcess {
 public:
  // Start runs certgate-edge against `control_address` with its state in
  // `state_dir`, plus `extra_flags`, and waits for its TLS port.
  static absl::StatusOr<std::unique_ptr<EdgeProcess>> Start(
      const std::string& dir, const std::string& control_address, const std::string& state_dir,
      const std::vector<std::string>& extra_flags, int port = 0, int metrics_port = 0,
      const std::string& log_name = "edge.log");

  int port() const { return port_; }
  std::string ReadLog() const { return process_->ReadLog(); }
  int metrics_port() const { return metrics_port_; }
  testing::Subprocess* process() const { return process_.get(); }
  // Metric: the value of an unlabelled metric from /metrics, -1 if absent.
  double Metric(const std::string& name) const;
  // WaitForVersion: /metrics says `version` is served.
  bool WaitForVersion(uint64_t version) const;
  // RssKiB: VmRSS of the edge process.
  int64_t RssKiB() const;

 private:
  EdgeProcess(std::unique_ptr<testing::Subprocess> process, int port, int metrics_port)
      : process_(std::move(process)), port_(port), metrics_port_(metrics_port) {}

  std::unique_ptr<testing::Subprocess> process_;
  int port_;
  int metrics_port_;
};

// HttpGetPlain: GET http://127.0.0.1:port/path, the whole response ("" on
// failure).
std::string HttpGetPlain(int port, const std::string& path);

}  // namespace certgate::faults
