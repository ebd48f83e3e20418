#include <map>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dataplane/metrics/access_log.h"
#include "dataplane/metrics/edge_metrics.h"
#include "dataplane/metrics/labeled_counter.h"
#include "gtest/gtest.h"

namespace certgate::edge {
namespace {

TEST(LabeledCounterTest, CountsPerKeyWhileAnotherThreadReads) {
  LabeledCounter counter;
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      counter.ForEach([](const std::string&, uint64_t) {});
    }
  });
  for (int i = 0; i < 1000; ++i) {
    counter.Increment(LabelKey("auth.pizza", i % 2 ? "200" : "403"));
  }
  reader.join();
  std::map<std::string, uint64_t> seen;
  counter.ForEach([&](const std::string& k, uint64_t v) { seen[k] = v; });
  EXPECT_EQ(seen[LabelKey("auth.pizza", "200")], 500u);
  EXPECT_EQ(seen[LabelKey("auth.pizza", "403")], 500u);
  auto [zone, code] = SplitLabelKey(LabelKey("auth.pizza", "403"));
  EXPECT_EQ(zone, "auth.pizza");
  EXPECT_EQ(code, "403");
}

TEST(EdgeMetricsTest, SumsWorkersIntoPrometheusText) {
  EdgeMetrics metrics(2);
  metrics.worker(0)->RequestDone("auth.pizza", 1, 200, "valid");
  metrics.worker(1)->RequestDone("auth.pizza", 1, 200, "valid");
  metrics.worker(1)->RequestDone("auth.pizza", 1, 403, "none");
  metrics.worker(0)->CertificateSeen("auth.pizza", "invalid", "expired");
  metrics.worker(0)->OriginLatency(0.003);
  metrics.worker(1)->OriginError();
  metrics.worker(1)->ConnectionOpened();
  GlobalStats global;
  global.handshakes_ok = 9;
  global.cache_hits = 4;
  global.chain_verifications = 2;
  global.config_version = 42;
  std::string text = metrics.RenderPrometheus(global);
  for (const char* line : {
           "certgate_requests_total{zone=\"auth.pizza\",code=\"200\"} 2\n",
           "certgate_requests_total{zone=\"auth.pizza\",code=\"403\"} 1\n",
           "certgate_cert_status_total{zone=\"auth.pizza\",status=\"invalid\"} 1\n",
           "certgate_cert_invalid_total{zone=\"auth.pizza\",reason=\"expired\"} 1\n",
           "certgate_handshakes_total{result=\"ok\"} 9\n",
           "certgate_verify_cache_hits_total 4\n",
           "certgate_chain_verifications_total 2\n",
           "certgate_config_version 42\n",
           "certgate_origin_errors_total 1\n",
           "certgate_origin_latency_seconds_bucket{le=\"0.0025\"} 0\n",
           "certgate_origin_latency_seconds_bucket{le=\"0.005\"} 1\n",
           "certgate_origin_latency_seconds_bucket{le=\"+Inf\"} 1\n",
           "certgate_origin_latency_seconds_count 1\n",
           "certgate_connections_open 1\n",
           "# TYPE certgate_origin_latency_seconds histogram\n",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\nin:\n" << text;
  }
}

TEST(EdgeMetricsTest, TrafficReportCountsOnlySinceTheLastOne) {
  EdgeMetrics metrics(2);
  metrics.worker(0)->RequestDone("auth.pizza", 5, 200, "valid");
  metrics.worker(1)->RequestDone("auth.pizza", 5, 403, "none");
  metrics.worker(1)->RequestDone("auth.pizza", 5, 403, "invalid");
  v1::TrafficReport first = metrics.TakeTrafficReport();
  ASSERT_EQ(first.zones_size(), 1);
  EXPECT_EQ(first.zones(0).zone_id(), 5u);
  EXPECT_EQ(first.zones(0).valid(), 1u);
  EXPECT_EQ(first.zones(0).none(), 1u);
  EXPECT_EQ(first.zones(0).invalid(), 1u);
  EXPECT_EQ(metrics.TakeTrafficReport().zones_size(), 0);
  metrics.worker(0)->RequestDone("auth.pizza", 5, 200, "valid");
  v1::TrafficReport third = metrics.TakeTrafficReport();
  ASSERT_EQ(third.zones_size(), 1);
  EXPECT_EQ(third.zones(0).valid(), 1u);
  EXPECT_EQ(third.zones(0).none(), 0u);
}

TEST(EdgeMetricsTest, TrafficReportCountsPerRuleOnlySinceTheLastOne) {
  EdgeMetrics metrics(2);
  metrics.worker(0)->RuleMatched(5, "a1b2", /*refused=*/true);
  metrics.worker(1)->RuleMatched(5, "a1b2", /*refused=*/false);
  metrics.worker(1)->RuleMatched(6, "c3d4", /*refused=*/false);
  v1::TrafficReport first = metrics.TakeTrafficReport();
  ASSERT_EQ(first.zones_size(), 2);
  EXPECT_EQ(first.zones(0).zone_id(), 5u);
  ASSERT_EQ(first.zones(0).rules_size(), 1);
  EXPECT_EQ(first.zones(0).rules(0).rule_id(), "a1b2");
  EXPECT_EQ(first.zones(0).rules(0).requests(), 2u);
  EXPECT_EQ(first.zones(0).rules(0).refused(), 1u);
  EXPECT_EQ(first.zones(1).zone_id(), 6u);
  EXPECT_EQ(first.zones(1).rules(0).refused(), 0u);
  EXPECT_EQ(metrics.TakeTrafficReport().zones_size(), 0);
  metrics.worker(0)->RuleMatched(5, "a1b2", /*refused=*/false);
  v1::TrafficReport third = metrics.TakeTrafficReport();
  ASSERT_EQ(third.zones_size(), 1);
  EXPECT_EQ(third.zones(0).rules(0).requests(), 1u);
  EXPECT_EQ(third.zones(0).rules(0).refused(), 0u);
}

// RuleMatched keeps each rule's counters after their first use; the counts
// stay per zone and rule, and "refused" appears once a rule refuses.
TEST(EdgeMetricsTest, RuleCountsStaySeparateAcrossRepeatedRules) {
  EdgeMetrics metrics(1);
  WorkerMetrics* w = metrics.worker(0);
  for (int i = 0; i < 5; ++i) {
    w->RuleMatched(5, "a1b2", /*refused=*/false);
    w->RuleMatched(5, "c3d4", /*refused=*/i % 2 == 0);
    w->RuleMatched(6, "a1b2", /*refused=*/true);
  }
  std::map<std::string, uint64_t> counts;
  w->rule_traffic.ForEach([&](const std::string& key, uint64_t v) {
    auto [rule, kind] = SplitLabelKey(key);
    counts[absl::StrCat(rule, " ", kind)] = v;
  });
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"5/a1b2 requests", 5},
                                                     {"5/c3d4 requests", 5},
                                                     {"5/c3d4 refused", 3},
                                                     {"6/a1b2 requests", 5},
                                                     {"6/a1b2 refused", 5}}));
}

