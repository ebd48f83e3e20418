#include "tests/integration/edge/edge_environment.h"

#include <signal.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/pem.h"
#include "gtest/gtest.h"
#include "openssl/x509v3.h"

namespace certgate::testing {
namespace {

constexpr char kCodeMarker[] = "\n__HTTP_CODE__";

uint64_t Failed(const grpc::Status& status, const std::string& what) {
  ADD_FAILURE() << what << ": " << status.error_code() << " " << status.error_message();
  return 0;
}

}  // namespace

std::string Identity::cert_pem() const { return CertificateToPem(cert.get()); }

std::string Echoed(const std::string& name, const std::string& value) {
  return absl::StrCat("\"", name, "\":\"", value, "\"");
}

std::string SkiHex(const Identity& id) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(id.cert.get());
  std::string out;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; ski != nullptr && i < ASN1_STRING_length(ski); ++i) {
    unsigned char b = ASN1_STRING_get0_data(ski)[i];
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// --- Pki ---------------------------------------------------------------------

Identity Pki::Write(const std::string& name, Identity id,
                    const std::vector<const Identity*>& chain) {
  std::string pem = CertificateToPem(id.cert.get());
  for (const Identity* extra : chain) {
    pem += CertificateToPem(extra->cert.get());
  }
  id.cert_path = dir_ + "/" + name + ".pem";
  id.key_path = dir_ + "/" + name + ".key";
  WriteFile(id.cert_path, pem);
  WriteFile(id.key_path, PrivateKeyToPem(id.key.get()), 0600);
  return id;
}

Identity Pki::Issue(const std::string& name, const CertificateSpec& spec, const Identity* issuer,
                    const std::vector<const Identity*>& chain) {
  Identity id;
  auto key = GenerateKey(KeyType::kEcP256);
  EXPECT_TRUE(key.ok()) << key.status();
  // Self-signed when there is no issuer.
  auto cert = IssueCertificate(spec, key->get(), issuer != nullptr ? issuer->cert.get() : nullptr,
                               issuer != nullptr ? issuer->key.get() : key->get());
  EXPECT_TRUE(cert.ok()) << cert.status();
  id.key = std::move(*key);
  id.cert = std::move(*cert);
  return Write(name, std::move(id), chain);
}

Identity Pki::Ca(const std::string& name) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.organization = "certgate tests";
  spec.is_ca = true;
  return Issue(name, spec, nullptr, {});
}

Identity Pki::IntermediateCa(const std::string& name, const Identity& issuer) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.is_ca = true;
  spec.path_len = 0;
  return Issue(name, spec, &issuer, {});
}

Identity Pki::Leaf(const std::string& name, const Identity& issuer,
                   const std::vector<const Identity*>& chain, int64_t not_before_unix,
                   int64_t not_after_unix, const std::string& common_name) {
  CertificateSpec spec;
  spec.common_name = common_name.empty() ? name : common_name;
  spec.client_auth = true;
  spec.not_before_unix = not_before_unix;
  spec.not_after_unix = not_after_unix;
  return Issue(name, spec, &issuer, chain);
}

Identity Pki::Server(const std::string& name, const Identity& issuer,
                     std::vector<std::string> dns_names, std::vector<std::string> ips) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.server_auth = true;
  spec.dns_names = std::move(dns_names);
  spec.ips = std::move(ips);
  return Issue(name, spec, &issuer, {});
}

Identity Pki::SelfSigned(const std::string& name) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.client_auth = true;
  return Issue(name, spec, nullptr, {});
}

// --- processes ---------------------------------------------------------------

EdgeEnvironment::EdgeEnvironment(std::string dir) : dir_(std::move(dir)), control_(dir_) {}

bool EdgeEnvironment::StartControl(std::string* error) {
  if (!control_.Start(error)) {
    return false;
  }
  tenant_ = control_.Tenant();
  return true;
}

int EdgeEnvironment::StopControl(int signal) { return control_.Stop(signal); }

bool EdgeEnvironment::StartOrigin(std::string* error) {
  origin_port_ = FreePort();
  auto process = Subprocess::Start(
      {BinPath("certgate-echo-origin"), "--listen", absl::StrCat("127.0.0.1:", origin_port_)},
      dir_ + "/origin.log");
  if (!process.ok()) {
    *error = std::string(process.status().message());
    return false;
  }
  origin_ = std::move(*process);
  if (!WaitForPort(origin_port_)) {
    *error = "echo origin did not start: " + origin_->ReadLog();
    return false;
  }
  return true;
}

