#include "tests/integration/faults/edge_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/cert_factory.h"
#include "common/pem.h"

namespace certgate::faults {
namespace {

FaultPki* MakeFaultPki() {
  auto* pki = new FaultPki();
  pki->ca_key = *GenerateKey(KeyType::kEcP256);
  CertificateSpec ca_spec;
  ca_spec.common_name = "Fault Test CA";
  ca_spec.is_ca = true;
  pki->ca = *IssueCertificate(ca_spec, pki->ca_key.get(), nullptr, pki->ca_key.get());
  pki->server_key = *GenerateKey(KeyType::kEcP256);
  CertificateSpec server_spec;
  server_spec.common_name = "auth.pizza";
  server_spec.server_auth = true;
  server_spec.dns_names = {"auth.pizza", "*.auth.pizza"};
  pki->server =
      *IssueCertificate(server_spec, pki->server_key.get(), pki->ca.get(), pki->ca_key.get());
  return pki;
}

}  // namespace

const FaultPki& GetFaultPki() {
  static const FaultPki* const kPki = MakeFaultPki();
  return *kPki;
}

v1::EdgeZone MakeZone(uint64_t id, const std::string& hostname, v1::Mode mode, int origin_port) {
  const FaultPki& pki = GetFaultPki();
  v1::EdgeZone zone;
  zone.set_id(id);
  zone.set_hostname(hostname);
  zone.set_mode(mode);
  zone.set_origin(absl::StrCat("http://127.0.0.1:", origin_port));
  zone.add_roots_der(CertificateToDer(pki.ca.get()));
  zone.set_server_chain_pem(CertificateToPem(pki.server.get()));
  zone.set_server_key_pem(PrivateKeyToPem(pki.server_key.get()));
  zone.set_trust_version(1);
  zone.set_tenant_id("tenant-1");
  return zone;
}

absl::StatusOr<std::unique_ptr<EdgeProcess>> EdgeProcess::Start(
    const std::string& dir, const std::string& control_address, const std::string& state_dir,
    const std::vector<std::string>& extra_flags, int port, int metrics_port,
    const std::string& log_name) {
  if (port == 0) {
    port = testing::FreePort();
  }
  if (metrics_port == 0) {
    metrics_port = testing::FreePort();
  }
  std::string token_file = dir + "/edge.token";
  testing::WriteFile(token_file, "fault-test-edge-token\n", 0600);
  std::vector<std::string> argv = {testing::BinPath("certgate-edge"),
                                   "--control",
                                   control_address,
                                   "--insecure",
                                   "--token-file",
                                   token_file,
                                   "--listen",
                                   absl::StrCat("127.0.0.1:", port),
                                   "--state-dir",
                                   state_dir,
                                   "--metrics-listen",
                                   absl::StrCat("127.0.0.1:", metrics_port),
                                   "--origin-allow",
                                   "127.0.0.0/8"};
  // Named fault-edge unless the test names it (several edges in one test).
  if (std::find(extra_flags.begin(), extra_flags.end(), "--node-id") == extra_flags.end()) {
    argv.push_back("--node-id");
    argv.push_back("fault-edge");
  }
  // One worker unless the test asks for another count.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--workers") == extra_flags.end()) {
    argv.push_back("--workers");
    argv.push_back("1");
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto process = testing::Subprocess::Start(argv, dir + "/" + log_name);
  if (!process.ok()) {
    return process.status();
  }
  if (!testing::WaitForPort(port) || !testing::WaitForPort(metrics_port)) {
    return absl::UnavailableError(absl::StrCat("edge did not start: ", (*process)->ReadLog()));
  }
  return std::unique_ptr<EdgeProcess>(new EdgeProcess(std::move(*process), port, metrics_port));
}

double EdgeProcess::Metric(const std::string& name) const {
  std::string response = HttpGetPlain(metrics_port_, "/metrics");
  for (absl::string_view line : absl::StrSplit(response, '\n')) {
    if (absl::StartsWith(line, name + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(name.size() + 1), &value)) {
        return value;
      }
    }
  }
  return -1;
}

bool EdgeProcess::WaitForVersion(uint64_t version) const {
  return testing::WaitFor(
      [&] { return Metric("certgate_config_version") == static_cast<double>(version); },
      absl::Seconds(20));
}

int64_t EdgeProcess::RssKiB() const {
  std::ifstream in(absl::StrCat("/proc/", process_->pid(), "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      int64_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') {
          digits.push_back(c);
        }
      }
      if (absl::SimpleAtoi(digits, &kib)) {
        return kib;
      }
    }
  }
  return -1;
}

std::string HttpGetPlain(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return "";
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request =
        absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[16384];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return out;
}

}  // namespace certgate::faults
