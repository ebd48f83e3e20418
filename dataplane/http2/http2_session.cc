#include "dataplane/http2/http2_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace certgate::edge {

namespace {

Http2Session* Self(void* user) { return static_cast<Http2Session*>(user); }

}  // namespace

Http2Session::Http2Session(const Http2SessionLimits& limits, StreamCallbacks callbacks)
    : limits_(limits), callbacks_(std::move(callbacks)) {}

Http2Session::~Http2Session() {
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
}

const nghttp2_session_callbacks* Http2Session::Callbacks() {
  static const nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &Http2Session::OnBeginFrameCb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &Http2Session::OnHeaderCb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Http2Session::OnFrameRecvCb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Http2Session::OnDataChunkCb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Http2Session::OnStreamCloseCb);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Http2Session::OnFrameSendCb);
    return cb;
  }();
  return callbacks;
}

nghttp2_option* Http2Session::NewOption() const {
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows open only as the application consumes: inbound buffering is
  // bounded by the windows, whatever the peer sends.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, limits_.max_outbound_ack);
  nghttp2_option_set_max_settings(opt, limits_.max_settings_entries);
  // CONTINUATION frames are counted in OnBeginFrameCb: nghttp2's own count
  // (Debian's 1.52 backport) also counts a frame header split across two
  // reads, so a legitimate client whose header straddles TLS records could
  // be refused. It stays as a far backstop.
  nghttp2_option_set_max_continuations(opt, 16 * (size_t{limits_.max_continuations} + 1));
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, limits_.hpack_table_bytes);
  // Closed streams are not kept for the RFC 7540 priority tree.
  nghttp2_option_set_no_closed_streams(opt, 1);
  return opt;
}

absl::Status Http2Session::Start(nghttp2_session* session,
                                 std::vector<nghttp2_settings_entry> extra) {
  session_ = session;
  std::vector<nghttp2_settings_entry> settings = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits_.hpack_table_bytes},
  };
  settings.insert(settings.end(), extra.begin(), extra.end());
  int rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  if (rv == 0 && limits_.connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    rv = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<int32_t>(limits_.connection_window));
  }
  if (rv != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP/2 settings refused: ", nghttp2_strerror(rv)));
  }
  return absl::OkStatus();
}

absl::Status Http2Session::Receive(absl::string_view bytes) {
  if (closing_) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP/2 session is closing: ", close_reason_));
  }
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (closing_) {
    return absl::ResourceExhaustedError(close_reason_);
  }
  if (rv < 0) {
    closing_ = true;
    close_reason_ = absl::StrCat("HTTP/2: ", nghttp2_strerror(static_cast<int>(rv)));
    // nghttp2 stops without a GOAWAY on these: tell the peer why.
    bool hostile = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    nghttp2_session_terminate_session(session_,
                                      hostile ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    if (rv == NGHTTP2_ERR_FLOODED) {
      return absl::ResourceExhaustedError(
          absl::StrCat(close_reason_, " (the peer sends PING or SETTINGS and does not read)"));
    }
    if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      return absl::ResourceExhaustedError(absl::StrCat(close_reason_, " (more than ",
                                                       limits_.max_continuations,
                                                       " CONTINUATION frames after one HEADERS)"));
    }
    return absl::InvalidArgumentError(close_reason_);
  }
  return absl::OkStatus();
}

std::string Http2Session::TakeOutput() {
  std::string out;
  TakeOutputTo([&out](absl::string_view bytes) { out.append(bytes.data(), bytes.size()); });
  return out;
}

bool Http2Session::TakeOutputTo(absl::FunctionRef<void(absl::string_view)> sink) {
  bool took = false;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) {
      if (n < 0 && close_reason_.empty()) {
        closing_ = true;
        close_reason_ = absl::StrCat("HTTP/2: ", nghttp2_strerror(static_cast<int>(n)));
      }
      break;
    }
    took = true;
    sink(absl::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
  }
  return took;
}

