#include "dataplane/config/access_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/field_selector.h"
#include "common/x509_info.h"
#include "openssl/bytestring.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/mem.h"
#include "openssl/obj.h"
#include "openssl/sha.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "re2/re2.h"

namespace certgate::edge {

namespace {

std::string Sha256(absl::string_view bytes) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Der(const X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(const_cast<X509*>(cert), &der);
  if (len < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// Glob: `*` matches any run of characters (none included); linear-time
// two-pointer match, so no pattern can make it backtrack exponentially.
bool GlobMatch(absl::string_view pattern, absl::string_view text, bool fold_case) {
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  auto same = [fold_case](char a, char b) {
    return fold_case ? absl::ascii_tolower(a) == absl::ascii_tolower(b) : a == b;
  };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

bool AnyGlob(const std::vector<std::string>& patterns, const std::vector<std::string>& values,
             bool fold_case) {
  for (const std::string& value : values) {
    for (const std::string& pattern : patterns) {
      if (GlobMatch(pattern, value, fold_case)) {
        return true;
      }
    }
  }
  return false;
}

struct IpRange {
  std::string address;  // raw 4 or 16 bytes
  int prefix_bits = 0;
};

absl::StatusOr<IpRange> ParseIpRange(absl::string_view text) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, '/');
  std::string host(parts.first);
  IpRange range;
  uint8_t bytes[16];
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) {
    range.address.assign(reinterpret_cast<char*>(bytes), 4);
  } else if (inet_pton(AF_INET6, host.c_str(), bytes) == 1) {
    range.address.assign(reinterpret_cast<char*>(bytes), 16);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address or range"));
  }
  int max_bits = static_cast<int>(range.address.size()) * 8;
  range.prefix_bits = max_bits;
  if (absl::StrContains(text, '/') && (!absl::SimpleAtoi(parts.second, &range.prefix_bits) ||
                                       range.prefix_bits < 0 || range.prefix_bits > max_bits)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" has a bad prefix length"));
  }
  return range;
}

bool InRange(const IpRange& range, absl::string_view address) {
  if (address.size() != range.address.size()) {
    return false;
  }
  int bits = range.prefix_bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((static_cast<uint8_t>(address[i]) & mask) !=
        (static_cast<uint8_t>(range.address[i]) & mask)) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::string> EkuOid(absl::string_view name) {
  if (name == "clientAuth") return std::string("1.3.6.1.5.5.7.3.2");
  if (name == "serverAuth") return std::string("1.3.6.1.5.5.7.3.1");
  if (name == "codeSigning") return std::string("1.3.6.1.5.5.7.3.3");
  if (name == "emailProtection") return std::string("1.3.6.1.5.5.7.3.4");
  bssl::UniquePtr<ASN1_OBJECT> object(OBJ_txt2obj(std::string(name).c_str(), 1));
  if (object == nullptr || !absl::StrContains(name, '.')) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("unknown extended key usage \"", name,
                     "\" (clientAuth, serverAuth, codeSigning, emailProtection or a dotted OID)"));
  }
  return std::string(name);
}

absl::StatusOr<std::string> ParseSha256Hex(absl::string_view text) {
  std::string clean = absl::AsciiStrToLower(text);
  clean.erase(std::remove(clean.begin(), clean.end(), ':'), clean.end());
  if (clean.size() != 64 ||
      !std::all_of(clean.begin(), clean.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a SHA-256 hash in hex (64 hex digits)"));
  }
  return absl::HexStringToBytes(clean);
}

absl::StatusOr<std::unique_ptr<re2::RE2>> CompileRegex(const std::string& pattern,
                                                       absl::string_view what) {
  if (pattern.size() > AccessPolicy::kMaxPatternBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is longer than ", AccessPolicy::kMaxPatternBytes, " bytes"));
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  auto re = std::make_unique<re2::RE2>(pattern, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " \"", absl::CHexEscape(pattern), "\" is not a valid RE2 expression: ", re->error()));
  }
  if (re->ProgramSize() > AccessPolicy::kMaxRegexProgramSize) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is too complex (program size ",
                                                   re->ProgramSize(), ", at most ",
                                                   AccessPolicy::kMaxRegexProgramSize, ")"));
  }
  return re;
}