TEST(AccessLogTest, OneJsonLinePerRequest) {
  AccessLogEntry e;
  e.time = absl::FromUnixMillis(1700000000123);
  e.zone = "auth.pizza";
  e.host = "auth.pizza";
  e.method = "GET";
  e.path = "/a\"b\n";
  e.status = 403;
  e.cert_status = "invalid";
  e.reason = "expired";
  e.ski = "ab";
  e.bytes_in = 10;
  e.bytes_out = 20;
  e.duration_ms = 1.5;
  e.client = "127.0.0.1";
  EXPECT_EQ(FormatAccessLogLine(e),
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"zone\":\"auth.pizza\",\"host\":\"auth."
            "pizza\",\"method\":\"GET\",\"path\":\"/a\\\"b\\n\",\"status\":403,\"cert_status\":"
            "\"invalid\",\"reason\":\"expired\",\"ski\":\"ab\",\"bytes_in\":10,\"bytes_out\":20,"
            "\"duration_ms\":1.500,\"client\":\"127.0.0.1\"}\n");
}

TEST(AccessLogTest, ConnectionLogAndQuoting) {
  std::string line = FormatConnectionLogLine(absl::FromUnixSeconds(0), "10.0.0.1", "nope.pizza",
                                             "unknown SNI \"nope.pizza\"");
  EXPECT_EQ(line,
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"event\":\"handshake_failed\",\"client\":"
            "\"10.0.0.1\",\"sni\":\"nope.pizza\",\"reason\":\"unknown SNI \\\"nope.pizza\\\"\"}\n");
  EXPECT_EQ(JsonQuote(std::string("a\x01\xff", 3)), "\"a\\u0001\\u00ff\"");
}

TEST(AccessLogTest, OriginRefusedLine) {
  std::string line =
      FormatOriginFailureLogLine(absl::FromUnixSeconds(0), "origin_refused", "10.0.0.1", "a.pizza",
                                 "origin address 169.254.169.254 is link-local");
  EXPECT_EQ(line,
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"event\":\"origin_refused\",\"client\":"
            "\"10.0.0.1\",\"zone\":\"a.pizza\",\"reason\":\"origin address 169.254.169.254 is "
            "link-local\"}\n");
}

}  // namespace
}  // namespace certgate::edge
