#include "tests/unit/dataplane_http2/http2_test_peer.h"

#include <nghttp2/nghttp2.h>

#include <string>

#include "gtest/gtest.h"

namespace certgate::edge::testing {

std::vector<Frame> ParseFrames(absl::string_view bytes) {
  std::vector<Frame> out;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  size_t pos = 0;
  while (pos + 9 <= bytes.size()) {
    size_t len = (size_t{byte(pos)} << 16) | (size_t{byte(pos + 1)} << 8) | byte(pos + 2);
    if (pos + 9 + len > bytes.size()) {
      ADD_FAILURE() << "truncated frame in the session's output";
      break;
    }
    Frame f;
    f.type = byte(pos + 3);
    f.flags = byte(pos + 4);
    f.stream_id =
        static_cast<int32_t>(((uint32_t{byte(pos + 5)} << 24) | (uint32_t{byte(pos + 6)} << 16) |
                              (uint32_t{byte(pos + 7)} << 8) | byte(pos + 8)) &
                             0x7fffffff);
    f.payload = std::string(bytes.substr(pos + 9, len));
    out.push_back(std::move(f));
    pos += 9 + len;
  }
  EXPECT_EQ(pos, bytes.size()) << "bytes after the last whole frame";
  return out;
}

namespace {
uint32_t Be32(absl::string_view b, size_t at) {
  return (uint32_t{static_cast<uint8_t>(b[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[at + 2])} << 8) | static_cast<uint8_t>(b[at + 3]);
}
}  // namespace

std::optional<uint32_t> GoAwayCode(absl::string_view bytes) {
  for (const Frame& f : ParseFrames(bytes)) {
    if (f.type == NGHTTP2_GOAWAY && f.payload.size() >= 8) {
      return Be32(f.payload, 4);
    }
  }
  return std::nullopt;
}

std::map<int32_t, int> ResponseStatuses(absl::string_view bytes) {
  std::map<int32_t, int> out;
  nghttp2_hd_inflater* inflater = nullptr;
  if (nghttp2_hd_inflate_new(&inflater) != 0) {
    ADD_FAILURE() << "nghttp2_hd_inflate_new";
    return out;
  }
  for (const Frame& f : ParseFrames(bytes)) {
    if (f.type != NGHTTP2_HEADERS) {
      continue;
    }
    // The server writes no padding nor priority: the payload is the block.
    const auto* in = reinterpret_cast<const uint8_t*>(f.payload.data());
    size_t left = f.payload.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      ssize_t n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
      if (n < 0) {
        ADD_FAILURE() << "HPACK error in the session's output";
        break;
      }
      in += n;
      left -= static_cast<size_t>(n);
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0 &&
          absl::string_view(reinterpret_cast<const char*>(nv.name), nv.namelen) == ":status") {
        out[f.stream_id] =
            std::stoi(std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
      }
      if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
        nghttp2_hd_inflate_end_headers(inflater);
        break;
      }
      if (n == 0 && left == 0) {
        break;
      }
    }
  }
  nghttp2_hd_inflate_del(inflater);
  return out;
}

std::map<int32_t, uint32_t> RstCodes(absl::string_view bytes) {
  std::map<int32_t, uint32_t> out;
  for (const Frame& f : ParseFrames(bytes)) {
    if (f.type == NGHTTP2_RST_STREAM && f.payload.size() == 4) {
      out[f.stream_id] = Be32(f.payload, 0);
    }
  }
  return out;
}

Http2ServerOptions ServerOptions() {
  Http2ServerOptions options;
  options.zone_hostname = "auth.pizza";
  return options;
}

ServerPeer::ServerPeer(Http2ServerOptions options) {
  Http2Session::StreamCallbacks cb;
  cb.on_data = [this](int32_t id, absl::string_view data) {
    streams[id].data.append(data.data(), data.size());
    if (consume) {
      session->Consume(id, data.size());
    }
  };
  cb.on_trailers = [this](int32_t id, HttpHeaders t) { streams[id].trailers = std::move(t); };
  cb.on_end_stream = [this](int32_t id) { streams[id].ended = true; };
  cb.on_stream_close = [this](int32_t id, uint32_t code) {
    streams[id].closed = true;
    streams[id].close_code = code;
  };
  auto made = Http2ServerSession::Create(
      std::move(options), [this](Http2RequestHead head) { requests.push_back(std::move(head)); },
      std::move(cb));
  EXPECT_TRUE(made.ok()) << made.status();
  session = std::move(*made);
}

ClientPeer::ClientPeer(Http2ClientOptions options) {
  Http2Session::StreamCallbacks cb;
  cb.on_data = [this](int32_t id, absl::string_view data) {
    streams[id].data.append(data.data(), data.size());
    session->Consume(id, data.size());
  };
  cb.on_trailers = [this](int32_t id, HttpHeaders t) { streams[id].trailers = std::move(t); };
  cb.on_end_stream = [this](int32_t id) { streams[id].ended = true; };
  cb.on_stream_close = [this](int32_t id, uint32_t code) {
    streams[id].closed = true;
    streams[id].close_code = code;
  };
  auto made = Http2ClientSession::Create(
      options, [this](Http2ResponseHead head) { responses[head.stream_id] = std::move(head); },
      [this](int32_t, uint32_t code) { goaway_code = code; }, std::move(cb));
  EXPECT_TRUE(made.ok()) << made.status();
  session = std::move(*made);
}

void Pump(ClientPeer& client, ServerPeer& server, std::vector<std::string>* server_errors) {
  for (int round = 0; round < 1000; ++round) {
    std::string to_server = client.session->TakeOutput();
    if (!to_server.empty()) {
      absl::Status s = server.session->Receive(to_server);
      if (!s.ok() && server_errors != nullptr) {
        server_errors->push_back(std::string(s.message()));
      }
    }
    std::string to_client = server.session->TakeOutput();
    if (!to_client.empty()) {
      EXPECT_TRUE(client.session->Receive(to_client).ok());
    }
    if (to_server.empty() && to_client.empty()) {
      return;
    }
  }
  ADD_FAILURE() << "the sessions kept writing to each other";
}

}  // namespace certgate::edge::testing