absl::Status CheckPatterns(const google::protobuf::RepeatedPtrField<std::string>& list,
                           absl::string_view what) {
  if (list.size() > AccessPolicy::kMaxPatternsPerList) {
    return absl::InvalidArgumentError(
        absl::StrCat("more than ", AccessPolicy::kMaxPatternsPerList, " ", what, " patterns"));
  }
  for (const std::string& pattern : list) {
    if (pattern.empty() || pattern.size() > AccessPolicy::kMaxPatternBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " pattern must be 1 to ", AccessPolicy::kMaxPatternBytes, " bytes long"));
    }
  }
  return absl::OkStatus();
}

std::string CaId(const X509* cert) { return Sha256FingerprintHex(cert).substr(0, 16); }

}  // namespace

CertIdentity CertIdentity::Of(const X509* leaf, std::vector<std::string> verified_issuers) {
  CertIdentity out;
  out.fingerprint_sha256 = Sha256(Der(leaf));
  uint8_t* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &spki);
  if (spki_len > 0) {
    out.spki_sha256 = Sha256(
        absl::string_view(reinterpret_cast<const char*>(spki), static_cast<size_t>(spki_len)));
    OPENSSL_free(spki);
  } else {
    ERR_clear_error();
  }
  out.san_dns = SubjectAltNames(leaf, GEN_DNS);
  out.san_uri = SubjectAltNames(leaf, GEN_URI);
  out.san_email = SubjectAltNames(leaf, GEN_EMAIL);
  for (const std::string& text : SubjectAltNames(leaf, GEN_IPADD)) {
    absl::StatusOr<IpRange> parsed = ParseIpRange(text);
    if (parsed.ok()) {
      out.san_ip.push_back(parsed->address);
    }
  }
  out.subject_cn = NameAttributeList(X509_get_subject_name(leaf), NID_commonName);
  out.subject_o = NameAttributeList(X509_get_subject_name(leaf), NID_organizationName);
  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(leaf, NID_ext_key_usage, nullptr, nullptr)));
  for (size_t i = 0; eku != nullptr && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    char text[128];
    int len = OBJ_obj2txt(text, sizeof(text), sk_ASN1_OBJECT_value(eku.get(), i), 1);
    if (len > 0 && static_cast<size_t>(len) < sizeof(text)) {
      out.ekus.emplace_back(text, static_cast<size_t>(len));
    }
  }
  out.issuer_names_der = std::move(verified_issuers);
  ERR_clear_error();
  return out;
}

struct AccessPolicy::Rule {
  std::string id;  // for the per-rule counters
  v1::PathMatch path_match = v1::PATH_MATCH_ANY;
  std::string path;
  std::unique_ptr<re2::RE2> path_regex;
  std::vector<std::string> methods;
  std::string host;
  v1::RuleAction action = v1::RULE_ACTION_ENFORCE;
  // Identity constraints.
  bool has_identity = false;
  std::vector<std::string> san_dns, san_uri, san_email;
  std::vector<IpRange> san_ip;
  std::string spiffe_trust_domain, spiffe_path_prefix;
  std::unique_ptr<re2::RE2> subject_cn, subject_o;
  bool has_issuers = false;
  absl::flat_hash_set<std::string> issuer_names_der;  // subjects under the named CAs
  std::vector<std::string> ekus;
  absl::flat_hash_set<std::string> allowlist;  // raw fingerprint or SPKI hashes
};

AccessPolicy::~AccessPolicy() = default;

absl::string_view AccessPolicy::rule_id(int index) const {
  return index >= 0 && static_cast<size_t>(index) < rules_.size()
             ? absl::string_view(rules_[static_cast<size_t>(index)].id)
             : absl::string_view();
}

