#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

// Http2HeaderBlock owns the name/value pairs of one header block to submit
// to nghttp2: pseudo-headers first, then fields with lowercase names (HTTP/2
// forbids uppercase), without the connection-specific fields HTTP/2 forbids
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and
// TE other than "trailers") which an HTTP/1.1 peer on the other side may have
// sent. The nv array points into the block and into the fields given to
// AddFields (names already lowercase and values are not copied): keep both
// alive until the submit call returns (nghttp2 copies).
class Http2HeaderBlock {
 public:
  Http2HeaderBlock() = default;
  Http2HeaderBlock(const Http2HeaderBlock&) = delete;
  Http2HeaderBlock& operator=(const Http2HeaderBlock&) = delete;

  // AddPseudo: ":status", ":method"... before any field. `name` is a
  // literal; `value` is copied.
  void AddPseudo(absl::string_view name, absl::string_view value);
  // AddFields appends `fields`, lowercased and filtered (see above).
  void AddFields(const HttpHeaders& fields);

  const nghttp2_nv* nv();
  size_t size() const { return entries_.size(); }

 private:
  // A name or value: a view, or (index >= 0) a string of owned_, resolved in
  // nv() (owned_ may move its strings as it grows).
  struct Part {
    absl::string_view view;
    int owned = -1;
  };
  struct Entry {
    Part name;
    Part value;
  };
  Part Own(std::string s);

  // Inline sizes cover a typical response head without a heap allocation.
  absl::InlinedVector<Entry, 16> entries_;
  absl::InlinedVector<std::string, 4> owned_;
  absl::InlinedVector<nghttp2_nv, 16> nv_;
};

// IsConnectionSpecificField: a field HTTP/2 forbids (RFC 9113 8.2.2), by its
// lowercase name and value.
bool IsConnectionSpecificField(absl::string_view lower_name, absl::string_view value);

}  // namespace certgate::edge
