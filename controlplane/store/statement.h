#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/store/statement_impl.h"

namespace certgate::controlplane {

// Statement owns one prepared statement of either engine. SQL uses ?N
// parameters, numbered from 1; columns are numbered from 0.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}
  Statement(Statement&& other) noexcept = default;
  Statement& operator=(Statement&& other) noexcept = default;

  // Bind* copy the value.
  void BindInt64(int index, int64_t value) { impl_->BindInt64(index, value); }
  // A text with a NUL byte makes Step fail: PostgreSQL's TEXT cannot hold
  // one (libpq would cut it short there), so no engine stores it.
  void BindText(int index, absl::string_view value);
  void BindBlob(int index, absl::string_view value) { impl_->BindBlob(index, value); }

  // Step: true when a row is available, false when done. A constraint
  // violation is FAILED_PRECONDITION; a text bound with a NUL byte is
  // INVALID_ARGUMENT.
  absl::StatusOr<bool> Step();
  // Run steps a statement that returns no rows.
  absl::Status Run();
  // Reset makes the statement runnable again (bindings are kept).
  void Reset() { impl_->Reset(); }

  int64_t ColumnInt64(int column) const { return impl_->ColumnInt64(column); }
  std::string ColumnText(int column) const { return impl_->ColumnText(column); }
  std::string ColumnBlob(int column) const { return impl_->ColumnBlob(column); }

 private:
  std::unique_ptr<StatementImpl> impl_;
  // Set by BindText: the text bound at this parameter held a NUL byte (the
  // statement is refused from then on).
  int nul_parameter_ = 0;
};

}  // namespace certgate::controlplane