absl::Status AccessPolicy::CheckRule(const v1::AccessRule& rule) {
  v1::EdgeZone zone;
  *zone.add_access_rules() = rule;
  absl::StatusOr<std::unique_ptr<const AccessPolicy>> policy = Create(zone);
  return policy.ok() ? absl::OkStatus() : policy.status();
}

absl::StatusOr<std::unique_ptr<const AccessPolicy>> AccessPolicy::Create(const v1::EdgeZone& zone) {
  auto policy = std::unique_ptr<AccessPolicy>(new AccessPolicy());
  policy->validation_ = zone.validation();
  if (zone.validation().max_chain_depth() < 0 || zone.validation().max_chain_depth() > 8) {
    return absl::InvalidArgumentError("max chain depth must be between 0 (default) and 8");
  }
  if (zone.access_rules_size() > kMaxRules) {
    return absl::InvalidArgumentError(absl::StrCat(
        zone.access_rules_size(), " access rules; at most ", kMaxRules, " are allowed"));
  }
  // The zone's CAs by id, for issuer constraints: parsed only when a rule
  // names one.
  struct Ca {
    std::string id, subject_der, issuer_der;
  };
  std::vector<Ca> cas;
  bool any_issuers = false;
  for (const v1::AccessRule& rule : zone.access_rules()) {
    any_issuers = any_issuers || rule.identity().issuers_size() > 0;
  }
  if (any_issuers) {
    std::vector<const std::string*> ders;
    for (const std::string& der : zone.roots_der()) ders.push_back(&der);
    for (const std::string& der : zone.intermediates_der()) ders.push_back(&der);
    for (const std::string* der : ders) {
      const uint8_t* p = reinterpret_cast<const uint8_t*>(der->data());
      bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
      if (cert == nullptr) {
        ERR_clear_error();
        continue;  // the trust store build reports it
      }
      cas.push_back({CaId(cert.get()), NameToDer(X509_get_subject_name(cert.get())),
                     NameToDer(X509_get_issuer_name(cert.get()))});
    }
  }

  for (int i = 0; i < zone.access_rules_size(); ++i) {
    const v1::AccessRule& in = zone.access_rules(i);
    auto fail = [i](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("access rule ", i + 1, ": ", what));
    };
    Rule rule;
    rule.id = in.id();
    rule.path_match = in.path_match();
    rule.path = in.path();
    switch (in.path_match()) {
      case v1::PATH_MATCH_ANY:
        if (!in.path().empty()) {
          return fail("a path needs a match kind (prefix, exact or regex)");
        }
        break;
      case v1::PATH_MATCH_PREFIX:
      case v1::PATH_MATCH_EXACT:
        if (!absl::StartsWith(in.path(), "/") || in.path().size() > kMaxPatternBytes) {
          return fail(absl::StrCat("path must start with / and be at most ", kMaxPatternBytes,
                                   " bytes long"));
        }
        if (in.path() != NormalizePath(in.path())) {
          return fail(
              absl::StrCat("path \"", absl::CHexEscape(in.path()), "\" is not normalised (",
                           "no %XX of unreserved characters, no dot segments or //, no ?)"));
        }
        break;
      case v1::PATH_MATCH_REGEX: {
        absl::StatusOr<std::unique_ptr<re2::RE2>> re = CompileRegex(in.path(), "path regex");
        if (!re.ok()) {
          return fail(re.status().message());
        }
        rule.path_regex = std::move(re).value();
        break;
      }
      default:
        return fail("unknown path match kind");
    }
    if (in.methods_size() > 16) {
      return fail("more than 16 methods");
    }
    for (const std::string& method : in.methods()) {
      if (method.empty() || method.size() > 32 ||
          !std::all_of(method.begin(), method.end(),
                       [](char c) { return absl::ascii_isupper(c) || c == '-' || c == '_'; })) {
        return fail(absl::StrCat("method \"", absl::CHexEscape(method),
                                 "\" must be an uppercase token such as GET"));
      }
      rule.methods.push_back(method);
    }
    if (!in.host().empty()) {
      // The zone's hostname is unknown when one rule is checked alone.
      bool wildcard = absl::StartsWith(zone.hostname(), "*.");
      if (!wildcard && !zone.hostname().empty()) {
        return fail("a host applies only to a wildcard zone");
      }
      if (in.host() != absl::AsciiStrToLower(in.host()) || in.host().size() > 253 ||
          (wildcard && !absl::EndsWith(in.host(), zone.hostname().substr(1)))) {
        return fail(absl::StrCat("host \"", absl::CHexEscape(in.host()),
                                 "\" must be a lowercase name of the zone"));
      }
      rule.host = in.host();
    }
    if (in.action() < v1::RULE_ACTION_ENFORCE || in.action() > v1::RULE_ACTION_OFF) {
      return fail("action must be enforce, report or off");
    }
    rule.action = in.action();

    const v1::IdentityConstraints& id = in.identity();
    rule.has_identity = id.ByteSizeLong() > 0;
    if (rule.has_identity && rule.action == v1::RULE_ACTION_OFF) {
      return fail("identity constraints need the enforce or report action");
    }
    for (auto [list, what] :
         {std::pair{&id.san_dns(), "SAN DNS"}, std::pair{&id.san_uri(), "SAN URI"},
          std::pair{&id.san_email(), "SAN email"}, std::pair{&id.san_ip(), "SAN IP"},
          std::pair{&id.issuers(), "issuer"}, std::pair{&id.ekus(), "EKU"},
          std::pair{&id.fingerprints_sha256(), "fingerprint"},
          std::pair{&id.spki_sha256(), "SPKI pin"}}) {
      if (absl::Status s = CheckPatterns(*list, what); !s.ok()) {
        return fail(s.message());
      }
    }
    rule.san_dns.assign(id.san_dns().begin(), id.san_dns().end());
    rule.san_uri.assign(id.san_uri().begin(), id.san_uri().end());
    rule.san_email.assign(id.san_email().begin(), id.san_email().end());
    for (const std::string& text : id.san_ip()) {
      absl::StatusOr<IpRange> range = ParseIpRange(text);
      if (!range.ok()) {
        return fail(range.status().message());
      }
      rule.san_ip.push_back(*std::move(range));
    }
    if (!id.spiffe_path_prefix().empty() && id.spiffe_trust_domain().empty()) {
      return fail("a SPIFFE path prefix needs a trust domain");
    }
    if (!id.spiffe_trust_domain().empty()) {
      const std::string& td = id.spiffe_trust_domain();
      if (td.size() > 255 || !std::all_of(td.begin(), td.end(), [](char c) {
            return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '-' ||
                   c == '_';
          })) {
        return fail(absl::StrCat("SPIFFE trust domain \"", absl::CHexEscape(td),
                                 "\" may hold only a-z, 0-9, '.', '-' and '_'"));
      }
      const std::string& prefix = id.spiffe_path_prefix();
      if (!prefix.empty() && (prefix[0] != '/' || prefix.size() > kMaxPatternBytes)) {
        return fail("SPIFFE path prefix must start with /");
      }
    }
    rule.spiffe_trust_domain = id.spiffe_trust_domain();
    rule.spiffe_path_prefix = id.spiffe_path_prefix();
    if (!id.subject_cn().empty()) {
      absl::StatusOr<std::unique_ptr<re2::RE2>> re =
          CompileRegex(id.subject_cn(), "subject CN regex");
      if (!re.ok()) {
        return fail(re.status().message());
      }
      rule.subject_cn = std::move(re).value();
    }
    if (!id.subject_o().empty()) {
      absl::StatusOr<std::unique_ptr<re2::RE2>> re =
          CompileRegex(id.subject_o(), "subject O regex");
      if (!re.ok()) {
        return fail(re.status().message());
      }
      rule.subject_o = std::move(re).value();
    }
    rule.has_issuers = id.issuers_size() > 0;
    for (const std::string& issuer : id.issuers()) {
      if (issuer.size() != 16 || !std::all_of(issuer.begin(), issuer.end(), [](char c) {
            return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
          })) {
        return fail(absl::StrCat("issuer \"", absl::CHexEscape(issuer),
                                 "\" is not a CA id (16 lowercase hex digits)"));
      }
      // The CA's own subject, then every zone CA that leads to it by name:
      // a leaf under an intermediate of a named root names the intermediate.
      for (const Ca& ca : cas) {
        if (ca.id == issuer) {
          rule.issuer_names_der.insert(ca.subject_der);
        }
      }
      for (size_t round = 0; round < 8; ++round) {
        bool grew = false;
        for (const Ca& ca : cas) {
          if (rule.issuer_names_der.contains(ca.issuer_der) &&
              rule.issuer_names_der.insert(ca.subject_der).second) {
            grew = true;
          }
        }
        if (!grew) break;
      }
    }
    for (const std::string& eku : id.ekus()) {
      absl::StatusOr<std::string> oid = EkuOid(eku);
      if (!oid.ok()) {
        return fail(oid.status().message());
      }
      rule.ekus.push_back(*std::move(oid));
    }
    for (const auto* list : {&id.fingerprints_sha256(), &id.spki_sha256()}) {
      for (const std::string& hex : *list) {
        absl::StatusOr<std::string> raw = ParseSha256Hex(hex);
        if (!raw.ok()) {
          return fail(raw.status().message());
        }
        rule.allowlist.insert(*raw);
        policy->pins_.insert(*raw);
      }
    }
    policy->needs_identity_ = policy->needs_identity_ || rule.has_identity;
    policy->requests_certificate_ =
        policy->requests_certificate_ || rule.action != v1::RULE_ACTION_OFF;
    policy->rules_.push_back(std::move(rule));
  }
  return std::unique_ptr<const AccessPolicy>(std::move(policy));
}

