#include "dataplane/http/message_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace certgate::edge {
namespace {

MessageParser* Self(http_parser* p) { return static_cast<MessageParser*>(p->data); }

}  // namespace

MessageParser::MessageParser(http_parser_type type, ParserLimits limits, Callbacks callbacks)
    : limits_(limits), callbacks_(std::move(callbacks)) {
  http_parser_init(&parser_, type);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &MessageParser::OnMessageBegin;
  settings_.on_url = &MessageParser::OnUrl;
  settings_.on_status = &MessageParser::OnStatus;
  settings_.on_header_field = &MessageParser::OnHeaderField;
  settings_.on_header_value = &MessageParser::OnHeaderValue;
  settings_.on_headers_complete = &MessageParser::OnHeadersComplete;
  settings_.on_body = &MessageParser::OnBody;
  settings_.on_message_complete = &MessageParser::OnMessageComplete;
}

size_t MessageParser::Feed(const char* data, size_t len) {
  if (paused_ || error_ != Error::kNone || len == 0) {
    return 0;
  }
  size_t n = http_parser_execute(&parser_, &settings_, data, len);
  http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) {
    return n;
  }
  if (err != HPE_OK) {
    if (error_ == Error::kNone) {
      switch (err) {
        case HPE_HEADER_OVERFLOW:
          error_ = Error::kHeadersTooLarge;
          break;
        case HPE_INVALID_CONTENT_LENGTH:
        case HPE_UNEXPECTED_CONTENT_LENGTH:
        case HPE_INVALID_TRANSFER_ENCODING:
        case HPE_INVALID_CHUNK_SIZE:
          error_ = Error::kBadFraming;
          break;
        default:
          error_ = Error::kBadMessage;
      }
    }
    return n;
  }
  if (parser_.upgrade && error_ == Error::kNone) {
    // http_parser stops at an Upgrade or CONNECT: the rest would not be HTTP.
    error_ = Error::kUnsupported;
  }
  return n;
}

bool MessageParser::FeedEof() {
  if (error_ != Error::kNone) {
    return false;
  }
  if (paused_) {
    return !in_message_;
  }
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK && HTTP_PARSER_ERRNO(&parser_) != HPE_PAUSED) {
    error_ = Error::kBadMessage;
    return false;
  }
  return !in_message_;
}

void MessageParser::Reset() {
  http_parser_type type = static_cast<http_parser_type>(parser_.type);
  http_parser_init(&parser_, type);
  parser_.data = this;
  error_ = Error::kNone;
  paused_ = false;
  in_message_ = false;
  last_was_value_ = false;
  keep_alive_ = false;
  has_content_length_ = false;
  content_length_ = 0;
  header_bytes_ = 0;
  url_.clear();
  status_text_.clear();
  headers_.clear();
  trailers_.clear();
  in_trailers_ = false;
}

void MessageParser::Resume() {
  if (paused_) {
    paused_ = false;
    http_parser_pause(&parser_, 0);
  }
}

const char* MessageParser::method_name() const {
  return http_method_str(static_cast<http_method>(parser_.method));
}

std::string MessageParser::error_detail() const {
  switch (error_) {
    case Error::kNone:
      return "";
    case Error::kHeadersTooLarge:
      return "request headers too large";
    case Error::kTooManyHeaders:
      return "too many request headers";
    case Error::kUnsupported:
      return "CONNECT is not supported";
    case Error::kAborted:
      return "aborted";
    default:
      return http_errno_description(HTTP_PARSER_ERRNO(&parser_));
  }
}

bool MessageParser::CountHeaderBytes(size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > limits_.max_header_bytes) {
    error_ = Error::kHeadersTooLarge;
    return false;
  }
  return true;
}

