#include "controlplane/api/auth.h"

#include "absl/strings/match.h"
#include "common/status_macros.h"
#include "controlplane/api/token.h"

namespace certgate::controlplane {
namespace {

absl::StatusOr<absl::string_view> BearerToken(absl::string_view authorization) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing authorization: Bearer token");
  }
  // The scheme is case-insensitive (RFC 9110).
  if (authorization.size() < 7 || !absl::EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError("authorization is not a Bearer token");
  }
  return authorization.substr(7);
}

}  // namespace

Authenticator::Authenticator(SqliteStore* store, absl::string_view admin_token,
                             absl::string_view edge_token)
    : store_(store), admin_hash_(HashToken(admin_token)), edge_hash_(HashToken(edge_token)) {}

absl::StatusOr<Caller> Authenticator::AuthenticateTenant(absl::string_view authorization) const {
  ASSIGN_OR_RETURN(absl::string_view token, BearerToken(authorization));
  absl::StatusOr<std::string> token_id = TokenId(token);
  if (!token_id.ok()) {
    return absl::UnauthenticatedError("unknown token");
  }
  std::string hash = HashToken(token);
  Caller caller;
  bool matched = false;
  RETURN_IF_ERROR(store_->Read([&](StoreTransaction& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<TokenRow> row, txn.FindToken(*token_id));
    if (row.has_value() && ConstantTimeEquals(row->hash, hash)) {
      matched = true;
      caller.tenant_id = row->tenant_id;
      caller.token_id = row->id;
    }
    return absl::OkStatus();
  }));
  if (!matched) {
    return absl::UnauthenticatedError("unknown token");
  }
  return caller;
}

absl::Status Authenticator::AuthenticateAdmin(absl::string_view authorization) const {
  ASSIGN_OR_RETURN(absl::string_view token, BearerToken(authorization));
  if (!ConstantTimeEquals(HashToken(token), admin_hash_)) {
    return absl::UnauthenticatedError("unknown admin token");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::AuthenticateEdge(absl::string_view authorization) const {
  ASSIGN_OR_RETURN(absl::string_view token, BearerToken(authorization));
  if (!ConstantTimeEquals(HashToken(token), edge_hash_)) {
    return absl::UnauthenticatedError("unknown edge token");
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