std::string AccessPolicy::NormalizePath(absl::string_view origin_form, PathReading reading) {
  absl::string_view path = origin_form.substr(0, origin_form.find('?'));
  bool separators = reading == PathReading::kDecodeSeparators;
  // Decode only unreserved characters: %2F stays, as origins keep it apart
  // from a real slash.
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && absl::ascii_isxdigit(path[i + 1]) &&
        absl::ascii_isxdigit(path[i + 2])) {
      std::string byte = absl::HexStringToBytes(path.substr(i + 1, 2));
      char c = byte.empty() ? 0 : byte[0];
      if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        decoded.push_back(c);
        i += 2;
        continue;
      }
      if (separators && (c == '/' || c == '\\')) {
        decoded.push_back('/');
        i += 2;
        continue;
      }
    }
    decoded.push_back(separators && path[i] == '\\' ? '/' : path[i]);
  }
  // Dot segments out (RFC 3986 5.2.4), empty segments merged.
  std::vector<absl::string_view> out;
  std::vector<absl::string_view> segments = absl::StrSplit(decoded, '/');
  bool trailing = !decoded.empty() && decoded.back() == '/';
  for (absl::string_view segment : segments) {
    if (separators) {
      segment = segment.substr(0, segment.find(';'));
    }
    if (segment.empty() || segment == ".") {
      continue;
    }
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(segment);
  }
  if (!segments.empty() && (segments.back() == "." || segments.back() == "..")) {
    trailing = true;
  }
  std::string result = absl::StrCat("/", absl::StrJoin(out, "/"));
  if (trailing && !out.empty()) {
    result.push_back('/');
  }
  return result;
}

