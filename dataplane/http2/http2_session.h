#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"
#include "dataplane/http2/http2_header_block.h"
#include "dataplane/http2/http2_outbox.h"

namespace certgate::edge {

// Http2SessionLimits bound what one peer can make a session hold, on both
// sides (clients of the edge, origins).
struct Http2SessionLimits {
  // A header block's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (name
  // + value + 32 per field) and its field count: beyond either a request is
  // answered 431 (a response or trailers: the stream is reset).
  uint32_t max_header_list_bytes = 32768;
  uint32_t max_headers = 100;
  // Decoded bytes of one header block beyond which the peer is hostile
  // (an HPACK bomb: a few bytes that index a large table entry many times):
  // GOAWAY ENHANCE_YOUR_CALM before decoding further.
  size_t max_decoded_header_bytes = 262144;
  // CONTINUATION frames after one HEADERS: beyond, GOAWAY (CONTINUATION flood).
  uint32_t max_continuations = 8;
  // SETTINGS_HEADER_TABLE_SIZE: the HPACK table the peer may make us keep;
  // a table size update above it is a COMPRESSION_ERROR. Also caps our own
  // encoder's table.
  uint32_t hpack_table_bytes = 4096;
  // Receive windows: what the peer may send before the application
  // consumed it (Consume), per stream and for the connection. They bound
  // what a session buffers inbound.
  uint32_t stream_window = 262144;
  uint32_t connection_window = 1048576;
  // Outbound bytes queued and not yet sent (the peer's windows hold them
  // back): SendData beyond either is RESOURCE_EXHAUSTED, so a peer that
  // never opens its window cannot make the edge buffer an origin's body.
  size_t max_stream_outbound_bytes = 1048576;
  size_t max_connection_outbound_bytes = 4194304;
  // SETTINGS ACK and PING ACK frames queued unsent: beyond, the peer floods
  // (it does not read) and the session ends.
  size_t max_outbound_ack = 1000;
  // Entries in one SETTINGS frame: beyond, GOAWAY ENHANCE_YOUR_CALM.
  size_t max_settings_entries = 32;
};

// Http2Session is the part of an HTTP/2 endpoint both sides share: nghttp2
// fed with bytes read from the peer (Receive) and drained of bytes to write
// (TakeOutput), each stream's outgoing body streamed under flow control,
// incoming bodies handed out as they arrive and only acknowledged to the
// peer (WINDOW_UPDATE) when the application consumed them, header blocks
// collected under limits. Http2ServerSession and Http2ClientSession add
// what differs. Not thread-safe; TakeOutput must not be called from inside
// a callback.
class Http2Session {
 public:
  // Events of streams the application knows of (requests it was given,
  // requests it submitted). A callback may submit, send and reset, but not
  // destroy the session.
  struct StreamCallbacks {
    std::function<void(int32_t stream_id, absl::string_view data)> on_data;
    std::function<void(int32_t stream_id, HttpHeaders trailers)> on_trailers;
    // The peer ended its side of the stream (after its trailers if any).
    std::function<void(int32_t stream_id)> on_end_stream;
    // The stream is gone: both sides ended (error_code 0) or it was reset
    // (by the peer or the session: the HTTP/2 error code).
    std::function<void(int32_t stream_id, uint32_t error_code)> on_stream_close;
  };

  virtual ~Http2Session();
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  // Receive processes bytes read from the peer. An error means the
  // connection is over (the peer broke the protocol or a limit): write what
  // TakeOutput still has (a GOAWAY), then close. OK does not mean it goes
  // on: nghttp2 answers most protocol errors with a GOAWAY of its own, after
  // which done() is true once the output is written.
  absl::Status Receive(absl::string_view bytes);
  // TakeOutput: the bytes to write to the peer next ("" when none).
  std::string TakeOutput();
  // TakeOutputTo hands the same bytes to `sink` piece by piece, as nghttp2
  // frames them (no copy in between); false when there were none.
  bool TakeOutputTo(absl::FunctionRef<void(absl::string_view)> sink);

  // SendData queues body bytes on a stream whose head was submitted without
  // end_stream. RESOURCE_EXHAUSTED beyond the outbound limits (nothing
  // queued): wait until OutboundSpace grows.
  absl::Status SendData(int32_t stream_id, absl::string_view data);
  // Finish ends the stream's body, with trailers when not empty.
  absl::Status Finish(int32_t stream_id, HttpHeaders trailers = {});
  // Reset sends RST_STREAM with `error_code`.
  absl::Status Reset(int32_t stream_id, uint32_t error_code);
  // Consume: the application is done with `bytes` of a stream's incoming
  // body; the peer may send that much more. Once a stream is closed, what
  // it left unconsumed is given back by the session itself.
  void Consume(int32_t stream_id, size_t bytes);
  // GoAway ends the session with GOAWAY `error_code` once output is
  // written; open streams end with it.
  void GoAway(uint32_t error_code, absl::string_view reason);
  // Drain says GOAWAY NO_ERROR but lets the streams already open finish:
  // the peer opens no new one, and done() turns true when the last closes
  // (the edge draining for a restart or a hand-over).
  void Drain();

