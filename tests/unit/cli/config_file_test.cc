#include "cli/client/config_file.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace certgate::cli {
namespace {

using ::certgate::testing::MakeTempDir;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

TEST(ConfigFileTest, DefaultPathPrefersXdgConfigHome) {
  auto path = ConfigFile::DefaultPath({{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}});
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/x/certgate/config.json");
}

TEST(ConfigFileTest, DefaultPathFallsBackToHome) {
  auto path = ConfigFile::DefaultPath({{"HOME", "/home/ann"}, {"XDG_CONFIG_HOME", ""}});
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/home/ann/.config/certgate/config.json");
}

TEST(ConfigFileTest, DefaultPathNeedsHomeOrXdg) {
  auto path = ConfigFile::DefaultPath({});
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ConfigFileTest, SaveThenLoadRoundTripsWithMode0600) {
  std::string dir = MakeTempDir("cli-config");
  std::string path = dir + "/nested/certgate/config.json";
  SavedLogin login;
  login.server = "127.0.0.1:7000";
  login.token = "cgt_abc_\"quoted\"\\secret";
  login.ca_file = "/etc/certgate/ca.pem";
  login.insecure = false;
  ASSERT_TRUE(ConfigFile::Save(path, login).ok());

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir + "/nested/certgate").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto loaded = ConfigFile::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->server, login.server);
  EXPECT_EQ(loaded->token, login.token);
  EXPECT_EQ(loaded->ca_file, login.ca_file);
  EXPECT_FALSE(loaded->insecure);

  // Saving again replaces the file and keeps the mode.
  login.insecure = true;
  login.ca_file = "";
  ASSERT_TRUE(ConfigFile::Save(path, login).ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  loaded = ConfigFile::Load(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->insecure);
  EXPECT_EQ(loaded->ca_file, "");
}

TEST(ConfigFileTest, MissingFileIsAnEmptyLogin) {
  auto loaded = ConfigFile::Load(MakeTempDir("cli-config") + "/absent.json");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->server, "");
  EXPECT_EQ(loaded->token, "");
}

TEST(ConfigFileTest, DamagedFileIsRefusedNamingIt) {
  std::string path = MakeTempDir("cli-config") + "/config.json";
  WriteFile(path, "{not json", 0600);
  auto loaded = ConfigFile::Load(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(path), std::string::npos) << loaded.status();
  EXPECT_NE(loaded.status().message().find("certgate login"), std::string::npos);
}

TEST(ConfigFileTest, ParseRefusesWrongTypesAndIgnoresUnknownKeys) {
  EXPECT_FALSE(ConfigFile::Parse("{\"server\": 7}").ok());
  EXPECT_FALSE(ConfigFile::Parse("{\"insecure\": \"yes\"}").ok());
  EXPECT_FALSE(ConfigFile::Parse("[]").ok());
  auto parsed = ConfigFile::Parse("{\"server\": \"a:1\", \"future\": {\"x\": 1}}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->server, "a:1");
}

TEST(ConfigFileTest, SerializeIsJson) {
  SavedLogin login;
  login.server = "h:1";
  std::string text = ConfigFile::Serialize(login);
  EXPECT_NE(text.find("\"server\": \"h:1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"insecure\": false"), std::string::npos) << text;
}

}  // namespace
}  // namespace certgate::cli
