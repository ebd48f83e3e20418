// Fuzz target: the edge's HTTP/2 request path (dataplane/http2/) up to what
// would reach an origin. The input's first byte configures the session
// (wildcard zone, small limits, how the bytes arrive, whether the
// application consumes bodies and answers); the rest is what a client sends
// after the connection preface, which the target adds. The target drives
// Http2ServerSession like the connection will, answers every request
// (head, body, trailers) and checks:
//  - every reported request passes CheckRequestHead (no CONNECT, an http
//    or https :scheme, an origin-form :path, a well-formed host that
//    belongs to the zone), and DecideRequest on its HTTP/1.1 view never
//    finds another zone's host;
//  - reported field names are lowercase, not pseudo-headers, and no name or
//    value holds CR, LF or NUL; a reported head stays within the header
//    list and count limits;
//  - body bytes, trailers and ends come only for reported, open streams,
//    and what waits unconsumed never exceeds the windows;
//  - reported streams open at once never exceed max_concurrent_streams;
//  - the session's output is a sequence of whole HTTP/2 frames, and once
//    Receive failed no further input is read.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "dataplane/config/edge_config.h"
#include "dataplane/http/request_decision.h"
#include "dataplane/http2/http2_request_head.h"
#include "dataplane/http2/http2_server_session.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/http2_frames.h"

namespace {

using certgate::edge::Http2RequestHead;
using certgate::edge::Http2ServerOptions;
using certgate::edge::Http2ServerSession;
using certgate::edge::Http2Session;
using certgate::edge::HttpHeader;
using certgate::edge::HttpHeaders;

void CheckField(const HttpHeader& h) {
  FUZZ_CHECK(!h.name.empty() && h.name[0] != ':', "pseudo-header reported as a field");
  FUZZ_CHECK(absl::AsciiStrToLower(h.name) == h.name, "uppercase field name %s", h.name.c_str());
  for (absl::string_view part : {absl::string_view(h.name), absl::string_view(h.value)}) {
    FUZZ_CHECK(part.find_first_of(absl::string_view("\r\n\0", 3)) == absl::string_view::npos,
               "CR, LF or NUL in a reported field");
  }
}

// CheckFrames: `out` is whole frames (the server writes no preface).
void CheckFrames(absl::string_view out) {
  size_t pos = 0;
  while (pos < out.size()) {
    FUZZ_CHECK(pos + 9 <= out.size(), "partial frame header in the output");
    size_t len = (size_t{static_cast<uint8_t>(out[pos])} << 16) |
                 (size_t{static_cast<uint8_t>(out[pos + 1])} << 8) |
                 static_cast<uint8_t>(out[pos + 2]);
    FUZZ_CHECK(len <= 16384, "frame larger than the default SETTINGS_MAX_FRAME_SIZE");
    pos += 9 + len;
  }
  FUZZ_CHECK(pos == out.size(), "output ends inside a frame");
}

struct StreamState {
  bool ended = false;
  size_t unconsumed = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint8_t config = data[0];
  absl::string_view input = certgate::fuzz::AsView(data + 1, size - 1);

  certgate::edge::ZoneConfig zone;
  zone.hostname = (config & 1) != 0 ? "*.auth.pizza" : "auth.pizza";
  zone.mode = certgate::v1::MODE_ENFORCE;
  Http2ServerOptions options;
  options.zone_hostname = zone.hostname;
  if ((config & 2) != 0) {
    options.max_concurrent_streams = 4;
    options.max_client_resets = 5;
    options.max_control_frames = 20;
    options.limits.max_header_list_bytes = 1024;
    options.limits.max_headers = 8;
    options.limits.max_decoded_header_bytes = 4096;
    options.limits.stream_window = 1024;
    options.limits.connection_window = 65535;
    options.limits.max_stream_outbound_bytes = 2048;
    options.limits.max_connection_outbound_bytes = 4096;
  }
  const int split = (config >> 2) & 3;  // 0: whole, 1: 1 byte, 2: 7 bytes, 3: 4096 bytes
  const bool consume = (config & 16) == 0;
  const bool answer_inline = (config & 32) != 0;

  std::unique_ptr<Http2ServerSession> session;
  std::map<int32_t, StreamState> streams;
  size_t open = 0;

