#include "cli/client/format.h"

#include "certgate/v1/tenant.pb.h"
#include "gtest/gtest.h"

namespace certgate::cli {
namespace {

TEST(FormatTest, FormatUtc) {
  EXPECT_EQ(FormatUtc(0), "-");
  EXPECT_EQ(FormatUtc(1795780800), "2026-11-27 12:00:00 UTC");
  EXPECT_EQ(FormatUtc(1), "1970-01-01 00:00:01 UTC");
}

TEST(FormatTest, ModeNamesRoundTrip) {
  for (auto mode :
       {certgate::v1::MODE_ENFORCE, certgate::v1::MODE_REPORT, certgate::v1::MODE_OFF}) {
    absl::StatusOr<certgate::v1::Mode> parsed = ParseMode(ModeName(mode));
    ASSERT_TRUE(parsed.ok()) << ModeName(mode);
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_EQ(*ParseMode("REPORT"), certgate::v1::MODE_REPORT);
}

TEST(FormatTest, ParseModeRefusesUnknownNamingIt) {
  absl::StatusOr<certgate::v1::Mode> parsed = ParseMode("strict");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), "unknown mode \"strict\" (want enforce, report or off)");
  EXPECT_FALSE(ParseMode("").ok());
  EXPECT_FALSE(ParseMode("unspecified").ok());
}

TEST(FormatTest, OneLine) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"plain", "plain"},
      {"two\nlines", "two lines"},
      {"crlf\r\nthen", "crlf then"},
      {"  padded \n", "padded"},
      {"many\n\n\nbreaks", "many breaks"},
      {"space \n after", "space after"},
      {"indented\n    continuation", "indented continuation"},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(OneLine(c.in), c.want) << c.in;
  }
}

TEST(FormatTest, FormatFieldsAlignsValues) {
  EXPECT_EQ(FormatFields({{"Subject", "CN=a"}, {"SKI", "ab"}}),
            "Subject:  CN=a\n"
            "SKI:      ab\n");
  EXPECT_EQ(FormatFields({}), "");
}

TEST(FormatTest, ToJsonIsCanonicalAndPrintsZeroValues) {
  certgate::v1::ChangeResponse response;
  std::string json = ToJson(response);
  EXPECT_NE(json.find("\"configVersion\": \"0\""), std::string::npos) << json;
  EXPECT_EQ(json.back(), '\n');

  certgate::v1::ZoneResponse zone;
  zone.mutable_zone()->set_hostname("auth.pizza");
  zone.mutable_zone()->set_mode(certgate::v1::MODE_REPORT);
  json = ToJson(zone);
  EXPECT_NE(json.find("\"hostname\": \"auth.pizza\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"MODE_REPORT\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"sendCaNames\": false"), std::string::npos) << json;
}

}  // namespace
}  // namespace certgate::cli
