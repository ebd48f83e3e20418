#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certgate/v1/tenant.grpc.pb.h"
#include "common/cert_factory.h"
#include "openssl/evp.h"
#include "openssl/x509.h"
#include "tests/support/control_plane_process.h"
#include "tests/support/process.h"

namespace certgate::testing {

// Identity is a key and its certificate (plus the intermediates a client
// sends with it), written to PEM files for curl and openssl s_client.
struct Identity {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
  std::string cert_path;  // leaf, then intermediates
  std::string key_path;
  std::string cert_pem() const;
};

// Echoed: a header as the echo origin prints it, "Name":"value".
std::string Echoed(const std::string& name, const std::string& value);

// SkiHex: the identity's Subject Key Identifier as the edge forwards it.
std::string SkiHex(const Identity& id);

// Pki makes certificates with common/cert_factory.h into a directory.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}
  Identity Ca(const std::string& name);
  Identity IntermediateCa(const std::string& name, const Identity& issuer);
  // Leaf signs a client certificate; `not_after_unix` 0 means a year.
  Identity Leaf(const std::string& name, const Identity& issuer,
                const std::vector<const Identity*>& chain = {}, int64_t not_before_unix = 0,
                int64_t not_after_unix = 0, const std::string& common_name = "");
  Identity SelfSigned(const std::string& name);
  // Server: a serverAuth certificate (an origin's) with these DNS and IP names.
  Identity Server(const std::string& name, const Identity& issuer,
                  std::vector<std::string> dns_names, std::vector<std::string> ips);
  // Issue: a fresh P-256 key and a certificate of `spec` by `issuer`
  // (self-signed when null), written with `chain` after it.
  Identity Issue(const std::string& name, const CertificateSpec& spec, const Identity* issuer,
                 const std::vector<const Identity*>& chain);

 private:
  Identity Write(const std::string& name, Identity id, const std::vector<const Identity*>& chain);
  std::string dir_;
};

struct HttpResult {
  int exit_code = -1;  // curl's
  int status = 0;      // HTTP status, 0 when none
  std::string body;
  std::string stderr_text;
};

// EdgeEnvironment runs certgate-control, certgate-echo-origin and
// certgate-edge on 127.0.0.1, and talks to them with gRPC stubs, curl and
// openssl s_client.
class EdgeEnvironment {
 public:
  explicit EdgeEnvironment(std::string dir);

  bool StartControl(std::string* error);
  int StopControl(int signal);
  bool StartOrigin(std::string* error);
  bool StartEdge(std::string* error, const std::vector<std::string>& extra_flags = {});
  // Start: the control plane, the echo origin, then the edge with
  // `edge_flags`; false with `error` at the first that fails.
  bool Start(std::string* error, const std::vector<std::string>& edge_flags = {});
  int StopEdge(int signal);

  int edge_port() const { return edge_port_; }
  int metrics_port() const { return metrics_port_; }
  int origin_port() const { return origin_port_; }
  ControlPlaneProcess* control() { return &control_; }
  std::string origin_url() const { return "http://127.0.0.1:" + std::to_string(origin_port_); }
  std::string edge_log() const;
  // PrintEdgeLogTail writes the last 6,000 bytes of the edge's log to stderr
  // (for a failed test).
  void PrintEdgeLogTail() const;
  Subprocess* edge() { return edge_.get(); }

  // --- control plane -----------------------------------------------------
  std::string NewTenant(const std::string& name);
  v1::TenantService::Stub* tenant() { return tenant_.get(); }
  // Authorized context with a deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token);
  // Each returns the config version after the change (0 on failure, with
  // a test failure recorded).
  uint64_t CreateZone(const std::string& token, const std::string& host, v1::Mode mode,
                      const std::string& origin = "");
  uint64_t AddRoot(const std::string& token, const std::string& host, const Identity& ca,
                   std::string* root_id = nullptr);
  uint64_t RemoveRoot(const std::string& token, const std::string& host,
                      const std::string& root_id);
  uint64_t SetErrorResponse(const std::string& token, const std::string& host,
                            const std::string& content_type, const std::string& body);
  uint64_t MapHeader(const std::string& token, const std::string& host, const std::string& header,
                     const std::string& selector);
  uint64_t RevokeCertificate(const std::string& token, const std::string& host,
                             const Identity& leaf);

  // --- edge ----------------------------------------------------------------
  // WaitForVersion: the edge serves config `version` or newer.
  bool WaitForVersion(uint64_t version);
  std::string Metrics();
  // Metric returns the value of the sample whose name-and-labels text is
  // exactly `series` (e.g. `certgate_requests_total{zone="a",code="200"}`);
  // -1 when absent or when the scrape fails.
  double Metric(const std::string& series);

  // Curl requests https://host:edge_port/path with SNI `host`, the client
  // certificate `id` (may be null) and extra curl arguments.
  HttpResult Curl(const std::string& host, const std::string& path, const Identity* id,
                  const std::vector<std::string>& extra = {});
  // SClient runs openssl s_client with SNI `sni`, sends `input`, and returns
  // everything it printed. `sess_in`/`sess_out` are session files ("" none).
  CommandResult SClient(const std::string& sni, const Identity* id, const std::string& input,
                        const std::string& sess_in, const std::string& sess_out,
                        const std::vector<std::string>& extra = {});

 private:
  std::string dir_;
  int origin_port_ = 0;
  int edge_port_ = 0;
  int metrics_port_ = 0;
  int edge_starts_ = 0;
  ControlPlaneProcess control_;
  std::unique_ptr<Subprocess> origin_;
  std::unique_ptr<Subprocess> edge_;
  std::unique_ptr<v1::TenantService::Stub> tenant_;
};

}  // namespace certgate::testing
