#include "controlplane/store/postgres_statement.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {
namespace {

// Type OIDs of the parameters we bind (pg_type.h is a server header).
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

}  // namespace

void PostgresStatement::Bind(int index, Oid type, absl::string_view value, int format) {
  size_t slot = static_cast<size_t>(index - 1);
  if (values_.size() <= slot) {
    types_.resize(slot + 1, 0);
    values_.resize(slot + 1);
    formats_.resize(slot + 1, 0);
  }
  types_[slot] = type;
  values_[slot] = std::string(value);
  formats_[slot] = format;
}

void PostgresStatement::BindInt64(int index, int64_t value) {
  Bind(index, kInt8Oid, absl::StrCat(value), 0);
}

void PostgresStatement::BindText(int index, absl::string_view value) {
  Bind(index, kTextOid, value, 0);
}

// Blobs go binary: no escaping, and any byte allowed.
void PostgresStatement::BindBlob(int index, absl::string_view value) {
  Bind(index, kByteaOid, value, 1);
}

absl::StatusOr<bool> PostgresStatement::Step() {
  if (result_ == nullptr) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const std::string& value : values_) {
      values.push_back(value.data());
      lengths.push_back(static_cast<int>(value.size()));
    }
    absl::StatusOr<PgResult> result = db_->ExecParams(sql_, types_, values, lengths, formats_);
    if (!result.ok()) {
      return result.status();
    }
    result_ = std::move(*result);
    row_ = -1;
  }
  if (PQresultStatus(result_.get()) != PGRES_TUPLES_OK) {
    return false;
  }
  ++row_;
  return row_ < PQntuples(result_.get());
}

void PostgresStatement::Reset() {
  result_.reset();
  row_ = -1;
}

int64_t PostgresStatement::ColumnInt64(int column) const {
  if (PQgetisnull(result_.get(), row_, column)) {
    return 0;
  }
  const char* text = PQgetvalue(result_.get(), row_, column);
  // Booleans come as t/f in text results.
  if (text[0] == 't' && text[1] == '\0') {
    return 1;
  }
  return std::strtoll(text, nullptr, 10);
}

std::string PostgresStatement::ColumnText(int column) const {
  return std::string(PQgetvalue(result_.get(), row_, column),
                     PQgetlength(result_.get(), row_, column));
}

std::string PostgresStatement::ColumnBlob(int column) const {
  if (PQftype(result_.get(), column) != kByteaOid) {
    return ColumnText(column);
  }
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row_, column)), &length);
  if (bytes == nullptr) {
    return "";
  }
  std::string blob(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return blob;
}

}  // namespace certgate::controlplane
