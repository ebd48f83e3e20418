#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "dataplane/http2/http2_client_session.h"
#include "dataplane/http2/http2_server_session.h"

namespace certgate::edge::testing {

// The client connection preface (RFC 9113 3.4).
inline constexpr absl::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream_id = 0;
  std::string payload;
};

// FrameBytes builds one raw frame, for inputs nghttp2 would never send.
std::string FrameBytes(uint8_t type, uint8_t flags, int32_t stream_id, absl::string_view payload);
// ParseFrames splits a byte stream written by a session into its frames
// (the server's output has no preface).
std::vector<Frame> ParseFrames(absl::string_view bytes);
// GoAwayCode: the error code of the first GOAWAY among `bytes`' frames.
std::optional<uint32_t> GoAwayCode(absl::string_view bytes);
// RstCodes: stream id -> RST_STREAM error code, among `bytes`' frames.
std::map<int32_t, uint32_t> RstCodes(absl::string_view bytes);

// HpackEncode: a header block encoded by nghttp2's own HPACK deflater.
std::string HpackEncode(const std::vector<std::pair<std::string, std::string>>& fields);
// HpackInt: an HPACK integer with an N-bit prefix, `first` holding the
// pattern bits of the first byte (RFC 7541 5.1).
std::string HpackInt(uint8_t first, int prefix_bits, uint64_t value);
// RequestBlock: HPACK of a GET for `authority` (stream-independent).
std::string RequestBlock(absl::string_view authority, absl::string_view path = "/");
// ClientStart: preface, an empty SETTINGS and an ACK of the server's.
std::string ClientStart();

// Recorded is what a session reported, per stream.
struct StreamLog {
  std::string data;
  HttpHeaders trailers;
  bool ended = false;
  bool closed = false;
  uint32_t close_code = 0;
};

// ServerPeer and ClientPeer wrap a session with callbacks that record.
struct ServerPeer {
  explicit ServerPeer(Http2ServerOptions options);
  std::unique_ptr<Http2ServerSession> session;
  std::vector<Http2RequestHead> requests;
  std::map<int32_t, StreamLog> streams;
  bool consume = true;  // give the window back as data arrives
};

struct ClientPeer {
  explicit ClientPeer(Http2ClientOptions options = {});
  std::unique_ptr<Http2ClientSession> session;
  std::map<int32_t, Http2ResponseHead> responses;
  std::map<int32_t, StreamLog> streams;
  std::optional<uint32_t> goaway_code;
};

// Pump moves bytes both ways until neither side has anything to write.
// The server's Receive errors are collected in `server_errors`.
void Pump(ClientPeer& client, ServerPeer& server,
          std::vector<std::string>* server_errors = nullptr);

// ServerOptions: a server for zone auth.pizza.
Http2ServerOptions ServerOptions();

}  // namespace certgate::edge::testing
