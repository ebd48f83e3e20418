#include "controlplane/store/statement.h"

namespace certgate::controlplane {

absl::Status Statement::Run() {
  absl::StatusOr<bool> row = Step();
  if (!row.ok()) {
    return row.status();
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
