#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certgate/v1/edge_config.pb.h"
#include "openssl/base.h"

namespace certgate::edge {

// ZoneSource is a zone as the edge keeps it for its state file, its deltas
// and its TLS context (made at first use), in about half the memory of the
// parsed proto: the zone serialised without its server chain and key, and
// those two as DER (the certificates in the shared pool, so the CA
// certificate that ends most chains is held once and a zone's SSL_CTX
// shares its chain). Zone() gives back the proto exactly as it was taken:
// PEM text that re-encoding would not reproduce byte for byte (comments,
// other line lengths, headers) is kept as text instead. Immutable.
class ZoneSource {
 public:
  ZoneSource() = default;
  ZoneSource(ZoneSource&&) = default;
  ZoneSource& operator=(ZoneSource&&) = default;

  // From: the source of `zone`.
  static ZoneSource From(const v1::EdgeZone& zone);
  // The same without a copy of `zone`, which is left as it was (its fields
  // are moved out and back), so that a caller freeing many zones at once
  // frees them as one block of the heap rather than holes among the zones
  // built since.
  static ZoneSource From(v1::EdgeZone* zone);

  // Zone: the zone as it was taken.
  v1::EdgeZone Zone() const;
  // Is: `zone` is the zone this was taken from (as Zone() returns it).
  bool Is(const v1::EdgeZone& zone) const;

  // SpaceUsed: bytes this holds, shared certificates counted in full (for
  // the benchmark).
  size_t SpaceUsed() const;
  // Whether the chain and key are held as DER (else as their PEM text).
  bool compact() const { return literal_ == nullptr; }
  // chain: the server chain's certificates, leaf first, owned by this (empty
  // when not compact).
  std::vector<const CRYPTO_BUFFER*> chain() const;

 private:
  struct Literal {
    std::string chain_pem;
    std::string key_pem;
  };
  // Pem: blocks [begin, end) as PEM text.
  std::string Pem(size_t begin, size_t end) const;

  // The zone less server_chain_pem and server_key_pem, serialised.
  std::string rest_;
  // The chain's blocks, then the key's; labels_[i] names block i's PEM label.
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> blocks_;
  std::string labels_;
  uint32_t chain_blocks_ = 0;
  // Set instead of blocks_ when the text would not come back as it was.
  std::unique_ptr<const Literal> literal_;
};

}  // namespace certgate::edge
