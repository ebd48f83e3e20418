#include "controlplane/validation/json_validator.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {
namespace {

constexpr int kMaxDepth = 256;

class JsonChecker {
 public:
  explicit JsonChecker(absl::string_view text) : text_(text) {}

  absl::Status Check() {
    SkipWhitespace();
    if (!Value(0)) {
      return Error();
    }
    SkipWhitespace();
    if (pos_ != text_.size()) {
      Fail("unexpected data after the JSON value");
      return Error();
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(absl::StrCat(error_, " at byte ", error_pos_));
  }

  bool Fail(const char* message) {
    if (error_.empty()) {
      error_ = message;
      error_pos_ = pos_;
    }
    return false;
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  bool Literal(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      return Fail("invalid literal");
    }
    pos_ += word.size();
    return true;
  }

  bool Value(int depth) {
    if (depth > kMaxDepth) {
      return Fail("nesting too deep");
    }
    switch (Peek()) {
      case '{':
        return Object(depth + 1);
      case '[':
        return Array(depth + 1);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) {
          return Number();
        }
        return Fail(AtEnd() ? "unexpected end of JSON" : "unexpected character");
    }
  }

  bool Object(int depth) {
    ++pos_;  // {
    SkipWhitespace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWhitespace();
      if (Peek() != '"') {
        return Fail("expected a string key");
      }
      if (!String()) {
        return false;
      }
      SkipWhitespace();
      if (Peek() != ':') {
        return Fail("expected ':'");
      }
      ++pos_;
      SkipWhitespace();
      if (!Value(depth)) {
        return false;
      }
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool Array(int depth) {
    ++pos_;  // [
    SkipWhitespace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWhitespace();
      if (!Value(depth)) {
        return false;
      }
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  // Utf8Sequence checks one multi-byte UTF-8 character (no overlongs, no
  // surrogates, at most U+10FFFF).
  bool Utf8Sequence() {
    uint8_t lead = static_cast<uint8_t>(text_[pos_]);
    int length = 0;
    uint32_t code = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07;
    } else {
      return Fail("invalid UTF-8");
    }
    if (pos_ + length > text_.size()) {
      return Fail("invalid UTF-8");
    }
    for (int i = 1; i < length; ++i) {
      uint8_t next = static_cast<uint8_t>(text_[pos_ + i]);
      if ((next & 0xc0) != 0x80) {
        return Fail("invalid UTF-8");
      }
      code = (code << 6) | (next & 0x3f);
    }
    if ((length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
        (length == 4 && (code < 0x10000 || code > 0x10ffff))) {
      return Fail("invalid UTF-8");
    }
    pos_ += length;
    return true;
  }

  bool String() {
    ++pos_;  // "
    while (true) {
      if (AtEnd()) {
        return Fail("unterminated string");
      }
      uint8_t c = static_cast<uint8_t>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        return Fail("control character in string");
      }
      if (c == '\\') {
        ++pos_;
        char escape = Peek();
        if (escape == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() || !IsHex(text_[pos_ + i])) {
              return Fail("invalid \\u escape");
            }
          }
          pos_ += 5;
          continue;
        }
        if (escape == '"' || escape == '\\' || escape == '/' || escape == 'b' || escape == 'f' ||
            escape == 'n' || escape == 'r' || escape == 't') {
          ++pos_;
          continue;
        }
        return Fail("invalid escape");
      }
      if (c >= 0x80) {
        if (!Utf8Sequence()) {
          return false;
        }
        continue;
      }
      ++pos_;
    }
  }

  bool Digits() {
    size_t start = pos_;
    while (Peek() >= '0' && Peek() <= '9') {
      ++pos_;
    }
    return pos_ > start;
  }

  bool Number() {
    if (Peek() == '-') {
      ++pos_;
    }
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return Fail("invalid number");
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) {
        return Fail("invalid number");
      }
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') {
        ++pos_;
      }
      if (!Digits()) {
        return Fail("invalid number");
      }
    }
    return true;
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};

}  // namespace

absl::Status ValidateJson(absl::string_view text) { return JsonChecker(text).Check(); }

}  // namespace certgate::controlplane