  size_t OutboundBuffered(int32_t stream_id) const;
  size_t outbound_buffered() const { return outbound_total_; }
  // inbound_unconsumed: body bytes reported and not yet consumed.
  size_t inbound_unconsumed() const { return inbound_total_; }
  // OutboundSpace: how many more bytes SendData accepts on the stream now.
  size_t OutboundSpace(int32_t stream_id) const;
  // open_streams: streams the application knows of that are not closed.
  size_t open_streams() const { return streams_.size(); }
  // done: nothing more to read or write; close the connection.
  bool done() const;
  // The GOAWAY error code this side sent, if it sent one.
  std::optional<uint32_t> goaway_sent() const { return goaway_sent_; }
  // Why the session ended early ("" when it did not).
  const std::string& close_reason() const { return close_reason_; }

 protected:
  struct HeaderBlock {
    int32_t stream_id = 0;
    HttpHeaders pseudo;  // ":name" fields, in order
    HttpHeaders fields;
    size_t bytes = 0;
    uint32_t count = 0;
    uint32_t continuations = 0;
    bool too_large = false;  // beyond max_header_list_bytes or max_headers
  };
  struct Stream {
    std::unique_ptr<Http2Outbox> outbox;  // null when the head ended the stream
    bool app = false;                     // the application knows the stream
    bool head_seen = false;               // the peer's request or final response head arrived
    uint32_t failed = 0;                  // Fail's error code: reported at close, nothing before
    size_t unconsumed = 0;                // body bytes reported and not yet consumed
  };

  Http2Session(const Http2SessionLimits& limits, StreamCallbacks callbacks);

  // NewOption: nghttp2 options every session uses; the subclass adds its own.
  nghttp2_option* NewOption() const;
  // Start takes the session the subclass made (with Callbacks()), submits
  // SETTINGS (the common ones plus `extra`) and the connection window.
  absl::Status Start(nghttp2_session* session, std::vector<nghttp2_settings_entry> extra);
  static const nghttp2_session_callbacks* Callbacks();

  // OnHeaders: a complete header block arrived (HEADERS plus CONTINUATION).
  virtual void OnHeaders(const nghttp2_frame& frame, HeaderBlock block) = 0;
  // OnControlFrame: RST_STREAM, PING, SETTINGS, GOAWAY, WINDOW_UPDATE received.
  virtual void OnControlFrame(const nghttp2_frame& frame) {}

  // Provider makes a body source for a head about to be submitted; Adopt
  // files it under the stream id the submit gave.
  nghttp2_data_provider Provider(Http2Outbox* outbox);
  void Adopt(int32_t stream_id, std::unique_ptr<Http2Outbox> outbox, bool app);
  // Hostile ends the session: GOAWAY `error_code`, nothing more is read
  // nor reported.
  void Hostile(uint32_t error_code, std::string reason);
  Stream* FindAppStream(int32_t stream_id);
  // FindLiveStream: an application stream that did not Fail.
  Stream* FindLiveStream(int32_t stream_id);
  // Fail resets a stream for a limit of ours: nothing more of it is
  // reported but its close, with `error_code` even if the peer had ended it.
  void Fail(int32_t stream_id, uint32_t error_code);

  nghttp2_session* session_ = nullptr;
  Http2SessionLimits limits_;
  StreamCallbacks callbacks_;

 private:
  static int OnBeginFrameCb(nghttp2_session*, const nghttp2_frame_hd* hd, void* user);
  static int OnHeaderCb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                        void* user);
  static int OnFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnDataChunkCb(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user);
  static int OnStreamCloseCb(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static int OnFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static ssize_t ReadCb(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                        uint32_t* data_flags, nghttp2_data_source* source, void* user);
  void ResumeIfDeferred(int32_t stream_id, Http2Outbox* outbox);

  absl::flat_hash_map<int32_t, Stream> streams_;
  HeaderBlock block_;
  size_t outbound_total_ = 0;
  size_t inbound_total_ = 0;  // unconsumed body bytes of every stream
  bool closing_ = false;      // Hostile or fatal: no more input
  std::optional<uint32_t> goaway_sent_;
  std::string close_reason_;
};

}  // namespace certgate::edge
