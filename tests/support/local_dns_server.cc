#include "tests/support/local_dns_server.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace certgate::testing {
namespace {

constexpr char kDnsmasq[] = "/usr/sbin/dnsmasq";

}  // namespace

bool LocalDnsServer::Available() { return access(kDnsmasq, X_OK) == 0; }

bool LocalDnsServer::SetTxtRecords(const std::vector<std::pair<std::string, std::string>>& records,
                                   std::string* error) {
  Stop();
  if (port_ == 0) {
    port_ = FreePort();
  }
  std::vector<std::string> argv = {kDnsmasq, "--no-daemon", "--conf-file=/dev/null",
                                   absl::StrCat("--port=", port_), "--listen-address=127.0.0.1",
                                   "--bind-interfaces", "--no-resolv", "--no-hosts",
                                   "--pid-file=", "--user=",
                                   // Authoritative for .test: other names are NXDOMAIN.
                                   "--local=/test/", "--log-queries", "--log-facility=-"};
  for (const auto& [name, value] : records) {
    argv.push_back(absl::StrCat("--txt-record=", name, ",", value));
  }
  auto process = Subprocess::Start(argv, absl::StrCat(dir_, "/dnsmasq-", ++starts_, ".log"));
  if (!process.ok()) {
    *error = std::string(process.status().message());
    return false;
  }
  process_ = std::move(*process);
  // dnsmasq answers TCP on the same port once it is ready.
  if (!WaitForPort(port_, absl::Seconds(15)) || !process_->Running()) {
    *error = "dnsmasq did not start: " + process_->ReadLog();
    return false;
  }
  return true;
}

void LocalDnsServer::Stop() {
  if (process_ != nullptr) {
    process_->Signal(SIGTERM);
    process_->Wait(absl::Seconds(10));
    process_.reset();
  }
}

}  // namespace certgate::testing
