#include "controlplane/pki/origin_cert_renewer.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "controlplane/api/zone_manager.h"

namespace certgate::controlplane {

void OriginCertRenewer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OriginCertRenewer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void OriginCertRenewer::Run() {
  while (true) {
    absl::StatusOr<int> renewed =
        zones_->RenewOriginClientCertificates(absl::ToUnixSeconds(absl::Now()));
    if (!renewed.ok()) {
      std::fprintf(stderr, "certgate-control: renewing origin client certificates: %s\n",
                   std::string(renewed.status().message()).c_str());
    } else if (*renewed > 0) {
      std::fprintf(stderr, "certgate-control: renewed %d origin client certificate(s)\n", *renewed);
    }
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), interval_)) {
      return;
    }
  }
}

}  // namespace certgate::controlplane
