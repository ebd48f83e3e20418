#include "dataplane/tls/session_binding.h"

#include <cstring>
#include <string>

#include "openssl/digest.h"
#include "openssl/hmac.h"
#include "openssl/rand.h"
#include "openssl/sha.h"

namespace certgate::edge {

namespace {

void AppendU64(std::string* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

std::string Label(const char* purpose, uint64_t zone_id, uint64_t trust_version, int mode) {
  std::string label(purpose);
  label.push_back('\0');
  AppendU64(&label, zone_id);
  AppendU64(&label, trust_version);
  AppendU64(&label, static_cast<uint64_t>(mode));
  return label;
}

const std::array<uint8_t, 32>& ProcessSecret() {
  static const std::array<uint8_t, 32> secret = [] {
    std::array<uint8_t, 32> bytes;
    RAND_bytes(bytes.data(), bytes.size());
    return bytes;
  }();
  return secret;
}

std::array<uint8_t, 32> Derive(const char* purpose, uint64_t zone_id, uint64_t trust_version,
                               int mode) {
  std::string label = Label(purpose, zone_id, trust_version, mode);
  const auto& secret = ProcessSecret();
  std::array<uint8_t, 32> out;
  unsigned out_len = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(), reinterpret_cast<const uint8_t*>(label.data()),
       label.size(), out.data(), &out_len);
  return out;
}

}  // namespace

std::array<uint8_t, SessionBinding::kSessionIdContextLength> SessionBinding::SessionIdContext(
    uint64_t zone_id, uint64_t trust_version, int mode) {
  std::string label = Label("certgate session id context", zone_id, trust_version, mode);
  std::array<uint8_t, kSessionIdContextLength> out;
  SHA256(reinterpret_cast<const uint8_t*>(label.data()), label.size(), out.data());
  return out;
}

SessionBinding::TicketKeys SessionBinding::TicketKeysFor(uint64_t zone_id, uint64_t trust_version,
                                                         int mode) {
  TicketKeys keys;
  std::array<uint8_t, 32> name_and_aes =
      Derive("certgate ticket key", zone_id, trust_version, mode);
  std::memcpy(keys.name.data(), name_and_aes.data(), 16);
  std::memcpy(keys.aes_key.data(), name_and_aes.data() + 16, 16);
  keys.hmac_key = Derive("certgate ticket hmac", zone_id, trust_version, mode);
  return keys;
}

}  // namespace certgate::edge
