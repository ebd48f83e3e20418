#include "controlplane/validation/edge_build_check.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/cert_factory.h"
#include "common/pem.h"
#include "controlplane/pki/edge_ca.h"
#include "controlplane/snapshot/snapshot_builder.h"
#include "dataplane/config/edge_config.h"

namespace certgate::controlplane {

namespace {

// StandInServerCertificate: a self-signed certificate and key made once per
// process. A pending zone has no server certificate yet (the edge CA signs
// nothing before its tenant proves control of the name); the check builds it
// with this one so that everything else the tenant uploaded is still checked.
const IssuedCertificate* StandInServerCertificate() {
  static const IssuedCertificate* stand_in = []() -> const IssuedCertificate* {
    absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key = GenerateKey(KeyType::kEcP256);
    if (!key.ok()) {
      return nullptr;
    }
    CertificateSpec spec;
    spec.common_name = "certgate build check";
    spec.server_auth = true;
    spec.days = 3650;
    absl::StatusOr<bssl::UniquePtr<X509>> cert =
        IssueCertificate(spec, key->get(), nullptr, key->get());
    if (!cert.ok()) {
      return nullptr;
    }
    return new IssuedCertificate{CertificateToPem(cert->get()), PrivateKeyToPem(key->get())};
  }();
  return stand_in;
}

}  // namespace

absl::Status CheckEdgeCanBuild(const ZoneRow& row) {
  certgate::v1::EdgeZone edge_zone = SnapshotBuilder::ToEdgeZone(row);
  if (row.state == ZoneState::kPending && edge_zone.server_key_pem().empty()) {
    const IssuedCertificate* stand_in = StandInServerCertificate();
    if (stand_in == nullptr) {
      return absl::InternalError("cannot make the build check's stand-in certificate");
    }
    edge_zone.set_server_chain_pem(stand_in->chain_pem);
    edge_zone.set_server_key_pem(stand_in->key_pem);
  }
  absl::StatusOr<std::shared_ptr<const edge::ZoneConfig>> built = edge::BuildZone(edge_zone);
  if (!built.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zone ", row.hostname, ": edges cannot serve it: ", built.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
