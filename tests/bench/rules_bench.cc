// certgate-rules-bench: what access rules cost per request. DecideRequest
// (the pure decision every HTTP/1.1 and WebSocket request goes through) is
// timed for zones with 0 to 64 rules of each kind, the matching rule last
// (the worst case: every rule before it is tried). Prints a table; asserts
// nothing.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/cert_factory.h"
#include "dataplane/config/access_policy.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/request_decision.h"

namespace certgate::edge {
namespace {

struct Setup {
  const char* name;
  v1::PathMatch match;
  bool identity;
};

double NanosPerRequest(const ZoneConfig& zone, const ConnectionAuth& auth, const std::string& path,
                       int iterations) {
  HttpHeaders headers = {{"Host", zone.hostname}, {"User-Agent", "bench"}};
  int forwarded = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    RequestDecision d = DecideRequest(zone, auth, "GET", path, headers, true);
    forwarded += d.status == 0;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  if (forwarded != iterations) {
    std::fprintf(stderr, "unexpected refusals: %d of %d forwarded\n", forwarded, iterations);
  }
  return std::chrono::duration<double, std::nano>(elapsed).count() / iterations;
}

int Main() {
  auto key = GenerateKey(KeyType::kEcP256);
  CertificateSpec spec;
  spec.common_name = "pos-17";
  spec.client_auth = true;
  spec.uris = {"spiffe://acme.example/device/pos-17"};
  auto cert = IssueCertificate(spec, key->get(), nullptr, nullptr);
  if (!key.ok() || !cert.ok()) {
    std::fprintf(stderr, "cannot make the test certificate\n");
    return 1;
  }
  ConnectionAuth auth;
  auth.status = CertStatus::kValid;
  auth.identity = std::make_shared<CertIdentity>(CertIdentity::Of(cert->get(), {}));

  const Setup setups[] = {
      {"prefix", v1::PATH_MATCH_PREFIX, false},
      {"exact", v1::PATH_MATCH_EXACT, false},
      {"regex", v1::PATH_MATCH_REGEX, false},
      {"prefix+spiffe+cn", v1::PATH_MATCH_PREFIX, true},
  };
  const int kIterations = 200000;
  std::printf("%-18s %6s %14s\n", "rule kind", "rules", "ns/request");
  for (const Setup& setup : setups) {
    for (int count : {0, 1, 16, 64}) {
      v1::EdgeZone source;
      source.set_hostname("bench.acme.example");
      for (int i = 0; i < count; ++i) {
        v1::AccessRule* rule = source.add_access_rules();
        rule->set_path_match(setup.match);
        bool last = i == count - 1;
        std::string path = last ? "/api/v1/orders" : absl::StrCat("/other", i, "/");
        if (setup.match == v1::PATH_MATCH_REGEX) {
          path = last ? "/api/v[0-9]+/orders" : absl::StrCat("/other", i, "/[a-z]+");
        } else if (setup.match == v1::PATH_MATCH_PREFIX && last) {
          path = "/api/";
        }
        rule->set_path(path);
        rule->set_action(v1::RULE_ACTION_ENFORCE);
        if (setup.identity) {
          rule->mutable_identity()->set_spiffe_trust_domain("acme.example");
          rule->mutable_identity()->set_spiffe_path_prefix("/device/");
          rule->mutable_identity()->set_subject_cn("pos-[0-9]+");
        }
      }
      ZoneConfig zone;
      zone.hostname = source.hostname();
      zone.mode = v1::MODE_ENFORCE;
      auto policy = AccessPolicy::Create(source);
      if (!policy.ok()) {
        std::fprintf(stderr, "%s\n", std::string(policy.status().message()).c_str());
        return 1;
      }
      zone.access = std::move(policy).value();
      double ns = NanosPerRequest(zone, auth, "/api/v1/orders?x=1", kIterations);
      std::printf("%-18s %6d %14.0f\n", setup.name, count, ns);
    }
  }
  return 0;
}

}  // namespace
}  // namespace certgate::edge

int main() { return certgate::edge::Main(); }
