#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace certgate::testing {

// Raw HTTP/2 client bytes for tests and fuzz seeds: the inputs a hostile
// client sends and nghttp2's own client would never produce.

// The client connection preface (RFC 9113 3.4).
inline constexpr absl::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Http2Frame: one frame's bytes (9-byte header, then `payload`).
std::string Http2Frame(uint8_t type, uint8_t flags, int32_t stream_id, absl::string_view payload);
// HpackEncode: a header block encoded by nghttp2's own HPACK deflater.
std::string HpackEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// HpackInt: an HPACK integer with an N-bit prefix, `first` holding the
// pattern bits of the first byte (RFC 7541 5.1).
std::string HpackInt(uint8_t first, int prefix_bits, uint64_t value);
// HpackRequest: a GET of `path` from `authority`, HPACK-encoded.
std::string HpackRequest(absl::string_view authority, absl::string_view path = "/");
// HpackBomb: a request block that adds one `value_bytes` field to the
// dynamic table then indexes it `repeats` times (1 byte each).
std::string HpackBomb(absl::string_view authority, size_t value_bytes, int repeats);
// Http2ClientStart: preface, an empty SETTINGS and a SETTINGS ACK.
std::string Http2ClientStart();
// RapidResets: `n` streams opened and cancelled (CVE-2023-44487), the first
// with id `first_stream`.
std::string RapidResets(int32_t first_stream, int n, absl::string_view authority);

}  // namespace certgate::testing
