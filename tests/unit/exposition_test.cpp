#include <limits>
#include <sstream>

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include "collectors/metrics.h"
#include "exporter/exposition.h"

using rse::collectors::Desc;
using rse::collectors::MetricSink;

TEST_CASE("exposition: text format with escaping, counters, special values; empty families left out") {
  MetricSink sink;
  const Desc up{"redis_up", "Help with a \\ backslash\nand a newline."};
  const Desc total{"redis_commands_processed_total", "Commands.", prometheus::MetricType::Counter};
  sink.Add(up, {{"addr", "127.0.0.1:6379"}, {"odd", "a\"b\\c\nd"}}, 1);
  sink.Add(up, {}, 0.25);
  sink.Add(total, {{"addr", "x"}}, 12345678901.0);
  sink.Add(up, {{"k", "v"}}, std::numeric_limits<double>::quiet_NaN());
  sink.Add(up, {{"k", "w"}}, -std::numeric_limits<double>::infinity());
  auto families = sink.Take();
  families.push_back({"empty_family", "nothing", prometheus::MetricType::Gauge, {}});
  std::string out;
  rse::AppendText(out, families);
  CHECK(out ==
        "# HELP redis_up Help with a \\\\ backslash\\nand a newline.\n"
        "# TYPE redis_up gauge\n"
        "redis_up{addr=\"127.0.0.1:6379\",odd=\"a\\\"b\\\\c\\nd\"} 1\n"
        "redis_up 0.25\n"
        "redis_up{k=\"v\"} NaN\n"
        "redis_up{k=\"w\"} -Inf\n"
        "# HELP redis_commands_processed_total Commands.\n"
        "# TYPE redis_commands_processed_total counter\n"
        "redis_commands_processed_total{addr=\"x\"} 12345678901\n");
}

TEST_CASE("exposition: the same samples as prometheus-cpp's serializer, value for value") {
  MetricSink sink;
  const Desc g{"g", "h"};
  for (double v : {0.0, 1.0, -1.0, 0.1, 1e-7, 123456.789, 1e300}) sink.Add(g, {{"v", std::to_string(v)}}, v);
  auto families = sink.Take();
  std::string ours;
  rse::AppendText(ours, families);
  std::ostringstream theirs;
  prometheus::TextSerializer().Serialize(theirs, families);
  auto values = [](const std::string& text) {
    std::vector<double> out;
    std::stringstream ss(text);
    std::string line;
    while (std::getline(ss, line)) {
      if (!line.empty() && line[0] != '#') out.push_back(std::stod(line.substr(line.rfind(' ') + 1)));
    }
    return out;
  };
  CHECK(values(ours) == values(theirs.str()));
}
