#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "dataplane/http/message_parser.h"

namespace certgate::edge {

// Http2HeaderBlock owns the name/value pairs of one header block to submit
// to nghttp2: pseudo-headers first, then fields with lowercase names (HTTP/2
// forbids uppercase), without the connection-specific fields HTTP/2 forbids
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and
// TE other than "trailers") which an HTTP/1.1 peer on the other side may have
// sent. The nv array points into the block: keep it alive until the submit
// call returns (nghttp2 copies).
class Http2HeaderBlock {
 public:
  Http2HeaderBlock() = default;
  Http2HeaderBlock(const Http2HeaderBlock&) = delete;
  Http2HeaderBlock& operator=(const Http2HeaderBlock&) = delete;

  // AddPseudo: ":status", ":method"... before any field.
  void AddPseudo(absl::string_view name, absl::string_view value);
  // AddFields appends `fields`, lowercased and filtered (see above).
  void AddFields(const HttpHeaders& fields);

  const nghttp2_nv* nv();
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> values_;
  std::vector<nghttp2_nv> nv_;
};

// IsConnectionSpecificField: a field HTTP/2 forbids (RFC 9113 8.2.2), by its
// lowercase name and value.
bool IsConnectionSpecificField(absl::string_view lower_name, absl::string_view value);

}  // namespace certgate::edge
