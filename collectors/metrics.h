#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/metric_family.h>

namespace rse::collectors {

using Labels = std::vector<prometheus::ClientMetric::Label>;

// A metric's name, help and type, declared once per collector (node_exporter's typedDesc).
struct Desc {
  const char* name;
  const char* help;
  prometheus::MetricType type = prometheus::MetricType::Gauge;
};

// Collects samples into metric families, one family per name whichever collector adds to it,
// in the order families were first used. Built fresh for every scrape.
class MetricSink {
 public:
  void Add(const Desc& desc, Labels labels, double value);
  // Adds the sample only when the value is known: a missing field stays missing, never 0.
  void AddIf(const Desc& desc, Labels labels, std::optional<double> value) {
    if (value) Add(desc, std::move(labels), *value);
  }
  std::vector<prometheus::MetricFamily> Take();

 private:
  std::vector<prometheus::MetricFamily> families_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace rse::collectors
