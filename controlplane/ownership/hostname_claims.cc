#include "controlplane/ownership/hostname_claims.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/names.h"

namespace certgate::controlplane {
namespace {

// Parent: what follows the first label ("" for a single label).
absl::string_view Parent(absl::string_view hostname) {
  size_t dot = hostname.find('.');
  return dot == absl::string_view::npos ? absl::string_view() : hostname.substr(dot + 1);
}

// IsWithin: `name` is `domain` or below it.
bool IsWithin(absl::string_view name, absl::string_view domain) {
  return name == domain || (name.size() > domain.size() && absl::EndsWith(name, domain) &&
                            name[name.size() - domain.size() - 1] == '.');
}

}  // namespace

absl::StatusOr<HostnameVerification> ParseHostnameVerification(absl::string_view text) {
  if (text == "dns") {
    return HostnameVerification::kDns;
  }
  if (text == "admin") {
    return HostnameVerification::kAdmin;
  }
  if (text == "off") {
    return HostnameVerification::kOff;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--verify-hostnames \"", text, "\": expected dns, admin or off"));
}

std::string ChallengeDomain(absl::string_view hostname) {
  return std::string(IsWildcardHostname(hostname) ? hostname.substr(2) : hostname);
}

std::string ChallengeRecordName(absl::string_view hostname) {
  return absl::StrCat("_certgate-challenge.", ChallengeDomain(hostname));
}

bool IsProved(absl::string_view verified_by) {
  return verified_by == "dns" || verified_by == "admin";
}

ClaimConflict CheckClaim(absl::string_view candidate, absl::string_view other, bool other_proved) {
  if (candidate == other) {
    return ClaimConflict::kSameName;
  }
  absl::string_view candidate_parent = Parent(candidate);
  if (!IsWildcardHostname(candidate) && IsWildcardHostname(other) &&
      Parent(other) == candidate_parent) {
    return ClaimConflict::kCoveredByWildcard;
  }
  if (IsWildcardHostname(candidate) && !IsWildcardHostname(other) &&
      Parent(other) == candidate_parent) {
    return ClaimConflict::kCoversOtherZone;
  }
  if (other_proved && IsWithin(candidate, ChallengeDomain(other))) {
    return ClaimConflict::kWithinProvedZone;
  }
  return ClaimConflict::kNone;
}

std::vector<std::string> PossibleBlockers(absl::string_view candidate) {
  std::vector<std::string> names = {std::string(candidate)};
  if (!IsWildcardHostname(candidate)) {
    names.push_back(absl::StrCat("*.", Parent(candidate)));
  }
  // Every proved domain that holds the candidate: each suffix of its
  // challenge domain, as an exact zone or a wildcard.
  std::string domain = ChallengeDomain(candidate);
  for (absl::string_view suffix = domain; suffix.find('.') != absl::string_view::npos;
       suffix = Parent(suffix)) {
    names.emplace_back(suffix);
    names.push_back(absl::StrCat("*.", suffix));
  }
  return names;
}

absl::Status ClaimConflictError(absl::string_view candidate, ClaimConflict conflict) {
  switch (conflict) {
    case ClaimConflict::kNone:
      return absl::OkStatus();
    case ClaimConflict::kSameName:
      return absl::AlreadyExistsError(absl::StrCat("hostname ", candidate, " is already taken"));
    case ClaimConflict::kCoveredByWildcard:
      return absl::AlreadyExistsError(absl::StrCat("hostname ", candidate, " is already taken: *.",
                                                   Parent(candidate),
                                                   " belongs to another tenant"));
    case ClaimConflict::kCoversOtherZone:
      // Never name it: that would list another tenant's hostnames.
      return absl::AlreadyExistsError(absl::StrCat(
          "hostname ", candidate, " is already taken: a name it covers belongs to another tenant"));
    case ClaimConflict::kWithinProvedZone:
      return absl::AlreadyExistsError(
          absl::StrCat("hostname ", candidate,
                       " is already taken: another tenant has proved control of a domain that "
                       "holds it"));
  }
  return absl::OkStatus();
}

}  // namespace certgate::controlplane
