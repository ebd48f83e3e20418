#include "dataplane/tls/zone_trust.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/pem.h"
#include "common/status_macros.h"
#include "common/x509_info.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate::edge {

namespace {

std::string OctetString(const ASN1_OCTET_STRING* octets) {
  if (octets == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets)),
                     static_cast<size_t>(ASN1_STRING_length(octets)));
}

// CanonicalSerial: lowercase hex without leading zeros, as the stream and
// SerialHex() spell serials.
std::string CanonicalSerial(absl::string_view serial_hex) {
  std::string serial = absl::AsciiStrToLower(serial_hex);
  size_t first = serial.find_first_not_of('0');
  if (first == std::string::npos) {
    return "0";
  }
  return serial.substr(first);
}

std::string RevokedKey(absl::string_view issuer_der, absl::string_view serial_hex) {
  return absl::StrCat(issuer_der, absl::string_view("\0", 1), serial_hex);
}

// TrustMaterial: a SHA-256 of everything a ZoneTrust is made of (roots,
// intermediates, revocations), each field length-prefixed so that no two
// different materials read the same.
std::string TrustMaterial(const v1::EdgeZone& zone) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  auto add = [&ctx](uint8_t tag, absl::string_view bytes) {
    uint64_t size = bytes.size();
    SHA256_Update(&ctx, &tag, 1);
    SHA256_Update(&ctx, &size, sizeof(size));
    SHA256_Update(&ctx, bytes.data(), bytes.size());
  };
  for (const std::string& root : zone.roots_der()) add(1, root);
  for (const std::string& intermediate : zone.intermediates_der()) add(2, intermediate);
  for (const v1::RevokedSerial& revoked : zone.revoked()) {
    add(3, revoked.issuer_name_der());
    add(4, revoked.serial_hex());
  }
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256_Final(reinterpret_cast<uint8_t*>(digest.data()), &ctx);
  return digest;
}

// SharedTrusts: the trust stores alive in the process by material. Zones
// with the same roots, intermediates and revocations (a tenant's zones under
// one CA; every zone without client certificates) share one store, which is
// immutable and judges every chain the same for each of them; an X509_STORE
// is about a kilobyte even when empty.
struct SharedTrusts {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::weak_ptr<const ZoneTrust>> by_material ABSL_GUARDED_BY(mu);
  size_t purge_at ABSL_GUARDED_BY(mu) = 1024;
};

SharedTrusts& Shared() {
  static SharedTrusts* shared = new SharedTrusts();  // never destroyed: used until exit
  return *shared;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ZoneTrust>> ZoneTrust::Create(const v1::EdgeZone& zone) {
  std::string material = TrustMaterial(zone);
  SharedTrusts& shared = Shared();
  {
    absl::MutexLock lock(&shared.mu);
    auto it = shared.by_material.find(material);
    if (it != shared.by_material.end()) {
      if (std::shared_ptr<const ZoneTrust> alive = it->second.lock()) {
        return alive;
      }
    }
  }
  // Built without the lock: two zones with new equal material may both build
  // it; the later one's is kept for the next.
  ASSIGN_OR_RETURN(std::shared_ptr<const ZoneTrust> trust, Build(zone));
  absl::MutexLock lock(&shared.mu);
  shared.by_material[material] = trust;
  if (shared.by_material.size() >= shared.purge_at) {
    absl::erase_if(shared.by_material, [](const auto& entry) { return entry.second.expired(); });
    shared.purge_at = std::max<size_t>(1024, 2 * shared.by_material.size());
  }
  return trust;
}

absl::StatusOr<std::shared_ptr<const ZoneTrust>> ZoneTrust::Build(const v1::EdgeZone& zone) {
  std::shared_ptr<ZoneTrust> trust(new ZoneTrust());
  trust->store_.reset(X509_STORE_new());
  trust->intermediates_.reset(sk_X509_new_null());
  if (!trust->store_ || !trust->intermediates_) {
    return absl::ResourceExhaustedError("out of memory building a trust store");
  }
  auto index = [&trust](X509* cert) {
    trust->subject_hashes_.insert(X509_NAME_hash(X509_get_subject_name(cert)));
    std::string key_id = OctetString(X509_get0_subject_key_id(cert));
    if (!key_id.empty()) {
      trust->key_ids_.insert(std::move(key_id));
    }
  };
  for (int i = 0; i < zone.roots_der_size(); ++i) {
    auto cert = CertificateFromDer(zone.roots_der(i));
    if (!cert.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "root ", i + 1, " is not a valid DER certificate: ", cert.status().message()));
    }
    if (!X509_STORE_add_cert(trust->store_.get(), cert->get())) {
      // A duplicate root is harmless; anything else is not.
      ERR_clear_error();
    }
    index(cert->get());
    trust->roots_.push_back(std::move(*cert));
  }
  for (int i = 0; i < zone.intermediates_der_size(); ++i) {
    auto cert = CertificateFromDer(zone.intermediates_der(i));
    if (!cert.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "intermediate ", i + 1, " is not a valid DER certificate: ", cert.status().message()));
    }
    index(cert->get());
    if (!sk_X509_push(trust->intermediates_.get(), cert->get())) {
      return absl::ResourceExhaustedError("out of memory building a trust store");
    }
    cert->release();
  }
  for (const v1::RevokedSerial& revoked : zone.revoked()) {
    if (revoked.serial_hex().empty()) {
      return absl::InvalidArgumentError("revocation with an empty serial");
    }
    std::string serial = CanonicalSerial(revoked.serial_hex());
    if (revoked.issuer_name_der().empty()) {
      trust->revoked_any_issuer_.insert(std::move(serial));
    } else {
      trust->revoked_.insert(RevokedKey(revoked.issuer_name_der(), serial));
    }
  }
  return std::shared_ptr<const ZoneTrust>(std::move(trust));
}

bool ZoneTrust::KnowsIssuerOf(const X509* cert) const {
  if (subject_hashes_.contains(X509_NAME_hash(X509_get_issuer_name(cert)))) {
    return true;
  }
  std::string aki = OctetString(X509_get0_authority_key_id(const_cast<X509*>(cert)));
  return !aki.empty() && key_ids_.contains(aki);
}

bool ZoneTrust::IsRevoked(const X509* cert) const {
  if (!has_revocations()) {
    return false;
  }
  std::string serial = SerialHex(cert);
  if (revoked_any_issuer_.contains(serial)) {
    return true;
  }
  return !revoked_.empty() &&
         revoked_.contains(RevokedKey(NameToDer(X509_get_issuer_name(cert)), serial));
}

std::vector<std::string> ZoneTrust::ClientCaNames(size_t max_total_bytes) const {
  std::vector<std::string> names;
  size_t total = 0;
  for (const auto& root : roots_) {
    std::string der = NameToDer(X509_get_subject_name(root.get()));
    // Each name costs its DER plus a two-byte length prefix on the wire.
    if (der.empty() || total + der.size() + 2 > max_total_bytes) {
      continue;
    }
    total += der.size() + 2;
    names.push_back(std::move(der));
  }
  return names;
}

}  // namespace certgate::edge
