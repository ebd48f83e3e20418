#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace certgate::testing {

// LocalDnsServer runs dnsmasq on 127.0.0.1 and a free port, answering only
// what a test gives it: TXT records it sets, NXDOMAIN for any other name
// under `.test`. SetTxtRecords restarts it on the same port with new records.
class LocalDnsServer {
 public:
  explicit LocalDnsServer(std::string dir) : dir_(std::move(dir)) {}
  ~LocalDnsServer() { Stop(); }

  // Available: dnsmasq is installed (else tests skip).
  static bool Available();

  // SetTxtRecords (re)starts dnsmasq serving `records` (name, value) and
  // waits until it answers. Returns false with the log in `error`.
  bool SetTxtRecords(const std::vector<std::pair<std::string, std::string>>& records,
                     std::string* error);
  void Stop();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  int port_ = 0;
  int starts_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace certgate::testing
