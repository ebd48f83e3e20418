#include "dataplane/config/zone_source.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "dataplane/tls/certificate_pool.h"
#include "openssl/base64.h"
#include "openssl/mem.h"
#include "openssl/pool.h"

namespace certgate::edge {

namespace {

// The PEM labels a server chain and key are made of; any other is kept as
// text.
constexpr const char* kLabels[] = {"CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY",
                                   "RSA PRIVATE KEY", "EC PARAMETERS"};
constexpr size_t kLabelCount = sizeof(kLabels) / sizeof(kLabels[0]);

int LabelIndex(absl::string_view name) {
  for (size_t i = 0; i < kLabelCount; ++i) {
    if (name == kLabels[i]) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

constexpr size_t kLineLength = 64;
constexpr absl::string_view kBegin = "-----BEGIN ";
constexpr absl::string_view kEnd = "-----END ";
constexpr absl::string_view kDashes = "-----\n";

// Base64 of `data`. Certificates are public and many, so absl's table
// coder; a key's bytes go through BoringSSL's constant-time one.
std::string ToBase64(const uint8_t* data, size_t len, bool secret) {
  if (!secret) {
    return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(data), len));
  }
  size_t encoded_len = 0;
  if (!EVP_EncodedLength(&encoded_len, len)) {
    return "";
  }
  std::string out(encoded_len, '\0');
  size_t written = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), data, len);
  out.resize(written);
  return out;
}

bool FromBase64(absl::string_view text, bool secret, std::string* out) {
  if (!secret) {
    return absl::Base64Unescape(text, out);
  }
  size_t max_len = 0;
  if (!EVP_DecodedLength(&max_len, text.size())) {
    return false;
  }
  out->resize(max_len);
  size_t len = 0;
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(out->data()), &len, max_len,
                        reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    return false;
  }
  out->resize(len);
  return true;
}

void AppendPem(absl::string_view label, const CRYPTO_BUFFER* block, bool secret, std::string* out) {
  std::string base64 = ToBase64(CRYPTO_BUFFER_data(block), CRYPTO_BUFFER_len(block), secret);
  absl::StrAppend(out, kBegin, label, kDashes);
  for (size_t at = 0; at < base64.size(); at += kLineLength) {
    absl::StrAppend(out, absl::string_view(base64).substr(at, kLineLength), "\n");
  }
  absl::StrAppend(out, kEnd, label, kDashes);
}

// Encode appends the blocks of `pem` to `blocks` and `labels` (certificates
// made in `pool`) when `pem` is exactly what AppendPem makes of them:
// blocks back to back, each its BEGIN line, canonical base64 in lines of 64
// and its END line, nothing else. False (nothing appended) otherwise.
bool Encode(absl::string_view pem, CRYPTO_BUFFER_POOL* pool, bool secret,
            std::vector<bssl::UniquePtr<CRYPTO_BUFFER>>* blocks, std::string* labels) {
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> read;
  std::string read_labels;
  std::string base64;
  std::string der;
  while (!pem.empty()) {
    if (!absl::ConsumePrefix(&pem, kBegin)) {
      return false;
    }
    size_t label_end = pem.find(kDashes);
    if (label_end == absl::string_view::npos) {
      return false;
    }
    std::string label(pem.substr(0, label_end));
    int index = LabelIndex(label);
    pem.remove_prefix(label_end + kDashes.size());
    std::string end_line = absl::StrCat(kEnd, label, kDashes);
    size_t body_end = pem.find(end_line);
    if (index < 0 || body_end == absl::string_view::npos) {
      return false;
    }
    absl::string_view body = pem.substr(0, body_end);
    pem.remove_prefix(body_end + end_line.size());
    base64.clear();
    while (!body.empty()) {
      size_t newline = body.find('\n');
      if (newline == absl::string_view::npos || newline == 0 || newline > kLineLength ||
          (newline < kLineLength && newline + 1 != body.size())) {
        return false;  // only the last line may be short
      }
      absl::StrAppend(&base64, body.substr(0, newline));
      body.remove_prefix(newline + 1);
    }
    bool block_secret = secret || index != 0;
    if (base64.empty() || !FromBase64(base64, block_secret, &der)) {
      return false;
    }
    bssl::UniquePtr<CRYPTO_BUFFER> block(CRYPTO_BUFFER_new(
        reinterpret_cast<const uint8_t*>(der.data()), der.size(), index == 0 ? pool : nullptr));
    OPENSSL_cleanse(der.data(), der.size());
    if (block == nullptr || ToBase64(CRYPTO_BUFFER_data(block.get()),
                                     CRYPTO_BUFFER_len(block.get()), block_secret) != base64) {
      return false;  // not canonical base64: it would not come back the same
    }
    read.push_back(std::move(block));
    read_labels.push_back(static_cast<char>(index));
  }
  for (auto& block : read) {
    blocks->push_back(std::move(block));
  }
  labels->append(read_labels);
  return true;
}

}  // namespace

