#include "collectors/metrics.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace rse::collectors {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
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

// Appends s with the text format's escapes: backslash and newline always, '"' in label
// values. Runs without a special character, which is nearly everything, are appended whole.
// With `utf8`, invalid UTF-8 bytes become U+FFFD.
void AppendEscaped(std::string& out, std::string_view s, bool quote, bool utf8) {
  size_t run = 0;
  for (size_t i = 0; i < s.size();) {
    const char* escape = nullptr;
    size_t len = 1;
    switch (s[i]) {
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '"':
        escape = quote ? "\\\"" : nullptr;
        break;
      default:
        if (utf8 && static_cast<unsigned char>(s[i]) >= 0x80) {
          len = Utf8Length(s, i);
          if (len == 0) {
            escape = "\xEF\xBF\xBD";
            len = 1;
          }
        }
        break;
    }
    if (escape == nullptr) {
      i += len;
      continue;
    }
    out.append(s, run, i - run);
    out += escape;
    i += len;
    run = i;
  }
  out.append(s, run, std::string_view::npos);
}

void AppendValue(std::string& out, double v) {
  // Most values are whole numbers (counts, bytes, offsets): the integer form is the same text
  // as the shortest double form below 2^53, and far cheaper to produce.
  if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == static_cast<double>(static_cast<long long>(v)) &&
      !(v == 0 && std::signbit(v))) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(v));
    out.append(buf, ec == std::errc() ? end : buf);
    return;
  }
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
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  for (const auto& [name, value] : pairs) Add(name, value);
}

Labels& Labels::Add(std::string_view name, std::string_view value) {
  if (!text_.empty()) text_ += ',';
  text_ += name;
  text_ += "=\"";
  AppendEscaped(text_, value, true, true);
  text_ += '"';
  return *this;
}

void MetricSink::Add(const Desc& desc, std::string_view suffix, const Labels& labels, double value) {
  // By the Desc's address first (a pointer hash), by name only for a Desc not seen yet: two
  // Descs of one name (several collectors adding to a family) still share its block.
  auto known = by_desc_.find(&desc);
  if (known == by_desc_.end()) {
    const std::string_view name = desc.name;
    auto [it, added] = index_.try_emplace(name, blocks_.size());
    known = by_desc_.emplace(&desc, Slot{it->second, name.size()}).first;
    if (added) {
      std::string& head = blocks_.emplace_back();
      head += "# HELP ";
      head += name;
      head += ' ';
      AppendEscaped(head, desc.help, false, false);
      head += "\n# TYPE ";
      head += name;
      head += ' ';
      head += TypeName(desc.type);
      head += '\n';
    }
  }
  // One resize and copies of known lengths: a scrape renders tens of thousands of samples.
  std::string& out = blocks_[known->second.block];
  const std::string& l = labels.text();
  const size_t name_size = known->second.name_size;
  const size_t at = out.size();
  out.resize(at + name_size + suffix.size() + (l.empty() ? 0 : l.size() + 2) + 1);
  char* p = out.data() + at;
  std::memcpy(p, desc.name, name_size);
  p += name_size;
  if (!suffix.empty()) std::memcpy(p, suffix.data(), suffix.size());
  p += suffix.size();
  if (!l.empty()) {
    *p++ = '{';
    std::memcpy(p, l.data(), l.size());
    p += l.size();
    *p++ = '}';
  }
  *p = ' ';
  AppendValue(out, value);
  out += '\n';
}

void MetricSink::AddHistogram(const Desc& desc, const Labels& labels, std::span<const double> bounds,
                              std::span<const double> counts, double sum, double count) {
  double cumulative = 0;
  for (std::size_t i = 0; i < bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    std::string le;
    AppendValue(le, bounds[i]);
    Add(desc, "_bucket", With(labels, "le", le), cumulative);
  }
  Add(desc, "_bucket", With(labels, "le", "+Inf"), count);
  Add(desc, "_sum", labels, sum);
  Add(desc, "_count", labels, count);
}

std::vector<std::string> MetricSink::Take() {
  index_.clear();
  by_desc_.clear();
  return std::move(blocks_);
}

std::string Join(const std::vector<std::string>& blocks) {
  size_t size = 0;
  for (const auto& b : blocks) size += b.size();
  std::string out;
  out.reserve(size);
  for (const auto& b : blocks) out += b;
  return out;
}

}  // namespace rse::collectors
