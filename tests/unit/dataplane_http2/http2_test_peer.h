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
#include "tests/support/http2_frames.h"

namespace certgate::edge::testing {

using ::certgate::testing::HpackBomb;
using ::certgate::testing::HpackEncode;
using ::certgate::testing::HpackInt;
using ::certgate::testing::HpackRequest;
using ::certgate::testing::Http2ClientStart;
using ::certgate::testing::Http2Frame;
using ::certgate::testing::kHttp2Preface;
using ::certgate::testing::RapidResets;

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream_id = 0;
  std::string payload;
};

// ParseFrames splits a byte stream written by a session into its frames
// (the server's output has no preface).
std::vector<Frame> ParseFrames(absl::string_view bytes);
// GoAwayCode: the error code of the first GOAWAY among `bytes`' frames.
std::optional<uint32_t> GoAwayCode(absl::string_view bytes);
// RstCodes: stream id -> RST_STREAM error code, among `bytes`' frames.
std::map<int32_t, uint32_t> RstCodes(absl::string_view bytes);
// ResponseStatuses: stream id -> :status of the response heads among
// `bytes`' frames (all of one session's output, in order: HPACK state).
std::map<int32_t, int> ResponseStatuses(absl::string_view bytes);

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
