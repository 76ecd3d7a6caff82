#include "collectors/metrics.h"

namespace rse::collectors {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  const unsigned char c1 = static_cast<unsigned char>(n > 1 ? s[i + 1] : 0);
  if ((n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && c1 < 0xA0) || (n == 3 && c == 0xED && c1 >= 0xA0) ||
      (n == 4 && c == 0xF0 && c1 < 0x90) || (n == 4 && c > 0xF4) || (n == 4 && c == 0xF4 && c1 >= 0x90)) {
    return 0;  // overlong, surrogate or beyond U+10FFFF
  }
  return n;
}

// Label values come from peers (master names, hosts): the text format must be UTF-8, and one
// bad byte would make Prometheus reject the whole scrape. Invalid bytes become U+FFFD.
void MakeUtf8(std::string& s) {
  for (size_t i = 0; i < s.size();) {
    if (size_t n = Utf8Length(s, i)) {
      i += n;
      continue;
    }
    s.replace(i, 1, "\xEF\xBF\xBD");
    i += 3;
  }
}

bool IsAscii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

void MetricSink::Add(const Desc& desc, Labels labels, double value) {
  for (auto& l : labels) {
    if (!IsAscii(l.value)) MakeUtf8(l.value);
  }
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