int MessageParser::OnMessageBegin(http_parser* p) {
  MessageParser* self = Self(p);
  self->in_message_ = true;
  self->last_was_value_ = false;
  self->keep_alive_ = false;
  self->has_content_length_ = false;
  self->content_length_ = 0;
  self->header_bytes_ = 0;
  self->url_.clear();
  self->status_text_.clear();
  self->headers_.clear();
  self->trailers_.clear();
  self->in_trailers_ = false;
  if (self->callbacks_.on_message_begin) {
    self->callbacks_.on_message_begin();
  }
  return 0;
}

int MessageParser::OnUrl(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return 1;
  }
  self->url_.append(at, len);
  return 0;
}

int MessageParser::OnStatus(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return 1;
  }
  self->status_text_.append(at, len);
  return 0;
}

int MessageParser::OnHeaderField(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (!self->CountHeaderBytes(len + 4)) {  // ": " and CRLF
    return 1;
  }
  // http_parser reports a chunked body's trailer fields through the same
  // callbacks as the head's; they are kept apart, so that the head judged
  // at on_headers_complete is the head forwarded, whenever that happens.
  HttpHeaders& fields = self->in_trailers_ ? self->trailers_ : self->headers_;
  if (fields.empty() || self->last_was_value_) {
    if (self->headers_.size() + self->trailers_.size() >= self->limits_.max_headers) {
      self->error_ = Error::kTooManyHeaders;
      return 1;
    }
    fields.push_back({});
  }
  self->last_was_value_ = false;
  fields.back().name.append(at, len);
  return 0;
}

int MessageParser::OnHeaderValue(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (!self->CountHeaderBytes(len)) {
    return 1;
  }
  self->last_was_value_ = true;
  (self->in_trailers_ ? self->trailers_ : self->headers_).back().value.append(at, len);
  return 0;
}

int MessageParser::OnHeadersComplete(http_parser* p) {
  MessageParser* self = Self(p);
  self->in_trailers_ = true;  // any field from here on is a trailer
  self->last_was_value_ = false;
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  self->has_content_length_ = (p->flags & F_CONTENTLENGTH) != 0;
  self->content_length_ = self->has_content_length_ ? p->content_length : 0;
  if (self->has_content_length_ && p->uses_transfer_encoding) {
    // Both framings: the classic request smuggling vector. http_parser 2.9
    // refuses it already; this keeps that true whatever the version.
    self->error_ = Error::kBadFraming;
    return -1;
  }
  if (p->type == HTTP_REQUEST && p->uses_transfer_encoding && (p->flags & F_CHUNKED) == 0) {
    // A request body must end in chunked to have a length at all; http_parser
    // only says so after this callback, so refuse before anything is sent.
    self->error_ = Error::kBadFraming;
    return -1;
  }
  if (p->type == HTTP_REQUEST && p->method == HTTP_CONNECT) {
    // CONNECT: what follows would not be HTTP; refuse before the request goes
    // anywhere. An Upgrade request is the caller's to judge (upgrade()).
    self->error_ = Error::kUnsupported;
    return -1;
  }
  bool skip_body = false;
  if (self->callbacks_.on_headers_complete && !self->callbacks_.on_headers_complete(&skip_body)) {
    if (self->error_ == Error::kNone) {
      self->error_ = Error::kAborted;
    }
    return -1;
  }
  return skip_body ? 1 : 0;
}

int MessageParser::OnBody(http_parser* p, const char* at, size_t len) {
  MessageParser* self = Self(p);
  if (self->callbacks_.on_body && !self->callbacks_.on_body(absl::string_view(at, len))) {
    self->error_ = Error::kAborted;
    return 1;
  }
  return 0;
}

int MessageParser::OnMessageComplete(http_parser* p) {
  MessageParser* self = Self(p);
  self->in_message_ = false;
  // Keep-alive may only be known at the end (HTTP/1.0 close-delimited).
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  self->paused_ = true;
  http_parser_pause(p, 1);
  if (self->callbacks_.on_message_complete && !self->callbacks_.on_message_complete()) {
    self->error_ = Error::kAborted;
    return 1;
  }
  return 0;
}

}  // namespace certgate::edge
