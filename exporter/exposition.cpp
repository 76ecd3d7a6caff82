#include "exporter/exposition.h"

#include <charconv>
#include <cmath>

namespace rse {
namespace {

// Appends s, escaping backslash and newline (and '"' in label values), in one pass; runs
// without a special character, which is nearly everything, are appended whole.
void AppendEscaped(std::string& out, const std::string& s, bool quote) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char* escape = nullptr;
    switch (s[i]) {
      case '\\': escape = "\\\\"; break;
      case '\n': escape = "\\n"; break;
      case '"': escape = quote ? "\\\"" : nullptr; break;
      default: break;
    }
    if (escape == nullptr) continue;
    out.append(s, run, i - run);
    out += escape;
    run = i + 1;
  }
  out.append(s, run, std::string::npos);
}

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest exact form
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    case prometheus::MetricType::Summary: return "summary";
    case prometheus::MetricType::Histogram: return "histogram";
    case prometheus::MetricType::Untyped: break;
  }
  return "untyped";
}

}  // namespace

void AppendText(std::string& out, const std::vector<prometheus::MetricFamily>& families) {
  size_t samples = 0;
  for (const auto& f : families) samples += f.metric.size();
  out.reserve(out.size() + samples * 120 + families.size() * 160);
  for (const auto& f : families) {
    if (f.metric.empty()) continue;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    AppendEscaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    const bool counter = f.type == prometheus::MetricType::Counter;
    for (const auto& m : f.metric) {
      out += f.name;
      if (!m.label.empty()) {
        out += '{';
        bool first = true;
        for (const auto& l : m.label) {
          if (!first) out += ',';
          first = false;
          out += l.name;
          out += "=\"";
          AppendEscaped(out, l.value, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      AppendValue(out, counter ? m.counter.value : m.gauge.value);
      out += '\n';
    }
  }
}

}  // namespace rse
