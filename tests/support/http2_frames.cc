#include "tests/support/http2_frames.h"

#include <nghttp2/nghttp2.h>

#include "absl/strings/str_cat.h"

namespace certgate::testing {

std::string Http2Frame(uint8_t type, uint8_t flags, int32_t stream_id, absl::string_view payload) {
  std::string out;
  size_t len = payload.size();
  out.push_back(static_cast<char>((len >> 16) & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  uint32_t id = static_cast<uint32_t>(stream_id) & 0x7fffffff;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((id >> shift) & 0xff));
  }
  out.append(payload.data(), payload.size());
  return out;
}

std::string HpackEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  nghttp2_hd_deflater* deflater = nullptr;
  if (nghttp2_hd_deflate_new(&deflater, 4096) != 0) {
    return "";
  }
  std::vector<nghttp2_nv> nv;
  for (const auto& [name, value] : fields) {
    nv.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                  const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  std::string out(nghttp2_hd_deflate_bound(deflater, nv.data(), nv.size()), '\0');
  ssize_t n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                    nv.data(), nv.size());
  nghttp2_hd_deflate_del(deflater);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string HpackInt(uint8_t first, int prefix_bits, uint64_t value) {
  std::string out;
  uint64_t max = (uint64_t{1} << prefix_bits) - 1;
  if (value < max) {
    out.push_back(static_cast<char>(first | value));
    return out;
  }
  out.push_back(static_cast<char>(first | max));
  value -= max;
  while (value >= 128) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string HpackRequest(absl::string_view authority, absl::string_view path) {
  return HpackEncode({{":method", "GET"},
                      {":scheme", "https"},
                      {":authority", std::string(authority)},
                      {":path", std::string(path)}});
}

std::string HpackBomb(absl::string_view authority, size_t value_bytes, int repeats) {
  std::string block = HpackRequest(authority);
  block += '\x40';  // literal with incremental indexing, new name
  block += HpackInt(0, 7, 5) + "x-pad";
  block += HpackInt(0, 7, value_bytes) + std::string(value_bytes, 'p');
  for (int i = 0; i < repeats; ++i) {
    block += '\xbe';  // indexed: the newest dynamic table entry (62)
  }
  return block;
}

std::string Http2ClientStart() {
  return absl::StrCat(kHttp2Preface, Http2Frame(NGHTTP2_SETTINGS, 0, 0, ""),
                      Http2Frame(NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, ""));
}

std::string RapidResets(int32_t first_stream, int n, absl::string_view authority) {
  std::string bytes;
  const std::string cancel("\0\0\0\x08", 4);
  const std::string block = HpackRequest(authority);
  for (int i = 0; i < n; ++i) {
    int32_t id = first_stream + 2 * i;
    bytes +=
        Http2Frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, block);
    bytes += Http2Frame(NGHTTP2_RST_STREAM, 0, id, cancel);
  }
  return bytes;
}

}  // namespace certgate::testing
