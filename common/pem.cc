#include "common/pem.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/bio.h"
#include "openssl/ec.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace certgate {
namespace {

constexpr absl::string_view kBeginMarker = "-----BEGIN ";
constexpr absl::string_view kEndMarker = "-----END ";

// One "-----BEGIN X-----" ... "-----END X-----" block found in the input.
struct PemBlock {
  std::string label;
  absl::string_view text;  // the whole block, markers included
};

bool LooksLikePem(absl::string_view data) { return absl::StrContains(data, kBeginMarker); }

// SplitPemBlocks finds every PEM block. Text outside blocks is allowed (RFC
// 7468 explanatory text, e.g. what `openssl x509 -text` prints first); a BEGIN
// without its END is an error.
absl::StatusOr<std::vector<PemBlock>> SplitPemBlocks(absl::string_view data,
                                                     absl::string_view what) {
  std::vector<PemBlock> blocks;
  size_t pos = 0;
  while (true) {
    size_t begin = data.find(kBeginMarker, pos);
    if (begin == absl::string_view::npos) {
      break;
    }
    size_t label_start = begin + kBeginMarker.size();
    size_t label_end = data.find("-----", label_start);
    size_t line_end = data.find('\n', label_start);
    if (label_end == absl::string_view::npos ||
        (line_end != absl::string_view::npos && line_end < label_end)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", blocks.size() + 1, " in upload: malformed PEM BEGIN line"));
    }
    std::string label(data.substr(label_start, label_end - label_start));
    std::string end_line = absl::StrCat(kEndMarker, label, "-----");
    size_t end = data.find(end_line, label_end);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(what, " ", blocks.size() + 1,
                                                     " in upload: \"-----BEGIN ", label,
                                                     "-----\" without its END line"));
    }
    size_t block_end = end + end_line.size();
    blocks.push_back(PemBlock{label, data.substr(begin, block_end - begin)});
    pos = block_end;
  }
  return blocks;
}

// DecodePemBlock runs BoringSSL's PEM reader over one block; returns its DER.
// Encrypted blocks (Proc-Type headers) are refused: nothing here has a
// password to give.
absl::StatusOr<std::string> DecodePemBlock(const PemBlock& block) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(block.text.data(), block.text.size()));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError("out of memory");
  }
  char* name = nullptr;
  char* header = nullptr;
  uint8_t* data = nullptr;
  long len = 0;
  if (!PEM_read_bio(bio.get(), &name, &header, &data, &len)) {
    ERR_clear_error();
    return absl::InvalidArgumentError("malformed PEM");
  }
  bssl::UniquePtr<char> name_owner(name);
  bssl::UniquePtr<char> header_owner(header);
  bssl::UniquePtr<uint8_t> data_owner(data);
  if (header != nullptr && header[0] != '\0') {
    return absl::InvalidArgumentError("encrypted or annotated PEM is not supported");
  }
  return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
}

int NoPassword(char* buf, int size, int rwflag, void* userdata) { return 0; }

std::string BioContents(BIO* bio) {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  if (!BIO_mem_contents(bio, &contents, &len)) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(contents), len);
}

}  // namespace

absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificates(absl::string_view pem_or_der) {
  std::vector<bssl::UniquePtr<X509>> certs;
  if (absl::StripAsciiWhitespace(pem_or_der).empty()) {
    return absl::InvalidArgumentError("no certificate found (empty input)");
  }
  if (!LooksLikePem(pem_or_der)) {
    auto cert = CertificateFromDer(pem_or_der);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          "upload is neither PEM nor a DER certificate (no \"-----BEGIN CERTIFICATE-----\" "
          "line and not valid DER)");
    }
    certs.push_back(std::move(cert).value());
    return certs;
  }
  auto blocks = SplitPemBlocks(pem_or_der, "certificate");
  if (!blocks.ok()) {
    return blocks.status();
  }
  int index = 0;
  for (const PemBlock& block : *blocks) {
    ++index;
    if (block.label != "CERTIFICATE" && block.label != "X509 CERTIFICATE") {
      return absl::InvalidArgumentError(absl::StrCat("block ", index, " in upload is a \"",
                                                     block.label, "\", not a CERTIFICATE"));
    }
    auto der = DecodePemBlock(block);
    if (!der.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", index, " in upload: ", der.status().message()));
    }
    auto cert = CertificateFromDer(*der);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", index, " in upload: ", cert.status().message()));
    }
    certs.push_back(std::move(cert).value());
  }
  return certs;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKey(absl::string_view pem) {
  if (absl::StripAsciiWhitespace(pem).empty()) {
    return absl::InvalidArgumentError("no private key found (empty input)");
  }
  if (!LooksLikePem(pem)) {
    // DER PKCS#8 or a raw RSA/EC key.
    const uint8_t* p = reinterpret_cast<const uint8_t*>(pem.data());
    bssl::UniquePtr<EVP_PKEY> key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pem.size())));
    if (key == nullptr || p != reinterpret_cast<const uint8_t*>(pem.data()) + pem.size()) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          "private key is neither PEM nor DER (no \"-----BEGIN PRIVATE KEY-----\" line)");
    }
    return key;
  }
  auto blocks = SplitPemBlocks(pem, "block");
  if (!blocks.ok()) {
    return blocks.status();
  }
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : *blocks) {
    if (block.label == "PRIVATE KEY" || block.label == "EC PRIVATE KEY" ||
        block.label == "RSA PRIVATE KEY") {
      if (key_block != nullptr) {
        return absl::InvalidArgumentError("more than one private key in upload");
      }
      key_block = &block;
    } else if (block.label == "ENCRYPTED PRIVATE KEY") {
      return absl::InvalidArgumentError("encrypted private keys are not supported");
    } else if (block.label != "EC PARAMETERS") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", block.label, "\" block where a private key was expected"));
    }
  }
  if (key_block == nullptr) {
    return absl::InvalidArgumentError("no private key block found");
  }
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(key_block->text.data(), key_block->text.size()));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) {
    // The PEM decoded but its DER is no key BoringSSL reads: most often a
    // well-formed key of a type or curve it does not know (Ed448, RSA-PSS,
    // secp256k1), which "malformed" would misdescribe.
    bool not_a_known_key = false;
    while (uint32_t error = ERR_get_error()) {
      not_a_known_key =
          not_a_known_key || ERR_GET_LIB(error) == ERR_LIB_EVP ||
          (ERR_GET_LIB(error) == ERR_LIB_EC && ERR_GET_REASON(error) == EC_R_UNKNOWN_GROUP);
    }
    if (not_a_known_key) {
      return absl::InvalidArgumentError(absl::StrCat(
          "private key: the \"", key_block->label,
          "\" PEM holds a key type or curve certgate does not support, or a malformed key (RSA, "
          "ECDSA on P-256, P-384 or P-521, and Ed25519 are supported)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("private key: malformed \"", key_block->label, "\" PEM"));
  }
  return key;
}

absl::StatusOr<bssl::UniquePtr<X509_CRL>> ParseCrl(absl::string_view pem_or_der) {
  std::string der;
  if (absl::StripAsciiWhitespace(pem_or_der).empty()) {
    return absl::InvalidArgumentError("no CRL found (empty input)");
  }
  if (LooksLikePem(pem_or_der)) {
    auto blocks = SplitPemBlocks(pem_or_der, "CRL");
    if (!blocks.ok()) {
      return blocks.status();
    }
    if (blocks->size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected one X509 CRL block, found ", blocks->size(), " blocks"));
    }
    const PemBlock& block = blocks->front();
    if (block.label != "X509 CRL") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", block.label, "\" block where an X509 CRL was expected"));
    }
    auto decoded = DecodePemBlock(block);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("CRL: ", decoded.status().message()));
    }
    der = std::move(decoded).value();
  } else {
    der = std::string(pem_or_der);
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (crl == nullptr || p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CRL: malformed DER");
  }
  return crl;
}

std::string CertificateToPem(const X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || !PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert))) {
    return "";
  }
  return BioContents(bio.get());
}

std::string CertificateToDer(const X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(const_cast<X509*>(cert), &der);
  if (len <= 0) {
    return "";
  }
  bssl::UniquePtr<uint8_t> owner(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
}

std::string PrivateKeyToPem(const EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || !PEM_write_bio_PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr,
                                                  nullptr, 0, nullptr, nullptr)) {
    return "";
  }
  return BioContents(bio.get());
}

std::string CrlToPem(const X509_CRL* crl) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || !PEM_write_bio_X509_CRL(bio.get(), const_cast<X509_CRL*>(crl))) {
    return "";
  }
  return BioContents(bio.get());
}

absl::StatusOr<bssl::UniquePtr<X509>> CertificateFromDer(absl::string_view der) {
  if (der.empty()) {
    return absl::InvalidArgumentError("empty DER");
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("malformed DER certificate");
  }
  if (p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after the DER certificate");
  }
  return cert;
}

}  // namespace certgate