bool Http2Session::done() const {
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

Http2Session::Stream* Http2Session::FindAppStream(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() || !it->second.app ? nullptr : &it->second;
}

size_t Http2Session::OutboundBuffered(int32_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() || it->second.outbox == nullptr ? 0 : it->second.outbox->buffered();
}

size_t Http2Session::OutboundSpace(int32_t stream_id) const {
  size_t stream = OutboundBuffered(stream_id);
  size_t stream_room =
      stream >= limits_.max_stream_outbound_bytes ? 0 : limits_.max_stream_outbound_bytes - stream;
  size_t connection_room = outbound_total_ >= limits_.max_connection_outbound_bytes
                               ? 0
                               : limits_.max_connection_outbound_bytes - outbound_total_;
  return std::min(stream_room, connection_room);
}

absl::Status Http2Session::SendData(int32_t stream_id, absl::string_view data) {
  Stream* s = FindAppStream(stream_id);
  if (s == nullptr || s->outbox == nullptr || s->outbox->finished()) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP/2 stream ", stream_id, " has no open body to send on"));
  }
  if (data.size() > OutboundSpace(stream_id)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "HTTP/2 stream ", stream_id, ": ", data.size(), " more bytes would exceed the ",
        OutboundBuffered(stream_id) + data.size() > limits_.max_stream_outbound_bytes
            ? absl::StrCat("stream's outbound limit of ", limits_.max_stream_outbound_bytes)
            : absl::StrCat("connection's outbound limit of ",
                           limits_.max_connection_outbound_bytes),
        " bytes (the peer does not open its window)"));
  }
  s->outbox->Append(data);
  outbound_total_ += data.size();
  ResumeIfDeferred(stream_id, s->outbox.get());
  return absl::OkStatus();
}

absl::Status Http2Session::Finish(int32_t stream_id, HttpHeaders trailers) {
  Stream* s = FindAppStream(stream_id);
  if (s == nullptr || s->outbox == nullptr || s->outbox->finished()) {
    return absl::FailedPreconditionError(
        absl::StrCat("HTTP/2 stream ", stream_id, " has no open body to finish"));
  }
  s->outbox->Finish(std::move(trailers));
  ResumeIfDeferred(stream_id, s->outbox.get());
  return absl::OkStatus();
}

absl::Status Http2Session::Reset(int32_t stream_id, uint32_t error_code) {
  int rv = nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  if (rv != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP/2 stream ", stream_id, " cannot be reset: ", nghttp2_strerror(rv)));
  }
  return absl::OkStatus();
}

void Http2Session::Consume(int32_t stream_id, size_t bytes) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) {
    return;  // closed: its share was given back then
  }
  bytes = std::min(bytes, it->second.unconsumed);
  it->second.unconsumed -= bytes;
  inbound_total_ -= bytes;
  nghttp2_session_consume(session_, stream_id, bytes);
}

void Http2Session::GoAway(uint32_t error_code, absl::string_view reason) {
  if (close_reason_.empty()) {
    close_reason_ = std::string(reason);
  }
  nghttp2_session_terminate_session(session_, error_code);
}

void Http2Session::Drain() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void Http2Session::Hostile(uint32_t error_code, std::string reason) {
  if (closing_) {
    return;
  }
  closing_ = true;
  close_reason_ = std::move(reason);
  nghttp2_session_terminate_session(session_, error_code);
}

void Http2Session::ResumeIfDeferred(int32_t stream_id, Http2Outbox* outbox) {
  if (outbox->deferred) {
    outbox->deferred = false;
    nghttp2_session_resume_data(session_, stream_id);
  }
}

nghttp2_data_provider Http2Session::Provider(Http2Outbox* outbox) {
  nghttp2_data_provider provider;
  provider.source.ptr = outbox;
  provider.read_callback = &Http2Session::ReadCb;
  return provider;
}

void Http2Session::Adopt(int32_t stream_id, std::unique_ptr<Http2Outbox> outbox, bool app) {
  Stream& s = streams_[stream_id];
  if (outbox != nullptr) {
    outbound_total_ += outbox->buffered();
    s.outbox = std::move(outbox);
  }
  s.app = s.app || app;
}

