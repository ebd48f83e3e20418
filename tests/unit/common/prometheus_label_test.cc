#include "common/prometheus_label.h"

#include "gtest/gtest.h"

namespace certgate {
namespace {

TEST(PrometheusLabelTest, EscapesWhatCouldEndALabelOrALine) {
  EXPECT_EQ(PrometheusLabelValue("a.example.test"), "a.example.test");
  EXPECT_EQ(PrometheusLabelValue("CN=\"x\"\\y\nz"), "CN=\\\"x\\\"\\\\y\\nz");
  EXPECT_EQ(PrometheusLabelValue(""), "");
}

}  // namespace
}  // namespace certgate
