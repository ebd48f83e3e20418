#include "common/field_selector.h"

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/pem.h"
#include "common/x509_info.h"
#include "openssl/base64.h"
#include "openssl/bytestring.h"
#include "openssl/err.h"
#include "openssl/mem.h"
#include "openssl/obj.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace certgate {
namespace {

constexpr absl::string_view kExtPrefix = "ext.";
constexpr absl::string_view kListSeparator = ", ";

struct NameAttribute {
  const char* short_name;
  int nid;
};
constexpr NameAttribute kNameAttributes[] = {
    {"CN", NID_commonName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"serialNumber", NID_serialNumber},
};

std::vector<std::string> BuildSelectorList() {
  std::vector<std::string> all = {"subject", "issuer"};
  for (const char* which : {"subject", "issuer"}) {
    for (const NameAttribute& attribute : kNameAttributes) {
      all.push_back(absl::StrCat(which, ".", attribute.short_name));
    }
  }
  for (const char* fixed :
       {"serial", "not_before", "not_after", "fingerprint.sha256", "fingerprint.sha1", "ski", "aki",
        "san.dns", "san.uri", "san.email", "san.ip", "spiffe_id", "cert", "chain", "cert.pem",
        "x5t#S256", "xfcc"}) {
    all.push_back(fixed);
  }
  return all;
}

// XfccValue quotes a value of Envoy's X-Forwarded-Client-Cert when it holds
// a separator (`,`, `;`, `=`) or a quote, escaping `"` and `\`.
std::string XfccValue(absl::string_view value, bool always_quote) {
  if (!always_quote && value.find_first_of(",;=\"\\") == absl::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// ValidateOidText accepts dotted decimal with at least two arcs, the first
// 0-2 (X.660), and what BoringSSL can encode.
absl::Status ValidateOidText(absl::string_view selector, absl::string_view oid) {
  auto error = [selector](absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("field selector \"", selector, "\": ", problem));
  };
  if (oid.empty()) {
    return error("no OID after \"ext.\"");
  }
  std::vector<absl::string_view> arcs = absl::StrSplit(oid, '.');
  if (arcs.size() < 2) {
    return error("an OID needs at least two arcs (like 1.3.6.1.4.1.99999.1)");
  }
  for (absl::string_view arc : arcs) {
    if (arc.empty()) {
      return error("empty OID arc");
    }
    for (char c : arc) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return error("an OID is digits and dots only");
      }
    }
    if (arc.size() > 1 && arc.front() == '0') {
      return error("OID arcs have no leading zeros");
    }
  }
  if (arcs[0].size() != 1 || arcs[0][0] > '2') {
    return error("the first OID arc must be 0, 1 or 2");
  }
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), 16) || !CBB_add_asn1_oid_from_text(cbb.get(), oid.data(), oid.size())) {
    ERR_clear_error();
    return error("not a valid OID");
  }
  return absl::OkStatus();
}

std::string Base64(absl::string_view bytes) {
  size_t len = 0;
  if (!EVP_EncodedLength(&len, bytes.size())) {
    return "";
  }
  std::string out(len, '\0');
  size_t written = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(&out[0]),
                                   reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  out.resize(written);
  return out;
}

std::string AsnStringBytes(const ASN1_STRING* str) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                     static_cast<size_t>(ASN1_STRING_length(str)));
}

}  // namespace

std::vector<std::string> NameAttributeList(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  int index = -1;
  while ((index = X509_NAME_get_index_by_NID(name, nid, index)) >= 0) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
      ERR_clear_error();
      // Undecodable string: its raw bytes (escaped by callers that forward).
      values.push_back(AsnStringBytes(data));
      continue;
    }
    bssl::UniquePtr<unsigned char> owner(utf8);
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  }
  return values;
}

