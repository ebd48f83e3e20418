#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"
#include "openssl/x509.h"

namespace re2 {
class RE2;
}

namespace certgate::edge {

// CertIdentity is what access rules may check about a client's leaf,
// extracted once per handshake (CertIdentity::Of), never per request.
struct CertIdentity {
  std::string fingerprint_sha256;  // raw 32 bytes of SHA-256(DER)
  std::string spki_sha256;         // raw 32 bytes of SHA-256(SubjectPublicKeyInfo)
  std::vector<std::string> san_dns;
  std::vector<std::string> san_uri;
  std::vector<std::string> san_email;
  std::vector<std::string> san_ip;  // raw 4 or 16 bytes
  std::vector<std::string> subject_cn;
  std::vector<std::string> subject_o;
  std::vector<std::string> ekus;  // dotted OIDs of extendedKeyUsage
  // Subjects (DER) of the CAs the chain walk verified, the leaf's issuer
  // first: never the certificates a client merely sent along (any public CA
  // certificate would do), and none for a pinned leaf.
  std::vector<std::string> issuer_names_der;

  // Of reads `leaf` (not null); `verified_issuers` are the subjects of the
  // verified chain above it (CertVerifier's walk).
  static CertIdentity Of(const X509* leaf, std::vector<std::string> verified_issuers);
};

// RuleVerdict is what the rules make of one request.
struct RuleVerdict {
  int rule = -1;  // index of the matching rule; -1: none, the zone's mode decided
  v1::RuleAction action = v1::RULE_ACTION_OFF;
  // Why the certificate does not satisfy what the action asks ("" when it
  // does, or when the action is off): the certificate's own reason when it
  // is not valid, `not_allowlisted`, or `identity_mismatch:<constraint>`.
  std::string refusal;
  // The certificate is valid only as pinned and this request's rule does not
  // list it: whatever the action, the edge vouches for nothing about it.
  bool unvouched = false;
};

// AccessPolicy is a zone's access rules and validation settings, compiled
// once per zone build (regular expressions included): the pure Evaluate
// runs for every request. Built by the control plane on every change too,
// so whatever an edge would refuse is refused at upload with one line.
class AccessPolicy {
 public:
  // Limits that keep a hostile tenant's rules cheap to build and run.
  static constexpr int kMaxRules = 256;
  static constexpr int kMaxPatternsPerList = 64;
  static constexpr size_t kMaxPatternBytes = 512;
  static constexpr int kMaxRegexProgramSize = 2000;

  // Create compiles `zone`'s rules and settings; INVALID_ARGUMENT naming the
  // rule (1-based) and what is wrong with it.
  static absl::StatusOr<std::unique_ptr<const AccessPolicy>> Create(const v1::EdgeZone& zone);
  ~AccessPolicy();

  // CheckRule: one rule on its own, as AddAccessRule checks it.
  static absl::Status CheckRule(const v1::AccessRule& rule);

  // Evaluate: the first rule matching (host, method, path) decides, else
  // `zone_mode`. `path` is the origin form; its query is ignored and it is
  // normalised (NormalizePath) before matching. `identity` may be null when
  // the certificate is not valid. `pinned`: the certificate chained to no
  // root and was admitted only because a rule of the zone pins it, so only a
  // rule that pins it admits it.
  RuleVerdict Evaluate(v1::Mode zone_mode, absl::string_view host, absl::string_view method,
                       absl::string_view path, bool cert_valid, absl::string_view cert_reason,
                       bool pinned, const CertIdentity* identity) const;

  // NormalizePath: the path of an origin-form target as an origin would
  // most likely read it, so that "/%61pi", "/./api" and "//api" meet a rule
  // for "/api": query dropped, %XX of unreserved characters decoded, dot
  // segments removed, repeated slashes merged. kDecodeSeparators is the
  // reading of origins that also decode %2F and %5C, take '\\' for '/' and
  // drop ";params" from segments: Evaluate requires a request to pass under
  // both readings.
  enum class PathReading { kAsSent, kDecodeSeparators };
  static std::string NormalizePath(absl::string_view origin_form,
                                   PathReading reading = PathReading::kAsSent);

  // IsPinned: the leaf's fingerprint or SPKI hash is allowlisted by a rule.
  bool IsPinned(const CertIdentity& identity) const;
  bool has_pins() const { return !pins_.empty(); }
  // Whether any rule reads the certificate's identity (then the handshake
  // extracts it).
  bool needs_identity() const { return needs_identity_; }
  // Whether any rule asks for a certificate (enforce or report): a zone in
  // mode off still requests one then.
  bool requests_certificate() const { return requests_certificate_; }
  bool empty() const { return rules_.empty(); }
  // rule_id: the id of rule `index` (as in RuleVerdict::rule); empty when
  // there is no such rule.
  absl::string_view rule_id(int index) const;

  const v1::ValidationSettings& validation() const { return validation_; }

 private:
  // MatchRule: the index of the first rule matching the request, or -1.
  int MatchRule(absl::string_view host, absl::string_view method,
                absl::string_view normalized) const;
  // Judge: the verdict of rule `index` (-1: the zone's mode) on the
  // certificate.
  RuleVerdict Judge(int index, v1::Mode zone_mode, bool cert_valid, absl::string_view cert_reason,
                    bool pinned, const CertIdentity* identity) const;
  struct Rule;
  AccessPolicy() = default;
  std::vector<Rule> rules_;
  absl::flat_hash_set<std::string> pins_;  // raw fingerprint or SPKI hashes
  bool needs_identity_ = false;
  bool requests_certificate_ = false;
  v1::ValidationSettings validation_;
};

}  // namespace certgate::edge