int Http2Session::OnBeginFrameCb(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
  Http2Session* self = Self(user);
  if (hd->type == NGHTTP2_HEADERS) {
    // Header blocks never interleave on a connection (CONTINUATION follows
    // its HEADERS directly): one block in progress at a time.
    self->block_ = HeaderBlock();
    self->block_.stream_id = hd->stream_id;
    // One allocation each for a typical head instead of growing field by field.
    self->block_.pseudo.reserve(5);
    self->block_.fields.reserve(8);
  } else if (hd->type == NGHTTP2_CONTINUATION &&
             ++self->block_.continuations > self->limits_.max_continuations) {
    self->Hostile(NGHTTP2_ENHANCE_YOUR_CALM,
                  absl::StrCat("more than ", self->limits_.max_continuations,
                               " CONTINUATION frames after one HEADERS (CONTINUATION flood)"));
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Session::OnHeaderCb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                             void* user) {
  Http2Session* self = Self(user);
  if (self->closing_) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  HeaderBlock& block = self->block_;
  block.bytes += namelen + valuelen + 32;
  ++block.count;
  if (block.bytes > self->limits_.max_decoded_header_bytes) {
    self->Hostile(NGHTTP2_ENHANCE_YOUR_CALM,
                  absl::StrCat("HTTP/2 header block decodes to more than ",
                               self->limits_.max_decoded_header_bytes, " bytes (HPACK bomb)"));
    // Stop decoding now: the rest of the input is not worth the work.
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (block.bytes > self->limits_.max_header_list_bytes ||
      block.count > self->limits_.max_headers) {
    // Still decoded (the HPACK table must stay in step) but not kept.
    block.too_large = true;
  }
  if (block.too_large) {
    return 0;
  }
  absl::string_view n(reinterpret_cast<const char*>(name), namelen);
  absl::string_view v(reinterpret_cast<const char*>(value), valuelen);
  (!n.empty() && n[0] == ':' ? block.pseudo : block.fields)
      .push_back(HttpHeader{std::string(n), std::string(v)});
  return 0;
}

void Http2Session::Fail(int32_t stream_id, uint32_t error_code) {
  auto it = streams_.find(stream_id);
  if (it != streams_.end() && it->second.failed == 0) {
    it->second.failed = error_code;
  }
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

Http2Session::Stream* Http2Session::FindLiveStream(int32_t stream_id) {
  Stream* s = FindAppStream(stream_id);
  return s == nullptr || s->failed != 0 ? nullptr : s;
}

int Http2Session::OnFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  Http2Session* self = Self(user);
  if (self->closing_) {
    return 0;
  }
  int32_t id = frame->hd.stream_id;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      self->OnHeaders(*frame, std::move(self->block_));
      self->block_ = HeaderBlock();
      break;
    case NGHTTP2_DATA:
      break;
    default:
      self->OnControlFrame(*frame);
      return 0;
  }
  if (!self->closing_ && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
      self->FindLiveStream(id) != nullptr && self->callbacks_.on_end_stream) {
    self->callbacks_.on_end_stream(id);
  }
  return 0;
}

int Http2Session::OnDataChunkCb(nghttp2_session* session, uint8_t, int32_t stream_id,
                                const uint8_t* data, size_t len, void* user) {
  Http2Session* self = Self(user);
  Stream* stream =
      self->closing_ || !self->callbacks_.on_data ? nullptr : self->FindLiveStream(stream_id);
  if (stream == nullptr) {
    // Nobody will consume it: give the window back now.
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  // nghttp2 detects a peer overrunning its windows but still hands the
  // chunk out: the windows are enforced here too, so that what waits for
  // the application never exceeds them.
  if (self->inbound_total_ + len >
      static_cast<size_t>(std::max(0, nghttp2_session_get_effective_local_window_size(session)))) {
    self->Hostile(NGHTTP2_FLOW_CONTROL_ERROR, "HTTP/2 peer sent beyond the connection's window");
    return 0;
  }
  if (stream->unconsumed + len >
      static_cast<size_t>(std::max(
          0, nghttp2_session_get_stream_effective_local_window_size(session, stream_id)))) {
    nghttp2_session_consume(session, stream_id, len);
    self->Fail(stream_id, NGHTTP2_FLOW_CONTROL_ERROR);
    return 0;
  }
  stream->unconsumed += len;
  self->inbound_total_ += len;
  self->callbacks_.on_data(stream_id, absl::string_view(reinterpret_cast<const char*>(data), len));
  return 0;
}

int Http2Session::OnStreamCloseCb(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                  void* user) {
  Http2Session* self = Self(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) {
    return 0;
  }
  bool app = it->second.app;
  if (it->second.unconsumed > 0) {
    // Nobody will consume the rest: the connection window gets it back.
    self->inbound_total_ -= it->second.unconsumed;
    nghttp2_session_consume_connection(self->session_, it->second.unconsumed);
  }
  if (it->second.failed != 0) {
    error_code = it->second.failed;
  }
  if (it->second.outbox != nullptr) {
    self->outbound_total_ -= it->second.outbox->buffered();
  }
  self->streams_.erase(it);
  if (app && self->callbacks_.on_stream_close) {
    self->callbacks_.on_stream_close(stream_id, error_code);
  }
  return 0;
}

int Http2Session::OnFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    Self(user)->goaway_sent_ = frame->goaway.error_code;
  }
  return 0;
}

ssize_t Http2Session::ReadCb(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                             size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                             void* user) {
  Http2Session* self = Self(user);
  auto* outbox = static_cast<Http2Outbox*>(source->ptr);
  size_t n = outbox->Take(buf, length);
  self->outbound_total_ -= n;
  if (outbox->buffered() == 0 && outbox->finished()) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!outbox->trailers().empty()) {
      Http2HeaderBlock trailers;
      trailers.AddFields(outbox->trailers());
      if (nghttp2_submit_trailer(session, stream_id, trailers.nv(), trailers.size()) == 0) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    outbox->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace certgate::edge
