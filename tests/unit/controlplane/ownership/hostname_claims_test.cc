// The hostname ownership rules, as a table: which active zone of another
// tenant blocks which claim.
#include "controlplane/ownership/hostname_claims.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace certgate::controlplane {
namespace {

TEST(HostnameClaimsTest, ChallengeRecordOfAWildcardIsItsParent) {
  EXPECT_EQ(ChallengeRecordName("x.test"), "_certgate-challenge.x.test");
  EXPECT_EQ(ChallengeRecordName("www.acme.com"), "_certgate-challenge.www.acme.com");
  EXPECT_EQ(ChallengeRecordName("*.example.com"), "_certgate-challenge.example.com");
  EXPECT_EQ(ChallengeDomain("*.a.example.com"), "a.example.com");
}

TEST(HostnameClaimsTest, ParsesTheThreeModes) {
  EXPECT_EQ(*ParseHostnameVerification("dns"), HostnameVerification::kDns);
  EXPECT_EQ(*ParseHostnameVerification("admin"), HostnameVerification::kAdmin);
  EXPECT_EQ(*ParseHostnameVerification("off"), HostnameVerification::kOff);
  EXPECT_FALSE(ParseHostnameVerification("DNS").ok());
  EXPECT_FALSE(ParseHostnameVerification("").ok());
}

struct ClaimCase {
  const char* candidate;
  const char* other;
  bool other_proved;
  ClaimConflict expected;
};

TEST(HostnameClaimsTest, WhichActiveZoneBlocksWhichClaim) {
  const ClaimCase cases[] = {
      // The example: siblings under one parent never block each
      // other; the unproved one simply stays pending.
      {"www.acme.com", "api.acme.com", true, ClaimConflict::kNone},
      {"api.acme.com", "www.acme.com", true, ClaimConflict::kNone},
      // A parent is not "under" its child.
      {"acme.com", "api.acme.com", true, ClaimConflict::kNone},
      // Same name, in any state of proof.
      {"api.acme.com", "api.acme.com", false, ClaimConflict::kSameName},
      {"*.acme.com", "*.acme.com", true, ClaimConflict::kSameName},
      // Under a proved exact zone: its subtree.
      {"*.api.acme.com", "api.acme.com", true, ClaimConflict::kWithinProvedZone},
      {"x.api.acme.com", "api.acme.com", true, ClaimConflict::kWithinProvedZone},
      {"a.b.api.acme.com", "api.acme.com", true, ClaimConflict::kWithinProvedZone},
      // Not proved (verification off, or served before it existed): only the
      // name itself and the wildcard rules.
      {"x.api.acme.com", "api.acme.com", false, ClaimConflict::kNone},
      {"*.api.acme.com", "api.acme.com", false, ClaimConflict::kNone},
      // A proved wildcard proved its parent domain: everything in it.
      {"acme.com", "*.acme.com", true, ClaimConflict::kWithinProvedZone},
      {"a.b.acme.com", "*.acme.com", true, ClaimConflict::kWithinProvedZone},
      {"*.b.acme.com", "*.acme.com", true, ClaimConflict::kWithinProvedZone},
      {"www.acme.com", "*.acme.com", true, ClaimConflict::kCoveredByWildcard},
      {"www.acme.com", "*.acme.com", false, ClaimConflict::kCoveredByWildcard},
      {"acme.com", "*.acme.com", false, ClaimConflict::kNone},
      // A proved apex: everything below it.
      {"*.acme.com", "acme.com", true, ClaimConflict::kWithinProvedZone},
      {"www.acme.com", "acme.com", true, ClaimConflict::kWithinProvedZone},
      {"www.acme.com", "acme.com", false, ClaimConflict::kNone},
      // A wildcard over another tenant's exact name.
      {"*.acme.com", "api.acme.com", false, ClaimConflict::kCoversOtherZone},
      {"*.acme.com", "api.acme.com", true, ClaimConflict::kCoversOtherZone},
      {"*.acme.com", "a.api.acme.com", false, ClaimConflict::kNone},
      // Label boundaries: suffix strings are not domains.
      {"evilacme.com", "acme.com", true, ClaimConflict::kNone},
      {"www.notacme.com", "*.acme.com", true, ClaimConflict::kNone},
      {"acme.com.evil.test", "acme.com", true, ClaimConflict::kNone},
  };
  for (const ClaimCase& c : cases) {
    EXPECT_EQ(CheckClaim(c.candidate, c.other, c.other_proved), c.expected)
        << c.candidate << " vs " << c.other << (c.other_proved ? " (proved)" : "");
  }
}

TEST(HostnameClaimsTest, PossibleBlockersHoldEveryExactBlocker) {
  // Every name for which CheckClaim finds a conflict other than
  // kCoversOtherZone must be among the exact lookups.
  const char* candidates[] = {"www.acme.com", "*.acme.com", "a.b.acme.com", "acme.com"};
  const char* others[] = {"www.acme.com", "*.acme.com",    "acme.com",       "b.acme.com",
                          "*.b.acme.com", "a.b.acme.com",  "*.www.acme.com", "api.acme.com",
                          "x.test",       "*.a.b.acme.com"};
  for (const char* candidate : candidates) {
    std::vector<std::string> blockers = PossibleBlockers(candidate);
    for (const char* other : others) {
      ClaimConflict conflict = CheckClaim(candidate, other, true);
      if (conflict == ClaimConflict::kNone || conflict == ClaimConflict::kCoversOtherZone) {
        continue;
      }
      EXPECT_NE(std::find(blockers.begin(), blockers.end(), other), blockers.end())
          << candidate << " is blocked by " << other << " but it is not looked up";
    }
  }
}

TEST(HostnameClaimsTest, RefusalsNameNothingButTheClaim) {
  for (ClaimConflict conflict : {ClaimConflict::kSameName, ClaimConflict::kCoversOtherZone,
                                 ClaimConflict::kWithinProvedZone}) {
    absl::Status status = ClaimConflictError("www.acme.com", conflict);
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
    std::string message(status.message());
    EXPECT_EQ(message.find('\n'), std::string::npos);
    // Only the claimed name appears, no other hostname.
    std::string without = message;
    without.erase(without.find("www.acme.com"), 12);
    EXPECT_EQ(without.find("acme"), std::string::npos) << message;
  }
  EXPECT_TRUE(ClaimConflictError("www.acme.com", ClaimConflict::kNone).ok());
}

}  // namespace
}  // namespace certgate::controlplane
