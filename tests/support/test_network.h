#pragma once

#include <memory>
#include <string>
#include <vector>

namespace certgate::testing {

// TestNetwork gives each of N test nodes its own network namespace and
// address: a bridge on the host side (HostAddress) and one veth per node
// (NodeAddress(i)), in a 10.x.y.0/24 picked per process. Everything is
// removed on destruction. Only for tests that run as root where `ip netns`
// works; elsewhere Create returns null and callers fall back to loopback.
class TestNetwork {
 public:
  static std::unique_ptr<TestNetwork> Create(int nodes);
  ~TestNetwork();

  const std::string& HostAddress() const { return host_address_; }
  std::string NodeAddress(int node) const;
  // Wrap prefixes argv so that it runs inside node's namespace.
  std::vector<std::string> Wrap(int node, std::vector<std::string> argv) const;

 private:
  TestNetwork() = default;
  std::string prefix_;  // unique per process: names of the bridge, veths, namespaces
  std::string subnet_;  // "10.x.y."
  std::string host_address_;
  std::vector<std::string> namespaces_;
  bool bridge_created_ = false;
};

}  // namespace certgate::testing