ZoneSource ZoneSource::From(const v1::EdgeZone& zone) {
  v1::EdgeZone copy = zone;
  return From(&copy);
}

ZoneSource ZoneSource::From(v1::EdgeZone* zone) {
  ZoneSource source;
  std::string chain;
  std::string key;
  chain.swap(*zone->mutable_server_chain_pem());
  key.swap(*zone->mutable_server_key_pem());
  zone->SerializeToString(&source.rest_);
  bool compact = Encode(chain, SharedCertificatePool(), false, &source.blocks_, &source.labels_);
  source.chain_blocks_ = static_cast<uint32_t>(source.blocks_.size());
  compact = compact && Encode(key, nullptr, true, &source.blocks_, &source.labels_);
  if (compact) {
    source.blocks_.shrink_to_fit();
  } else {
    source.blocks_.clear();
    source.labels_.clear();
    source.chain_blocks_ = 0;
    source.literal_ = std::make_unique<const Literal>(Literal{chain, key});
  }
  chain.swap(*zone->mutable_server_chain_pem());
  key.swap(*zone->mutable_server_key_pem());
  return source;
}

std::string ZoneSource::Pem(size_t begin, size_t end) const {
  std::string pem;
  for (size_t i = begin; i < end; ++i) {
    uint8_t label = static_cast<uint8_t>(labels_[i]);
    // Only a chain's certificates are public.
    AppendPem(kLabels[label], blocks_[i].get(), i >= chain_blocks_ || label != 0, &pem);
  }
  return pem;
}

v1::EdgeZone ZoneSource::Zone() const {
  v1::EdgeZone zone;
  zone.ParseFromString(rest_);
  if (literal_ != nullptr) {
    zone.set_server_chain_pem(literal_->chain_pem);
    zone.set_server_key_pem(literal_->key_pem);
  } else {
    zone.set_server_chain_pem(Pem(0, chain_blocks_));
    zone.set_server_key_pem(Pem(chain_blocks_, blocks_.size()));
  }
  return zone;
}

bool ZoneSource::Is(const v1::EdgeZone& zone) const {
  std::string chain = literal_ != nullptr ? literal_->chain_pem : Pem(0, chain_blocks_);
  std::string key = literal_ != nullptr ? literal_->key_pem : Pem(chain_blocks_, blocks_.size());
  if (chain != zone.server_chain_pem() || key != zone.server_key_pem()) {
    return false;
  }
  v1::EdgeZone rest = zone;
  rest.clear_server_chain_pem();
  rest.clear_server_key_pem();
  return rest.SerializeAsString() == rest_;
}

std::vector<const CRYPTO_BUFFER*> ZoneSource::chain() const {
  std::vector<const CRYPTO_BUFFER*> chain;
  for (size_t i = 0; i < chain_blocks_; ++i) {
    chain.push_back(blocks_[i].get());
  }
  return chain;
}

size_t ZoneSource::SpaceUsed() const {
  size_t bytes = sizeof(*this) + rest_.capacity() + labels_.capacity() +
                 blocks_.capacity() * sizeof(blocks_[0]);
  for (const auto& block : blocks_) {
    bytes += CRYPTO_BUFFER_len(block.get());
  }
  if (literal_ != nullptr) {
    bytes += sizeof(Literal) + literal_->chain_pem.capacity() + literal_->key_pem.capacity();
  }
  return bytes;
}

}  // namespace certgate::edge