bool EdgeEnvironment::Start(std::string* error, const std::vector<std::string>& edge_flags) {
  return StartControl(error) && StartOrigin(error) && StartEdge(error, edge_flags);
}

bool EdgeEnvironment::StartEdge(std::string* error, const std::vector<std::string>& extra_flags) {
  if (edge_port_ == 0) {
    edge_port_ = FreePort();
    metrics_port_ = FreePort();
  }
  std::vector<std::string> argv = {BinPath("certgate-edge"),
                                   "--control",
                                   control_.address(),
                                   "--token-file",
                                   dir_ + "/edge.token",
                                   "--node-id",
                                   "edge-test",
                                   "--listen",
                                   absl::StrCat("127.0.0.1:", edge_port_),
                                   "--state-dir",
                                   dir_ + "/edge-state",
                                   "--metrics-listen",
                                   absl::StrCat("127.0.0.1:", metrics_port_),
                                   "--insecure"};
  // Two workers unless the test picks: SO_REUSEPORT spreads connections.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--workers") == extra_flags.end()) {
    argv.insert(argv.end(), {"--workers", "2"});
  }
  // Test origins run on loopback; a test about the origin policy passes its
  // own --origin-allow instead.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--origin-allow") == extra_flags.end()) {
    argv.insert(argv.end(), {"--origin-allow", "127.0.0.0/8"});
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto process = Subprocess::Start(argv, absl::StrCat(dir_, "/edge-", ++edge_starts_, ".log"));
  if (!process.ok()) {
    *error = std::string(process.status().message());
    return false;
  }
  edge_ = std::move(*process);
  bool up = WaitFor(
      [&] {
        return absl::StrContains(edge_->ReadLog(), "certgate-edge listening on") ||
               !edge_->Running();
      },
      absl::Seconds(20));
  if (!up || !edge_->Running()) {
    *error = "certgate-edge did not start: " + edge_->ReadLog();
    return false;
  }
  return true;
}

int EdgeEnvironment::StopEdge(int signal) {
  if (!edge_) {
    return -1;
  }
  edge_->Signal(signal);
  return edge_->Wait(absl::Seconds(20));
}

void EdgeEnvironment::PrintEdgeLogTail() const {
  std::string log = edge_log();
  if (log.size() > 6000) {
    log = log.substr(log.size() - 6000);
  }
  std::cerr << "--- edge log (tail) ---\n" << log << "\n";
}

std::string EdgeEnvironment::edge_log() const { return edge_ ? edge_->ReadLog() : ""; }

// --- control plane calls ----------------------------------------------------------

std::unique_ptr<grpc::ClientContext> EdgeEnvironment::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  Authorize(context.get(), token);
  return context;
}

std::string EdgeEnvironment::NewTenant(const std::string& name) {
  return ::certgate::testing::NewTenant(control_, name);
}

uint64_t EdgeEnvironment::CreateZone(const std::string& token, const std::string& host,
                                     v1::Mode mode, const std::string& origin) {
  v1::CreateZoneRequest req;
  req.set_hostname(host);
  req.set_origin(origin.empty() ? origin_url() : origin);
  req.set_mode(mode);
  v1::ZoneResponse resp;
  grpc::Status status = tenant_->CreateZone(Context(token).get(), req, &resp);
  return status.ok() ? resp.config_version() : Failed(status, "CreateZone " + host);
}

uint64_t EdgeEnvironment::AddRoot(const std::string& token, const std::string& host,
                                  const Identity& ca, std::string* root_id) {
  v1::AddCaCertificatesRequest req;
  req.set_hostname(host);
  req.set_data(ca.cert_pem());
  v1::AddCaCertificatesResponse resp;
  grpc::Status status = tenant_->AddRoots(Context(token).get(), req, &resp);
  if (!status.ok()) {
    return Failed(status, "AddRoots " + host);
  }
  if (root_id != nullptr && resp.added_size() > 0) {
    *root_id = resp.added(0).id();
  }
  return resp.config_version();
}

uint64_t EdgeEnvironment::RemoveRoot(const std::string& token, const std::string& host,
                                     const std::string& root_id) {
  v1::RemoveCaCertificateRequest req;
  req.set_hostname(host);
  req.set_id(root_id);
  v1::ChangeResponse resp;
  grpc::Status status = tenant_->RemoveRoot(Context(token).get(), req, &resp);
  return status.ok() ? resp.config_version() : Failed(status, "RemoveRoot " + host);
}