bool AccessPolicy::IsPinned(const CertIdentity& identity) const {
  return pins_.contains(identity.fingerprint_sha256) || pins_.contains(identity.spki_sha256);
}

int AccessPolicy::MatchRule(absl::string_view host, absl::string_view method,
                            absl::string_view normalized) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!rule.host.empty() && rule.host != host) continue;
    if (!rule.methods.empty() &&
        std::find(rule.methods.begin(), rule.methods.end(), method) == rule.methods.end()) {
      continue;
    }
    bool path_ok = true;
    switch (rule.path_match) {
      case v1::PATH_MATCH_PREFIX:
        path_ok = absl::StartsWith(normalized, rule.path);
        break;
      case v1::PATH_MATCH_EXACT:
        path_ok = normalized == rule.path;
        break;
      case v1::PATH_MATCH_REGEX:
        path_ok = re2::RE2::FullMatch(re2::StringPiece(normalized.data(), normalized.size()),
                                      *rule.path_regex);
        break;
      default:
        break;
    }
    if (!path_ok) continue;
    return static_cast<int>(i);
  }
  return -1;
}

RuleVerdict AccessPolicy::Evaluate(v1::Mode zone_mode, absl::string_view host,
                                   absl::string_view method, absl::string_view path,
                                   bool cert_valid, absl::string_view cert_reason, bool pinned,
                                   const CertIdentity* identity) const {
  if (rules_.empty()) {
    return Judge(-1, zone_mode, cert_valid, cert_reason, pinned, identity);
  }
  // Most paths are already normal: then no copy is made.
  absl::string_view raw = path.substr(0, path.find('?'));
  bool plain = absl::StartsWith(raw, "/") && !absl::StrContains(raw, '%') &&
               !absl::StrContains(raw, "/.") && !absl::StrContains(raw, "//") &&
               !absl::StrContains(raw, '\\') && !absl::StrContains(raw, ';');
  std::string copy = plain ? std::string() : NormalizePath(path);
  int index = MatchRule(host, method, plain ? raw : absl::string_view(copy));
  RuleVerdict verdict = Judge(index, zone_mode, cert_valid, cert_reason, pinned, identity);
  if (plain) {
    return verdict;
  }
  // Origins disagree on %2F, %5C, '\\' and ";params" (Tomcat reads
  // "/public/..;/api" as "/api"; a decoding router reads "/public%2F..%2Fapi"
  // as "/api"): the request must pass under that reading too, and a pinned
  // certificate is vouched for only if both readings list it.
  int other = MatchRule(host, method, NormalizePath(path, PathReading::kDecodeSeparators));
  if (other == index) {
    return verdict;
  }
  RuleVerdict alternative = Judge(other, zone_mode, cert_valid, cert_reason, pinned, identity);
  if (alternative.action == v1::RULE_ACTION_ENFORCE && !alternative.refusal.empty() &&
      !(verdict.action == v1::RULE_ACTION_ENFORCE && !verdict.refusal.empty())) {
    return alternative;
  }
  if (alternative.unvouched && !verdict.unvouched) {
    verdict.unvouched = true;
    if (verdict.action != v1::RULE_ACTION_OFF && verdict.refusal.empty()) {
      verdict.refusal = "not_allowlisted";
    }
  }
  return verdict;
}

