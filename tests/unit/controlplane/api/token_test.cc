#include "controlplane/api/token.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace certgate::controlplane {
namespace {

TEST(TokenTest, NewTokensCarryTheirIdAndDiffer) {
  NewTokenResult a = NewToken();
  NewTokenResult b = NewToken();
  EXPECT_NE(a.token, b.token);
  EXPECT_TRUE(absl::StartsWith(a.token, "cgt_" + a.id + "_"));
  EXPECT_EQ(a.token.size(), 4 + 16 + 1 + 64u);
  EXPECT_EQ(TokenId(a.token).value(), a.id);
}

TEST(TokenTest, MalformedTokensHaveNoId) {
  for (const char* token :
       {"", "cgt_", "cgt__secret", "cgt_id_", "abc_id_secret", "cgt_nounderscore"}) {
    EXPECT_FALSE(TokenId(token).ok()) << token;
  }
}

TEST(TokenTest, HashesCompareExactly) {
  std::string hash = HashToken("cgt_a_b");
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_TRUE(ConstantTimeEquals(hash, HashToken("cgt_a_b")));
  EXPECT_FALSE(ConstantTimeEquals(hash, HashToken("cgt_a_c")));
  EXPECT_FALSE(ConstantTimeEquals(hash, hash.substr(1)));
}

TEST(TokenTest, TokenFileIsCreatedPrivateAndReused) {
  std::string path = certgate::testing::MakeTempDir("cp-token") + "/token";
  auto created = LoadOrCreateTokenFile(path);
  ASSERT_TRUE(created.ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  auto reused = LoadOrCreateTokenFile(path);
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(*reused, *created);
  certgate::testing::WriteFile(path, "short\n", 0600);
  EXPECT_FALSE(LoadOrCreateTokenFile(path).ok());
}

}  // namespace
}  // namespace certgate::controlplane
