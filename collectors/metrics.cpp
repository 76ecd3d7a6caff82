#include "collectors/metrics.h"

namespace rse::collectors {

void MetricSink::Add(const Desc& desc, Labels labels, double value) {
  auto [it, inserted] = index_.try_emplace(desc.name, families_.size());
  if (inserted) {
    prometheus::MetricFamily family;
    family.name = desc.name;
    family.help = desc.help;
    family.type = desc.type;
    families_.push_back(std::move(family));
  }
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (desc.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  families_[it->second].metric.push_back(std::move(metric));
}

std::vector<prometheus::MetricFamily> MetricSink::Take() {
  index_.clear();
  return std::move(families_);
}

}  // namespace rse::collectors