RuleVerdict AccessPolicy::Judge(int index, v1::Mode zone_mode, bool cert_valid,
                                absl::string_view cert_reason, bool pinned,
                                const CertIdentity* identity) const {
  RuleVerdict verdict;
  const Rule* match = index >= 0 ? &rules_[index] : nullptr;
  verdict.rule = index;
  if (match != nullptr) {
    verdict.action = match->action;
  } else {
    verdict.action = zone_mode == v1::MODE_ENFORCE  ? v1::RULE_ACTION_ENFORCE
                     : zone_mode == v1::MODE_REPORT ? v1::RULE_ACTION_REPORT
                                                    : v1::RULE_ACTION_OFF;
  }
  bool listed = match != nullptr && identity != nullptr &&
                (match->allowlist.contains(identity->fingerprint_sha256) ||
                 match->allowlist.contains(identity->spki_sha256));
  // A pinned certificate is valid only where it is pinned: elsewhere (an
  // off or report action included) it is not said to be valid.
  verdict.unvouched = cert_valid && pinned && !listed;
  if (verdict.action == v1::RULE_ACTION_OFF) {
    return verdict;
  }
  if (!cert_valid) {
    verdict.refusal = cert_reason.empty() ? "none" : std::string(cert_reason);
    return verdict;
  }
  if (verdict.unvouched) {
    verdict.refusal = "not_allowlisted";
    return verdict;
  }
  if (match == nullptr || !match->has_identity) {
    return verdict;
  }
  if (identity == nullptr) {
    verdict.refusal = "identity_mismatch";
    return verdict;
  }
  auto refuse = [&verdict](absl::string_view what) {
    verdict.refusal = absl::StrCat("identity_mismatch:", what);
    return verdict;
  };
  if (!match->allowlist.empty() && !listed) {
    verdict.refusal = "not_allowlisted";
    return verdict;
  }
  if (!match->san_dns.empty() && !AnyGlob(match->san_dns, identity->san_dns, true)) {
    return refuse("san_dns");
  }
  if (!match->san_uri.empty() && !AnyGlob(match->san_uri, identity->san_uri, false)) {
    return refuse("san_uri");
  }
  if (!match->san_email.empty() && !AnyGlob(match->san_email, identity->san_email, true)) {
    return refuse("san_email");
  }
  if (!match->san_ip.empty()) {
    bool any = false;
    for (const std::string& ip : identity->san_ip) {
      for (const IpRange& range : match->san_ip) {
        any = any || InRange(range, ip);
      }
    }
    if (!any) return refuse("san_ip");
  }
  if (!match->spiffe_trust_domain.empty()) {
    bool any = false;
    for (const std::string& uri : identity->san_uri) {
      if (!absl::StartsWith(uri, "spiffe://")) continue;
      absl::string_view rest = absl::string_view(uri).substr(9);
      size_t slash = rest.find('/');
      absl::string_view domain = rest.substr(0, slash);
      absl::string_view id_path =
          slash == absl::string_view::npos ? absl::string_view("") : rest.substr(slash);
      // The path is compared segment-exact: "/device" and "/device/" admit
      // "/device/a", never "/device-admin" nor "/device/../admin" (SPIFFE IDs
      // have no dot segments).
      const std::string& prefix = match->spiffe_path_prefix;
      bool under = absl::StartsWith(id_path, prefix) &&
                   (prefix.empty() || prefix.back() == '/' || id_path.size() == prefix.size() ||
                    id_path[prefix.size()] == '/');
      if (absl::EqualsIgnoreCase(domain, match->spiffe_trust_domain) && under &&
          !absl::StrContains(id_path, "/..") && !absl::StrContains(id_path, "/./")) {
        any = true;
      }
    }
    if (!any) return refuse("spiffe");
  }
  auto any_full = [](const re2::RE2& re, const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      if (re2::RE2::FullMatch(value, re)) return true;
    }
    return false;
  };
  if (match->subject_cn != nullptr && !any_full(*match->subject_cn, identity->subject_cn)) {
    return refuse("subject_cn");
  }
  if (match->subject_o != nullptr && !any_full(*match->subject_o, identity->subject_o)) {
    return refuse("subject_o");
  }
  if (match->has_issuers) {
    bool any = false;
    for (const std::string& name : identity->issuer_names_der) {
      any = any || match->issuer_names_der.contains(name);
    }
    if (!any) return refuse("issuer");
  }
  for (const std::string& eku : match->ekus) {
    if (std::find(identity->ekus.begin(), identity->ekus.end(), eku) == identity->ekus.end()) {
      return refuse("eku");
    }
  }
  return verdict;
}

}  // namespace certgate::edge
