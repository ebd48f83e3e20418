#include "controlplane/store/statement.h"

#include "absl/strings/str_cat.h"

namespace certgate::controlplane {

void Statement::BindText(int index, absl::string_view value) {
  if (nul_parameter_ == 0 && value.find('\0') != absl::string_view::npos) {
    nul_parameter_ = index;
  }
  impl_->BindText(index, value);
}

absl::StatusOr<bool> Statement::Step() {
  if (nul_parameter_ != 0) {
    return absl::InvalidArgumentError(absl::StrCat("text parameter ", nul_parameter_,
                                                   " holds a NUL byte, which cannot be stored"));
  }
  return impl_->Step();
}

absl::Status Statement::Run() {
  absl::StatusOr<bool> row = Step();
  if (!row.ok()) {
    return row.status();
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
