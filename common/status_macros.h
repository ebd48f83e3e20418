#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Abseil 20220623 has no public RETURN_IF_ERROR / ASSIGN_OR_RETURN.
#define CERTGATE_CONCAT_INNER(a, b) a##b
#define CERTGATE_CONCAT(a, b) CERTGATE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::absl::Status certgate_status_ = (expr); \
    if (!certgate_status_.ok()) {             \
      return certgate_status_;                \
    }                                         \
  } while (0)

#define CERTGATE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) {                                     \
    return tmp.status();                               \
  }                                                    \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  CERTGATE_ASSIGN_OR_RETURN_IMPL(CERTGATE_CONCAT(certgate_statusor_, __LINE__), lhs, expr)
