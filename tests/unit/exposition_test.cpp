// The text MetricSink renders: what Prometheus parses, byte for byte.
#include <limits>
#include <sstream>

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include "collectors/metrics.h"

using rse::collectors::Desc;
using rse::collectors::Labels;
using rse::collectors::MetricSink;

TEST_CASE("exposition: text format with escaping, counters, special values") {
  MetricSink sink;
  const Desc up{"redis_up", "Help with a \\ backslash\nand a \"quote\"."};
  const Desc total{"redis_commands_processed_total", "Commands.", prometheus::MetricType::Counter};
  sink.Add(up, {{"addr", "127.0.0.1:6379"}, {"odd", "a\"b\\c\nd"}}, 1);
  sink.Add(up, {}, 0.25);
  sink.Add(total, {{"addr", "x"}}, 12345678901.0);
  sink.Add(up, {{"k", "v"}}, std::numeric_limits<double>::quiet_NaN());
  sink.Add(up, {{"k", "w"}}, -std::numeric_limits<double>::infinity());
  sink.Add(up, {{"k", "y"}}, std::numeric_limits<double>::infinity());
  CHECK(sink.Take() ==
        "# HELP redis_up Help with a \\\\ backslash\\nand a \"quote\".\n"
        "# TYPE redis_up gauge\n"
        "redis_up{addr=\"127.0.0.1:6379\",odd=\"a\\\"b\\\\c\\nd\"} 1\n"
        "redis_up 0.25\n"
        "redis_up{k=\"v\"} NaN\n"
        "redis_up{k=\"w\"} -Inf\n"
        "redis_up{k=\"y\"} +Inf\n"
        "# HELP redis_commands_processed_total Commands.\n"
        "# TYPE redis_commands_processed_total counter\n"
        "redis_commands_processed_total{addr=\"x\"} 12345678901\n");
}

TEST_CASE("exposition: label values from peers are made valid UTF-8") {
  // A master name is whatever the Sentinel's configuration says; one invalid byte would make
  // Prometheus reject the whole scrape. Each invalid byte becomes U+FFFD; valid text stays.
  const Labels l{{"master_name", "caf\xC3\xA9-\xFF-\xE2\x82-\xED\xA0\x80-\xF0\x9F\x98\x80"}};
  CHECK(l.text() ==
        "master_name=\"caf\xC3\xA9-\xEF\xBF\xBD-\xEF\xBF\xBD\xEF\xBF\xBD-"
        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD-\xF0\x9F\x98\x80\"");
}

TEST_CASE("exposition: labels rendered once are shared, With adds one pair") {
  const Labels node{{"master_name", "m"}, {"addr", "10.0.0.1:6379"}};
  const Labels role = rse::collectors::With(node, "role", "master");
  CHECK(node.text() == "master_name=\"m\",addr=\"10.0.0.1:6379\"");  // unchanged
  CHECK(role.text() == "master_name=\"m\",addr=\"10.0.0.1:6379\",role=\"master\"");
  CHECK(Labels{}.empty());
}

TEST_CASE("exposition: the same values as prometheus-cpp's serializer, value for value") {
  MetricSink sink;
  const Desc g{"g", "h"};
  prometheus::MetricFamily family{"g", "h", prometheus::MetricType::Gauge, {}};
  for (double v : {0.0, 1.0, -1.0, 0.1, 1e-7, 123456.789, 1e300, 1e-300}) {
    sink.Add(g, {{"v", std::to_string(v)}}, v);
    prometheus::ClientMetric m;
    m.label = {{"v", std::to_string(v)}};
    m.gauge.value = v;
    family.metric.push_back(m);
  }
  std::ostringstream theirs;
  prometheus::TextSerializer().Serialize(theirs, {family});
  auto values = [](const std::string& text) {
    std::vector<double> out;
    std::stringstream ss(text);
    std::string line;
    while (std::getline(ss, line)) {
      if (!line.empty() && line[0] != '#') out.push_back(std::stod(line.substr(line.rfind(' ') + 1)));
    }
    return out;
  };
  const auto ours = values(sink.Take());
  CHECK(ours.size() == 8);
  CHECK(ours == values(theirs.str()));
}
