#include "controlplane/validation/json_validator.h"

#include <string>

#include "common/zone_defaults.h"
#include "controlplane/validation/error_response.h"
#include "gtest/gtest.h"

namespace certgate::controlplane {
namespace {

TEST(JsonValidatorTest, AcceptsValidJson) {
  for (const char* text : {"{}", "[]", "0", "-1.5e+10", "\"x\"", "true", "null",
                           R"({"error":"client certificate required"})",
                           " { \"a\" : [1, 2, {\"b\": null}], \"c\": \"\\u00e9\\n\" } ",
                           "\"caf\xc3\xa9\"", "[\"\xf0\x9f\x94\x92\"]"}) {
    EXPECT_TRUE(ValidateJson(text).ok()) << text << ": " << ValidateJson(text);
  }
}

TEST(JsonValidatorTest, RefusesInvalidJson) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "unexpected end of JSON at byte 0"},
           {"{'a': 1}", "expected a string key at byte 1"},
           {"{\"a\": 1,}", "expected a string key at byte 8"},
           {"[1, 2", "expected ',' or ']' at byte 5"},
           {"{} {}", "unexpected data after the JSON value at byte 3"},
           {"01", "unexpected data after the JSON value at byte 1"},
           {"1.", "invalid number at byte 2"},
           {"tru", "invalid literal at byte 0"},
           {"\"a\nb\"", "control character in string at byte 2"},
           {"\"\\x\"", "invalid escape at byte 2"},
           {"\"\\u12g4\"", "invalid \\u escape at byte 2"},
           {"\"\xc3(\"", "invalid UTF-8 at byte 1"},
           {"\"\xed\xa0\x80\"", "invalid UTF-8 at byte 1"},
           {std::string(300, '[') + std::string(300, ']'), "nesting too deep"},
           {"NaN", "unexpected character at byte 0"},
       }) {
    absl::Status status = ValidateJson(c.text);
    EXPECT_FALSE(status.ok()) << c.text;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos)
        << c.text << " -> " << status.message();
  }
}

// What a zone gets when created passes the check every tenant body passes.
TEST(ErrorResponseTest, ZoneDefaultPasses) {
  certgate::v1::ErrorResponse response;
  response.set_content_type(ZoneDefaults::kErrorContentType);
  response.set_body(ZoneDefaults::kErrorBody);
  EXPECT_TRUE(ValidateErrorResponse(response).ok()) << ValidateErrorResponse(response);
}

TEST(ErrorResponseTest, JsonIsCheckedOnlyForJsonContentTypes) {
  certgate::v1::ErrorResponse response;
  response.set_content_type("text/html; charset=utf-8");
  response.set_body("<h1>{not json</h1>");
  EXPECT_TRUE(ValidateErrorResponse(response).ok());
  response.set_content_type("application/problem+json");
  EXPECT_FALSE(ValidateErrorResponse(response).ok());
  response.set_body(R"({"title":"forbidden"})");
  EXPECT_TRUE(ValidateErrorResponse(response).ok());
  response.set_content_type("Application/JSON");
  response.set_body("{");
  EXPECT_FALSE(ValidateErrorResponse(response).ok());
}

}  // namespace
}  // namespace certgate::controlplane