uint64_t EdgeEnvironment::SetErrorResponse(const std::string& token, const std::string& host,
                                           const std::string& content_type,
                                           const std::string& body) {
  v1::SetErrorResponseRequest req;
  req.set_hostname(host);
  req.mutable_error_response()->set_content_type(content_type);
  req.mutable_error_response()->set_body(body);
  v1::ZoneResponse resp;
  grpc::Status status = tenant_->SetErrorResponse(Context(token).get(), req, &resp);
  return status.ok() ? resp.config_version() : Failed(status, "SetErrorResponse " + host);
}

uint64_t EdgeEnvironment::MapHeader(const std::string& token, const std::string& host,
                                    const std::string& header, const std::string& selector) {
  v1::SetHeaderMappingRequest req;
  req.set_hostname(host);
  req.mutable_mapping()->set_header(header);
  req.mutable_mapping()->set_selector(selector);
  v1::ZoneResponse resp;
  grpc::Status status = tenant_->SetHeaderMapping(Context(token).get(), req, &resp);
  return status.ok() ? resp.config_version() : Failed(status, "SetHeaderMapping " + host);
}

uint64_t EdgeEnvironment::RevokeCertificate(const std::string& token, const std::string& host,
                                            const Identity& leaf) {
  v1::RevokeRequest req;
  req.set_hostname(host);
  req.set_certificate(leaf.cert_pem());
  v1::RevokeResponse resp;
  grpc::Status status = tenant_->Revoke(Context(token).get(), req, &resp);
  return status.ok() ? resp.config_version() : Failed(status, "Revoke " + host);
}

// --- edge ---------------------------------------------------------------------

std::string EdgeEnvironment::Metrics() {
  CommandResult result = RunCommand({"curl", "-s", "--max-time", "5",
                                     absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
  return result.out;
}

double EdgeEnvironment::Metric(const std::string& series) {
  std::string text = Metrics();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series) && line.size() > series.size() &&
        line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
        return value;
      }
    }
  }
  // Never a value a metric can take, so a failed scrape cannot pass for a
  // real zero.
  return -1;
}

bool EdgeEnvironment::WaitForVersion(uint64_t version) {
  return WaitFor([&] { return Metric("certgate_config_version") >= static_cast<double>(version); },
                 absl::Seconds(15));
}

HttpResult EdgeEnvironment::Curl(const std::string& host, const std::string& path,
                                 const Identity* id, const std::vector<std::string>& extra) {
  std::string port = std::to_string(edge_port_);
  std::vector<std::string> argv = {"curl",       "-sk",
                                   "--max-time", "20",
                                   "--resolve",  host + ":" + port + ":127.0.0.1",
                                   "-w",         std::string(kCodeMarker) + "%{http_code}"};
  if (id != nullptr) {
    argv.insert(argv.end(), {"--cert", id->cert_path, "--key", id->key_path});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("https://" + host + ":" + port + path);
  CommandResult result = RunCommand(argv);
  HttpResult out;
  out.exit_code = result.exit_code;
  out.stderr_text = result.err;
  size_t marker = result.out.rfind(kCodeMarker);
  if (marker != std::string::npos) {
    out.body = result.out.substr(0, marker);
    if (!absl::SimpleAtoi(result.out.substr(marker + strlen(kCodeMarker)), &out.status)) {
      out.status = -1;
    }
  } else {
    out.body = result.out;
  }
  return out;
}

CommandResult EdgeEnvironment::SClient(const std::string& sni, const Identity* id,
                                       const std::string& input, const std::string& sess_in,
                                       const std::string& sess_out,
                                       const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      "openssl",     "s_client", "-connect", absl::StrCat("127.0.0.1:", edge_port_),
      "-servername", sni,        "-ign_eof"};
  if (id != nullptr) {
    argv.insert(argv.end(), {"-cert", id->cert_path, "-key", id->key_path});
  }
  if (!sess_in.empty()) {
    argv.insert(argv.end(), {"-sess_in", sess_in});
  }
  if (!sess_out.empty()) {
    argv.insert(argv.end(), {"-sess_out", sess_out});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, input, {}, absl::Seconds(20));
}

}  // namespace certgate::testing