  auto answer = [&](int32_t id, const std::string& path) {
    if (!session->SubmitResponse(id, 200, {{"content-type", "text/plain"}}, false).ok()) {
      return;
    }
    (void)session->SendData(id, path);
    (void)session->Finish(id, {{"x-trailer", "1"}});
  };
  Http2Session::StreamCallbacks cb;
  cb.on_data = [&](int32_t id, absl::string_view bytes) {
    auto it = streams.find(id);
    FUZZ_CHECK(it != streams.end() && !it->second.ended, "data on an unknown or ended stream");
    it->second.unconsumed += bytes.size();
    FUZZ_CHECK(it->second.unconsumed <= std::max<size_t>(options.limits.stream_window, 65535),
               "%zu unconsumed bytes exceed the stream window", it->second.unconsumed);
    if (consume) {
      session->Consume(id, bytes.size());
      it->second.unconsumed = 0;
    }
  };
  cb.on_trailers = [&](int32_t id, HttpHeaders trailers) {
    auto it = streams.find(id);
    FUZZ_CHECK(it != streams.end() && !it->second.ended, "trailers on an unknown or ended stream");
    for (const HttpHeader& h : trailers) {
      CheckField(h);
    }
  };
  cb.on_end_stream = [&](int32_t id) {
    auto it = streams.find(id);
    FUZZ_CHECK(it != streams.end() && !it->second.ended, "end of an unknown or ended stream");
    it->second.ended = true;
  };
  cb.on_stream_close = [&](int32_t id, uint32_t) {
    FUZZ_CHECK(streams.erase(id) == 1, "close of an unknown stream");
    --open;
  };
  std::vector<std::pair<int32_t, std::string>> to_answer;
  auto on_request = [&](Http2RequestHead head) {
    FUZZ_CHECK(streams.count(head.stream_id) == 0, "stream %d reported twice", head.stream_id);
    certgate::edge::AuthorityCheck check = certgate::edge::CheckRequestHead(head, zone.hostname);
    FUZZ_CHECK(check.status == 0, "request reported: %s", check.message.c_str());
    size_t bytes = 0;
    for (const HttpHeader& h : head.fields) {
      CheckField(h);
      bytes += h.name.size() + h.value.size() + 32;
    }
    FUZZ_CHECK(head.fields.size() <= options.limits.max_headers, "more fields than the limit");
    FUZZ_CHECK(bytes <= options.limits.max_header_list_bytes, "head larger than the limit");
    HttpHeaders h1 = certgate::edge::Http1Headers(head);
    certgate::edge::ConnectionAuth auth;
    auth.status = certgate::edge::CertStatus::kValid;
    certgate::edge::RequestDecision decision =
        certgate::edge::DecideRequest(zone, auth, head.method, head.path, h1, true);
    FUZZ_CHECK(decision.status != 421,
               "DecideRequest found another zone's host on a reported stream");
    streams[head.stream_id] = StreamState{};
    ++open;
    FUZZ_CHECK(open <= options.max_concurrent_streams, "%zu streams open at once", open);
    if (answer_inline) {
      answer(head.stream_id, head.path);
    } else {
      to_answer.emplace_back(head.stream_id, head.path);
    }
  };
  auto made = Http2ServerSession::Create(options, on_request, std::move(cb));
  FUZZ_CHECK(made.ok(), "session: %s", std::string(made.status().message()).c_str());
  session = std::move(*made);

  std::string wire = std::string(certgate::testing::kHttp2Preface) + std::string(input);
  size_t step = split == 0 ? wire.size() : split == 1 ? 1 : split == 2 ? 7 : 4096;
  bool failed = false;
  for (size_t pos = 0; pos < wire.size() && !failed; pos += step) {
    absl::Status status = session->Receive(absl::string_view(wire).substr(pos, step));
    failed = !status.ok();
    for (const auto& [id, path] : to_answer) {
      if (streams.count(id) > 0) {
        answer(id, path);
      }
    }
    to_answer.clear();
    CheckFrames(session->TakeOutput());
  }
  if (failed) {
    FUZZ_CHECK(!session->Receive(wire.substr(0, 24)).ok(), "input read after a failure");
  }
  FUZZ_CHECK(session->outbound_buffered() <= options.limits.max_connection_outbound_bytes,
             "outbound buffer beyond its limit");
  return 0;
}