std::vector<std::string> SubjectAltNames(const X509* cert, int type) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans == nullptr) {
    return out;
  }
  for (size_t i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
    if (name->type != type) {
      continue;
    }
    switch (type) {
      case GEN_DNS:
        out.push_back(AsnStringBytes(name->d.dNSName));
        break;
      case GEN_URI:
        out.push_back(AsnStringBytes(name->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.push_back(AsnStringBytes(name->d.rfc822Name));
        break;
      case GEN_IPADD: {
        std::string bytes = AsnStringBytes(name->d.iPAddress);
        char text[INET6_ADDRSTRLEN] = {0};
        if (bytes.size() == 4 && inet_ntop(AF_INET, bytes.data(), text, sizeof(text))) {
          out.push_back(text);
        } else if (bytes.size() == 16 && inet_ntop(AF_INET6, bytes.data(), text, sizeof(text))) {
          out.push_back(text);
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

namespace {

// XfccElement: one element of Envoy's X-Forwarded-Client-Cert for the
// client's leaf: Hash (hex SHA-256 of the DER), Subject (always quoted),
// then one URI= and DNS= per SAN, as Envoy's forward_client_cert_details
// with set_current_client_cert_details {subject, uri, dns} writes it.
std::string XfccElement(const X509* leaf) {
  std::string out =
      absl::StrCat("Hash=", Sha256FingerprintHex(leaf),
                   ";Subject=", XfccValue(NameToRfc4514(X509_get_subject_name(leaf)), true));
  for (const std::string& uri : SubjectAltNames(leaf, GEN_URI)) {
    absl::StrAppend(&out, ";URI=", XfccValue(uri, false));
  }
  for (const std::string& dns : SubjectAltNames(leaf, GEN_DNS)) {
    absl::StrAppend(&out, ";DNS=", XfccValue(dns, false));
  }
  return out;
}

// NameAttributeValues: every value of `nid`, ", "-joined (e.g. two OUs).
std::string NameAttributeValues(const X509_NAME* name, int nid) {
  return absl::StrJoin(NameAttributeList(name, nid), kListSeparator);
}

// UrlEncode percent-encodes everything but RFC 3986 unreserved characters,
// as nginx's $ssl_client_escaped_cert does for the PEM.
std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// Rfc9440Item is a Structured Field byte sequence: `:base64(DER):`.
std::string Rfc9440Item(const X509* cert) {
  return absl::StrCat(":", Base64(CertificateToDer(cert)), ":");
}

std::string ExtensionValueBase64(const X509* cert, absl::string_view oid) {
  bssl::UniquePtr<ASN1_OBJECT> object(
      OBJ_txt2obj(std::string(oid).c_str(), /*dont_search_names=*/1));
  if (object == nullptr) {
    ERR_clear_error();
    return "";
  }
  int index = X509_get_ext_by_OBJ(cert, object.get(), -1);
  if (index < 0) {
    return "";
  }
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  return value == nullptr ? "" : Base64(AsnStringBytes(value));
}

// Utf8SequenceLength returns the length of the valid UTF-8 sequence starting
// at text[i] (shortest form, no surrogates, at most U+10FFFF), or 0.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(text.data() + i), text.size() - i);
  uint32_t code_point = 0;
  // Decode by hand: CBS has no UTF-8 reader in this BoringSSL release.
  uint8_t first = 0;
  if (!CBS_get_u8(&cbs, &first)) {
    return 0;
  }
  size_t len = 0;
  uint32_t min = 0;
  if ((first & 0xe0) == 0xc0) {
    len = 2;
    code_point = first & 0x1f;
    min = 0x80;
  } else if ((first & 0xf0) == 0xe0) {
    len = 3;
    code_point = first & 0x0f;
    min = 0x800;
  } else if ((first & 0xf8) == 0xf0) {
    len = 4;
    code_point = first & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    uint8_t next = 0;
    if (!CBS_get_u8(&cbs, &next) || (next & 0xc0) != 0x80) {
      return 0;
    }
    code_point = (code_point << 6) | (next & 0x3f);
  }
  if (code_point < min || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return len;
}

}  // namespace

const std::vector<std::string>& AllFieldSelectors() {
  static const std::vector<std::string>* const kAll =
      new std::vector<std::string>(BuildSelectorList());
  return *kAll;
}

absl::Status ValidateFieldSelector(absl::string_view selector) {
  if (absl::StartsWith(selector, kExtPrefix)) {
    return ValidateOidText(selector, selector.substr(kExtPrefix.size()));
  }
  for (const std::string& known : AllFieldSelectors()) {
    if (selector == known) {
      return absl::OkStatus();
    }
  }
  std::string shown;
  for (char c : selector) {
    shown.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown field selector \"", shown, "\""));
}

absl::StatusOr<std::string> ExtractField(const X509* leaf, const STACK_OF(X509) * chain,
                                         absl::string_view selector) {
  absl::Status valid = ValidateFieldSelector(selector);
  if (!valid.ok()) {
    return valid;
  }
  if (leaf == nullptr) {
    return std::string();
  }
  if (absl::StartsWith(selector, kExtPrefix)) {
    return ExtensionValueBase64(leaf, selector.substr(kExtPrefix.size()));
  }
  if (selector == "cert") {
    return Rfc9440Item(leaf);
  }
  if (selector == "cert.pem") {
    // Already header-safe (only unreserved characters and %XX); escaping it
    // again would turn its %XX into %25XX and break every consumer.
    return UrlEncode(CertificateToPem(leaf));
  }
  if (selector == "x5t#S256") {
    // RFC 8705 3.1: base64url without padding, already header-safe.
    std::string hex = Sha256FingerprintHex(leaf);
    std::string raw = absl::HexStringToBytes(hex);
    return absl::WebSafeBase64Escape(raw);
  }
  if (selector == "xfcc") {
    return EscapeHeaderValue(XfccElement(leaf));
  }
  if (selector == "chain") {
    std::vector<std::string> items;
    std::string leaf_der = CertificateToDer(leaf);
    for (size_t i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      const X509* cert = sk_X509_value(chain, i);
      std::string der = CertificateToDer(cert);
      if (der == leaf_der) {
        continue;  // some stacks (SSL_get_peer_full_cert_chain) include the leaf
      }
      items.push_back(absl::StrCat(":", Base64(der), ":"));
    }
    return absl::StrJoin(items, kListSeparator);
  }
  std::string value;
  for (const char* which : {"subject", "issuer"}) {
    if (selector == which) {
      value =
          NameToRfc4514(which[0] == 's' ? X509_get_subject_name(leaf) : X509_get_issuer_name(leaf));
      return EscapeHeaderValue(value);
    }
    for (const NameAttribute& attribute : kNameAttributes) {
      if (selector == absl::StrCat(which, ".", attribute.short_name)) {
        value = NameAttributeValues(
            which[0] == 's' ? X509_get_subject_name(leaf) : X509_get_issuer_name(leaf),
            attribute.nid);
        return EscapeHeaderValue(value);
      }
    }
  }
  if (selector == "serial") {
    value = SerialHex(leaf);
  } else if (selector == "not_before") {
    value = FormatRfc3339(NotBeforeUnix(leaf));
  } else if (selector == "not_after") {
    value = FormatRfc3339(NotAfterUnix(leaf));
  } else if (selector == "fingerprint.sha256") {
    value = Sha256FingerprintHex(leaf);
  } else if (selector == "fingerprint.sha1") {
    value = Sha1FingerprintHex(leaf);
  } else if (selector == "ski") {
    value = SubjectKeyIdHex(leaf);
  } else if (selector == "aki") {
    value = AuthorityKeyIdHex(leaf);
  } else if (selector == "san.dns") {
    value = absl::StrJoin(SubjectAltNames(leaf, GEN_DNS), kListSeparator);
  } else if (selector == "san.uri") {
    value = absl::StrJoin(SubjectAltNames(leaf, GEN_URI), kListSeparator);
  } else if (selector == "san.email") {
    value = absl::StrJoin(SubjectAltNames(leaf, GEN_EMAIL), kListSeparator);
  } else if (selector == "san.ip") {
    value = absl::StrJoin(SubjectAltNames(leaf, GEN_IPADD), kListSeparator);
  } else if (selector == "spiffe_id") {
    for (const std::string& uri : SubjectAltNames(leaf, GEN_URI)) {
      if (absl::StartsWithIgnoreCase(uri, "spiffe://")) {
        value = uri;
        break;
      }
    }
  }
  return EscapeHeaderValue(value);
}

std::string EscapeHeaderValue(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool escape = false;
    size_t len = 1;
    if (c < 0x20 || c == 0x7f || c == '%') {
      escape = true;
    } else if (c >= 0x80) {
      len = Utf8SequenceLength(value, i);
      if (len == 0) {
        escape = true;  // not UTF-8: never forward stray high bytes
        len = 1;
      }
    }
    if (escape) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.append(value.data() + i, len);
    }
    i += len;
  }
  size_t begin = out.find_first_not_of(' ');
  if (begin == std::string::npos) {
    return "";
  }
  size_t end = out.find_last_not_of(' ');
  return out.substr(begin, end - begin + 1);
}

}  // namespace certgate
