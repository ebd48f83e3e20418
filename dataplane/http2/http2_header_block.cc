#include "dataplane/http2/http2_header_block.h"

#include <algorithm>

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

Http2HeaderBlock::Part Http2HeaderBlock::Own(std::string s) {
  owned_.push_back(std::move(s));
  return Part{absl::string_view(), static_cast<int>(owned_.size() - 1)};
}

void Http2HeaderBlock::AddPseudo(absl::string_view name, absl::string_view value) {
  entries_.push_back(Entry{Part{name}, Own(std::string(value))});
}

void Http2HeaderBlock::AddFields(const HttpHeaders& fields) {
  for (const HttpHeader& h : fields) {
    bool lower = std::none_of(h.name.begin(), h.name.end(), absl::ascii_isupper);
    Part name;
    absl::string_view lower_name;
    if (lower) {
      name.view = h.name;
      lower_name = h.name;
    } else {
      name = Own(absl::AsciiStrToLower(h.name));
      lower_name = owned_.back();
    }
    if (IsConnectionSpecificField(lower_name, h.value)) {
      if (!lower) {
        owned_.pop_back();
      }
      continue;
    }
    entries_.push_back(Entry{name, Part{h.value}});
  }
}

const nghttp2_nv* Http2HeaderBlock::nv() {
  auto resolve = [this](const Part& p) {
    return p.owned >= 0 ? absl::string_view(owned_[static_cast<size_t>(p.owned)]) : p.view;
  };
  nv_.clear();
  nv_.reserve(entries_.size());
  for (const Entry& e : entries_) {
    absl::string_view name = resolve(e.name);
    absl::string_view value = resolve(e.value);
    // NO_COPY flags are not used: nghttp2 copies, and blocks are small.
    nv_.push_back(nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                             const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())),
                             name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv_.data();
}

}  // namespace certgate::edge
