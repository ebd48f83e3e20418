#include "dataplane/config/zone_source.h"

#include <utility>

#include "absl/strings/string_view.h"
#include "dataplane/tls/certificate_pool.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/mem.h"
#include "openssl/pem.h"
#include "openssl/pool.h"

namespace certgate::edge {

namespace {

// The PEM labels a server chain and key are made of; any other is kept as
// text.
constexpr const char* kLabels[] = {"CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY",
                                   "RSA PRIVATE KEY", "EC PARAMETERS"};
constexpr size_t kLabelCount = sizeof(kLabels) / sizeof(kLabels[0]);

int LabelIndex(const char* name) {
  for (size_t i = 0; i < kLabelCount; ++i) {
    if (absl::string_view(name) == kLabels[i]) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void AppendPem(absl::string_view label, const CRYPTO_BUFFER* block, std::string* out) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      !PEM_write_bio(bio.get(), std::string(label).c_str(), "", CRYPTO_BUFFER_data(block),
                     static_cast<long>(CRYPTO_BUFFER_len(block)))) {  // NOLINT(runtime/int)
    ERR_clear_error();
    return;  // out of memory: the comparison in Encode fails, text is kept
  }
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  out->append(reinterpret_cast<const char*>(data), len);
}

// Encode appends the blocks of `pem` to `blocks` and `labels` (certificates
// made in `pool`, when given) when re-encoding them gives `pem` back
// exactly; false (nothing appended) otherwise.
bool Encode(const std::string& pem, CRYPTO_BUFFER_POOL* pool,
            std::vector<bssl::UniquePtr<CRYPTO_BUFFER>>* blocks, std::string* labels) {
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> read;
  std::string read_labels;
  std::string again;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), pem.size()));
  if (bio == nullptr) {
    return false;
  }
  while (again.size() < pem.size()) {
    char* name = nullptr;
    char* header = nullptr;
    uint8_t* data = nullptr;
    long len = 0;  // NOLINT(runtime/int)
    if (!PEM_read_bio(bio.get(), &name, &header, &data, &len)) {
      break;
    }
    int label = LabelIndex(name);
    bool plain = header[0] == '\0';
    if (label >= 0 && plain) {
      read.emplace_back(
          CRYPTO_BUFFER_new(data, static_cast<size_t>(len), label == 0 ? pool : nullptr));
      read_labels.push_back(static_cast<char>(label));
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (label < 0 || !plain || read.back() == nullptr) {
      ERR_clear_error();
      return false;
    }
    AppendPem(kLabels[label], read.back().get(), &again);
  }
  ERR_clear_error();
  if (again != pem) {
    return false;
  }
  for (auto& block : read) {
    blocks->push_back(std::move(block));
  }
  labels->append(read_labels);
  return true;
}

}  // namespace

ZoneSource ZoneSource::From(v1::EdgeZone zone) {
  ZoneSource source;
  std::string chain = std::move(*zone.mutable_server_chain_pem());
  std::string key = std::move(*zone.mutable_server_key_pem());
  zone.clear_server_chain_pem();
  zone.clear_server_key_pem();
  zone.SerializeToString(&source.rest_);
  zone = v1::EdgeZone();  // freed now, before the blocks are made
  if (Encode(chain, SharedCertificatePool(), &source.blocks_, &source.labels_)) {
    source.chain_blocks_ = static_cast<uint32_t>(source.blocks_.size());
    if (Encode(key, nullptr, &source.blocks_, &source.labels_)) {
      source.blocks_.shrink_to_fit();
      return source;
    }
  }
  source.blocks_.clear();
  source.labels_.clear();
  source.chain_blocks_ = 0;
  source.literal_ = std::make_unique<const Literal>(Literal{std::move(chain), std::move(key)});
  return source;
}

std::string ZoneSource::Pem(size_t begin, size_t end) const {
  std::string pem;
  for (size_t i = begin; i < end; ++i) {
    AppendPem(kLabels[static_cast<uint8_t>(labels_[i])], blocks_[i].get(), &pem);
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
