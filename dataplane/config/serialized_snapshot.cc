#include "dataplane/config/serialized_snapshot.h"

#include <climits>

#include "certgate/v1/edge_config.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace certgate::edge {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr uint32_t Tag(int field, WireFormatLite::WireType type) {
  return (static_cast<uint32_t>(field) << 3) | static_cast<uint32_t>(type);
}

// ReadView: the length-delimited field at `in`'s position, as a view of
// `bytes`.
bool ReadView(absl::string_view bytes, CodedInputStream* in, absl::string_view* out) {
  uint32_t length = 0;
  if (!in->ReadVarint32(&length) || length > static_cast<uint32_t>(INT_MAX) ||
      !in->Skip(static_cast<int>(length))) {
    return false;
  }
  size_t start = static_cast<size_t>(in->CurrentPosition()) - length;
  *out = bytes.substr(start, length);
  return true;
}

}  // namespace

std::optional<SerializedSnapshot> SerializedSnapshot::Scan(absl::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return std::nullopt;  // beyond what protobuf parses, as before
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(bytes.size()));
  SerializedSnapshot out;
  while (uint32_t tag = in.ReadTag()) {
    absl::string_view view;
    if (tag == Tag(v1::Snapshot::kVersionFieldNumber, WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint64(&out.version)) {
        return std::nullopt;
      }
    } else if (tag == Tag(v1::Snapshot::kStateLogIdFieldNumber, WireFormatLite::WIRETYPE_FIXED64)) {
      if (!in.ReadLittleEndian64(&out.state_log_id)) {
        return std::nullopt;
      }
    } else if (tag ==
               Tag(v1::Snapshot::kZonesFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!ReadView(bytes, &in, &view)) {
        return std::nullopt;
      }
      out.zones.push_back(view);
    } else if (tag == Tag(v1::Snapshot::kZoneFailuresFieldNumber,
                          WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!ReadView(bytes, &in, &view)) {
        return std::nullopt;
      }
      out.failures.push_back(view);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (in.CurrentPosition() != static_cast<int>(bytes.size())) {
    return std::nullopt;
  }
  return out;
}

std::optional<uint64_t> SerializedSnapshot::ZoneId(absl::string_view zone) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(zone.data()), static_cast<int>(zone.size()));
  uint64_t id = 0;  // proto3: absent is 0
  while (uint32_t tag = in.ReadTag()) {
    if (tag == Tag(v1::EdgeZone::kIdFieldNumber, WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint64(&id)) {
        return std::nullopt;
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return std::nullopt;
    }
  }
  if (in.CurrentPosition() != static_cast<int>(zone.size())) {
    return std::nullopt;
  }
  return id;
}

}  // namespace certgate::edge
