#include "common/zone_defaults.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "common/names.h"
#include "gtest/gtest.h"

namespace certgate {
namespace {

TEST(ZoneDefaultsTest, UnsetModeIsEnforceAndSetModesStay) {
  EXPECT_EQ(ZoneDefaults::kMode, v1::MODE_ENFORCE);
  EXPECT_EQ(ZoneDefaults::EffectiveMode(v1::MODE_UNSPECIFIED), v1::MODE_ENFORCE);
  for (v1::Mode mode : {v1::MODE_ENFORCE, v1::MODE_REPORT, v1::MODE_OFF}) {
    EXPECT_EQ(ZoneDefaults::EffectiveMode(mode), mode) << v1::Mode_Name(mode);
  }
}

// The default names must be valid header names, distinct as origins see
// them, and reserved fleet-wide, so no client or tenant can forge them.
TEST(ZoneDefaultsTest, HeaderNamesAreDistinctReservedTokens) {
  absl::flat_hash_set<std::string> folded;
  for (absl::string_view name :
       {ZoneDefaults::kStatusHeader, ZoneDefaults::kSkiHeader, ZoneDefaults::kErrorHeader}) {
    EXPECT_TRUE(IsHttpToken(name)) << name;
    EXPECT_TRUE(IsReservedHeaderName(FoldHeaderName(name))) << name;
    EXPECT_TRUE(folded.insert(FoldHeaderName(name)).second) << name;
  }
}

TEST(ZoneDefaultsTest, ErrorResponseIsNonEmptyJson) {
  EXPECT_EQ(absl::string_view(ZoneDefaults::kErrorContentType), "application/json");
  absl::string_view body = ZoneDefaults::kErrorBody;
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body.front(), '{');
  EXPECT_EQ(body.back(), '}');
}

}  // namespace
}  // namespace certgate
