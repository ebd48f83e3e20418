#include "cli/client/connection_settings.h"

#include "gtest/gtest.h"

namespace certgate::cli {
namespace {

SavedLogin Saved() {
  SavedLogin saved;
  saved.server = "saved:1";
  saved.token = "saved-token";
  saved.ca_file = "/saved/ca.pem";
  return saved;
}

TEST(ConnectionSettingsTest, FlagsBeatEnvironmentBeatsLoginFile) {
  ConnectionFlags flags;
  flags.server = "flag:1";
  std::map<std::string, std::string> env = {{"CERTGATE_SERVER", "env:1"},
                                            {"CERTGATE_TOKEN", "env-token"}};
  auto settings = ResolveConnectionSettings(flags, env, Saved());
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->server, "flag:1");
  EXPECT_EQ(settings->token, "env-token");
  EXPECT_EQ(settings->ca_file, "/saved/ca.pem");
  EXPECT_FALSE(settings->insecure);
}

TEST(ConnectionSettingsTest, LoginFileAlone) {
  SavedLogin saved = Saved();
  saved.ca_file = "";
  saved.insecure = true;
  auto settings = ResolveConnectionSettings({}, {}, saved);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->server, "saved:1");
  EXPECT_EQ(settings->token, "saved-token");
  EXPECT_TRUE(settings->insecure);
}

TEST(ConnectionSettingsTest, ExplicitCaOverridesAnInsecureLogin) {
  SavedLogin saved = Saved();
  saved.insecure = true;
  auto settings = ResolveConnectionSettings({}, {{"CERTGATE_CA", "/env/ca.pem"}}, saved);
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->ca_file, "/env/ca.pem");
  EXPECT_FALSE(settings->insecure);
}

TEST(ConnectionSettingsTest, InsecureFlagDropsTheSavedCa) {
  ConnectionFlags flags;
  flags.insecure = true;
  auto settings = ResolveConnectionSettings(flags, {}, Saved());
  ASSERT_TRUE(settings.ok());
  EXPECT_TRUE(settings->insecure);
  EXPECT_EQ(settings->ca_file, "");
}

TEST(ConnectionSettingsTest, CaAndInsecureTogetherAreRefused) {
  ConnectionFlags flags;
  flags.insecure = true;
  flags.ca_file = "/ca.pem";
  auto settings = ResolveConnectionSettings(flags, {}, Saved());
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConnectionSettingsTest, MissingServerOrTokenSaysWhereToGiveIt) {
  auto no_server = ResolveConnectionSettings({}, {{"CERTGATE_TOKEN", "t"}}, {});
  ASSERT_FALSE(no_server.ok());
  EXPECT_EQ(no_server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(no_server.status().message().find("CERTGATE_SERVER"), std::string::npos);

  auto no_token = ResolveConnectionSettings({}, {{"CERTGATE_SERVER", "s:1"}}, {});
  ASSERT_FALSE(no_token.ok());
  EXPECT_NE(no_token.status().message().find("CERTGATE_TOKEN"), std::string::npos);
}

TEST(ConnectionSettingsTest, EmptyEnvironmentValuesAreIgnored) {
  auto settings =
      ResolveConnectionSettings({}, {{"CERTGATE_SERVER", ""}, {"CERTGATE_TOKEN", ""}}, Saved());
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->server, "saved:1");
  EXPECT_EQ(settings->token, "saved-token");
}

}  // namespace
}  // namespace certgate::cli
