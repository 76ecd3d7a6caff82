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

// The longest value text: a double's shortest form ("-2.2250738585072014e-308") is 24.
constexpr size_t kMaxValue = 32;

// Writes v at p (at most kMaxValue bytes); returns the end.
char* WriteValue(char* p, double v) {
  // Most values are whole numbers (counts, bytes, offsets): the integer form is the same text
  // as the shortest double form below 2^53, and far cheaper to produce.
  if (v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == static_cast<double>(static_cast<long long>(v)) &&
      !(v == 0 && std::signbit(v))) {
    auto [end, ec] = std::to_chars(p, p + kMaxValue, static_cast<long long>(v));
    return ec == std::errc() ? end : p;
  }
  const char* text = nullptr;
  if (std::isnan(v)) {
    text = "NaN";
  } else if (std::isinf(v)) {
    text = v > 0 ? "+Inf" : "-Inf";
  } else {
    auto [end, ec] = std::to_chars(p, p + kMaxValue, v);  // shortest exact form
    return ec == std::errc() ? end : p;
  }
  const size_t n = std::strlen(text);
  std::memcpy(p, text, n);
  return p + n;
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

bool SizePlan::empty() const {
  std::lock_guard lock(mu_);
  return sizes_.empty();
}

size_t SizePlan::Planned(std::string_view family) const {
  std::lock_guard lock(mu_);
  auto it = sizes_.find(family);
  return it == sizes_.end() ? 0 : it->second;
}

size_t SizePlan::Reserve() const {
  std::lock_guard lock(mu_);
  return reserve_;
}

void SizePlan::Update(const std::vector<std::pair<std::string_view, size_t>>& sizes) {
  std::lock_guard lock(mu_);
  // Known families move their nodes over: no allocation for them.
  Sizes next;
  next.reserve(sizes.size());
  reserve_ = 0;
  for (const auto& [name, bytes] : sizes) {
    if (auto it = sizes_.find(name); it != sizes_.end()) {
      auto node = sizes_.extract(it);
      node.mapped() = bytes;
      next.insert(std::move(node));
    } else {
      next.emplace(std::string(name), bytes);
    }
    reserve_ += Region(bytes);
  }
  sizes_.swap(next);
}

MetricSink::MetricSink(SizePlan* plan, Mode mode) : plan_(plan), measure_(mode == Mode::kMeasure) {
  if (plan_ && !measure_) body_.reserve(plan_->Reserve());
}

MetricSink::Family& MetricSink::Open(const Desc& desc, Slot& slot) {
  const std::string_view name = desc.name;
  auto [it, added] = index_.try_emplace(name, families_.size());
  slot = Slot{it->second, name.size()};
  if (!added) return families_[it->second];
  Family& f = families_.emplace_back();
  f.name = name;
  if (plan_ && !measure_) {
    // The region is zero-filled here, once: std::string has no way to extend its size
    // without writing, and writing past size() is not allowed.
    f.begin = f.end = body_.size();
    f.limit = f.begin + SizePlan::Region(plan_->Planned(name));
    body_.resize(f.limit);
  }
  std::string head = "# HELP ";
  head += name;
  head += ' ';
  AppendEscaped(head, desc.help, false, false);
  head += "\n# TYPE ";
  head += name;
  head += ' ';
  head += TypeName(desc.type);
  head += '\n';
  char* p = Reserve(f, head.size());
  std::memcpy(p, head.data(), head.size());
  Commit(f, p + head.size());
  return f;
}

char* MetricSink::Reserve(Family& f, size_t n) {
  if (measure_) {
    if (scratch_.size() < n) scratch_.resize(n);
    return scratch_.data();
  }
  if (f.spill == kInPlace) {
    if (f.end + n <= f.limit) return body_.data() + f.end;
    // Out of its region (or never planned): the family goes on in a string of its own.
    f.spill = spills_.size();
    spills_.emplace_back(body_, f.begin, f.end - f.begin);
    f.end = f.begin;
  }
  std::string& s = spills_[f.spill];
  const size_t at = s.size();
  s.resize(at + n);
  return s.data() + at;
}

void MetricSink::Commit(Family& f, const char* end) {
  if (measure_) {
    f.measured += static_cast<size_t>(end - scratch_.data());
  } else if (f.spill == kInPlace) {
    f.end = static_cast<size_t>(end - body_.data());
  } else {
    std::string& s = spills_[f.spill];
    s.resize(static_cast<size_t>(end - s.data()));
  }
}

void MetricSink::Add(const Desc& desc, std::string_view suffix, const Labels& labels, double value) {
  // By the Desc's address first (a pointer hash), by name only for a Desc not seen yet: two
  // Descs of one name (several collectors adding to a family) still share its block.
  auto known = by_desc_.find(&desc);
  if (known == by_desc_.end()) {
    Slot slot{};
    Open(desc, slot);
    known = by_desc_.emplace(&desc, slot).first;
  }
  Family& f = families_[known->second.family];
  // Copies of known lengths into reserved space: a scrape renders tens of thousands of samples.
  const std::string& l = labels.text();
  const size_t name_size = known->second.name_size;
  char* p = Reserve(f, name_size + suffix.size() + (l.empty() ? 0 : l.size() + 2) + 1 + kMaxValue + 1);
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
  *p++ = ' ';
  p = WriteValue(p, value);
  *p++ = '\n';
  Commit(f, p);
}

void MetricSink::AddHistogram(const Desc& desc, const Labels& labels, std::span<const double> bounds,
                              std::span<const double> counts, double sum, double count) {
  double cumulative = 0;
  for (std::size_t i = 0; i < bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    char le[kMaxValue];
    Add(desc, "_bucket", With(labels, "le", std::string_view(le, WriteValue(le, bounds[i]))), cumulative);
  }
  Add(desc, "_bucket", With(labels, "le", "+Inf"), count);
  Add(desc, "_sum", labels, sum);
  Add(desc, "_count", labels, count);
}

std::string MetricSink::Take() {
  std::vector<std::pair<std::string_view, size_t>> sizes;
  sizes.reserve(families_.size());
  std::string out;
  if (measure_) {
    for (const Family& f : families_) sizes.emplace_back(f.name, f.measured);
  } else {
    // The regions close up in place; the spilled families follow.
    size_t at = 0;
    for (const Family& f : families_) {
      if (f.spill != kInPlace) continue;
      const size_t n = f.end - f.begin;
      if (at != f.begin) std::memmove(body_.data() + at, body_.data() + f.begin, n);
      at += n;
      sizes.emplace_back(f.name, n);
    }
    size_t total = at;
    for (const auto& s : spills_) total += s.size();
    body_.resize(at);
    if (total > body_.capacity()) {
      // Exactly the size needed (reserve would double the capacity).
      std::string grown;
      grown.reserve(total);
      grown += body_;
      body_.swap(grown);
    }
    for (const Family& f : families_) {
      if (f.spill == kInPlace) continue;
      std::string& s = spills_[f.spill];
      body_ += s;
      sizes.emplace_back(f.name, s.size());
      std::string().swap(s);  // freed once copied: the spills can be the whole body
    }
    if (!body_.empty()) out = std::move(body_);
  }
  if (plan_) plan_->Update(sizes);
  body_ = std::string();
  spills_.clear();
  families_.clear();
  index_.clear();
  by_desc_.clear();
  return out;
}

}  // namespace rse::collectors
