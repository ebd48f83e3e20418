#include "dataplane/http2/http2_header_block.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace certgate::edge {

bool IsConnectionSpecificField(absl::string_view lower_name, absl::string_view value) {
  if (lower_name == "te") {
    return !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value), "trailers");
  }
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade";
}

void Http2HeaderBlock::AddPseudo(absl::string_view name, absl::string_view value) {
  names_.emplace_back(name);
  values_.emplace_back(value);
}

void Http2HeaderBlock::AddFields(const HttpHeaders& fields) {
  for (const HttpHeader& h : fields) {
    std::string name = absl::AsciiStrToLower(h.name);
    if (IsConnectionSpecificField(name, h.value)) {
      continue;
    }
    names_.push_back(std::move(name));
    values_.push_back(h.value);
  }
}

const nghttp2_nv* Http2HeaderBlock::nv() {
  nv_.clear();
  nv_.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    // NO_COPY flags are not used: nghttp2 copies, and blocks are small.
    nv_.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(names_[i].data()),
                             reinterpret_cast<uint8_t*>(values_[i].data()), names_[i].size(),
                             values_[i].size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv_.data();
}

}  // namespace certgate::edge
