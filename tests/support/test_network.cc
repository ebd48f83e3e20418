#include "tests/support/test_network.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "tests/support/process.h"

namespace certgate::testing {
namespace {

bool Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, "", {}, absl::Seconds(10)).exit_code == 0;
}

}  // namespace

std::unique_ptr<TestNetwork> TestNetwork::Create(int nodes) {
  if (geteuid() != 0 || getenv("CERTGATE_TEST_NO_NETNS") != nullptr) {
    return nullptr;
  }
  auto network = std::unique_ptr<TestNetwork>(new TestNetwork());
  int id = getpid() % 60000;
  network->prefix_ = absl::StrCat("cg", id);
  network->subnet_ = absl::StrCat("10.", 100 + id / 250 % 100, ".", id % 250, ".");
  network->host_address_ = network->subnet_ + "1";
  std::string bridge = network->prefix_ + "br";
  if (!Ip({"link", "add", bridge, "type", "bridge"})) {
    return nullptr;
  }
  network->bridge_created_ = true;
  if (!Ip({"addr", "add", network->host_address_ + "/24", "dev", bridge}) ||
      !Ip({"link", "set", bridge, "up"})) {
    return nullptr;
  }
  for (int i = 0; i < nodes; ++i) {
    std::string ns = absl::StrCat(network->prefix_, "n", i);
    std::string veth = absl::StrCat(network->prefix_, "v", i);
    if (!Ip({"netns", "add", ns})) {
      return nullptr;
    }
    network->namespaces_.push_back(ns);
    if (!Ip({"link", "add", veth, "type", "veth", "peer", "name", veth + "p"}) ||
        !Ip({"link", "set", veth + "p", "netns", ns}) ||
        !Ip({"link", "set", veth, "master", bridge}) || !Ip({"link", "set", veth, "up"}) ||
        !Ip({"-n", ns, "addr", "add", network->NodeAddress(i) + "/24", "dev", veth + "p"}) ||
        !Ip({"-n", ns, "link", "set", veth + "p", "up"}) ||
        !Ip({"-n", ns, "link", "set", "lo", "up"})) {
      return nullptr;
    }
  }
  return network;
}

TestNetwork::~TestNetwork() {
  // Deleting a namespace deletes its veth end, and with it the peer.
  for (const std::string& ns : namespaces_) {
    Ip({"netns", "del", ns});
  }
  if (bridge_created_) {
    Ip({"link", "del", prefix_ + "br"});
  }
}

std::string TestNetwork::NodeAddress(int node) const { return absl::StrCat(subnet_, 11 + node); }

std::vector<std::string> TestNetwork::Wrap(int node, std::vector<std::string> argv) const {
  std::vector<std::string> wrapped = {"ip", "netns", "exec", namespaces_[node]};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

}  // namespace certgate::testing
