#include "collectors/metrics.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
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

// What AppendEscaped looks at, by byte: kAlways for '\\' and '\n', kQuote for '"' (escaped in
// label values), kHigh for bytes of multi-byte UTF-8 (checked in label values). Everything else
// is copied as it is, in runs.
constexpr unsigned char kAlways = 1, kQuote = 2, kHigh = 4;
constexpr auto kEscapeClass = [] {
  std::array<unsigned char, 256> t{};
  t['\\'] = kAlways;
  t['\n'] = kAlways;
  t['"'] = kQuote;
  for (size_t c = 0x80; c < 256; ++c) t[c] = kHigh;
  return t;
}();

unsigned char EscapeMask(bool quote, bool utf8) {
  return static_cast<unsigned char>(kAlways | (quote ? kQuote : 0) | (utf8 ? kHigh : 0));
}

// The index of the first byte of s at or after `from` that `mask` says needs attention.
size_t Clean(std::string_view s, size_t from, unsigned char mask) {
  while (from < s.size() && (kEscapeClass[static_cast<unsigned char>(s[from])] & mask) == 0) ++from;
  return from;
}

// Appends s with the text format's escapes: backslash and newline always, '"' in label
// values. Runs without a special character, which is nearly everything, are appended whole.
// With `utf8`, invalid UTF-8 bytes become U+FFFD.
void AppendEscaped(std::string& out, std::string_view s, bool quote, bool utf8) {
  const unsigned char mask = EscapeMask(quote, utf8);
  size_t run = 0;
  for (size_t i = Clean(s, 0, mask); i < s.size(); i = Clean(s, i, mask)) {
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
        escape = "\\\"";
        break;
      default:  // a byte >= 0x80, with utf8
        len = Utf8Length(s, i);
        if (len == 0) {
          escape = "\xEF\xBF\xBD";
          len = 1;
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

// Writes |v| with k decimals when that is exactly std::to_chars's shortest text for v, and
// returns the end; otherwise returns p. Latency percentiles and per-call times (12.345,
// 0.000315) are most of the non-integer values, and to_chars costs ~500 instructions each.
//
// Why the text is to_chars's: with |v| < 1e9 and k <= 6, |v| * 10^k < 1e15, so m, the nearest
// integer to |v| * 10^k, is exact even with the product's rounding, and m / 10^k == |v| (one
// correctly rounded division) holds exactly when the decimal m * 10^-k rounds to v. The first k
// that holds gives the fewest digits; at most 15 significant digits leave no second decimal of
// that length nearer to v. Fixed notation is to_chars's choice (the shorter, fixed on a tie)
// for |v| >= 1e-3, and below that down to 1e-4 only with two digits or more (0.00012 and
// 1.2e-04 tie; 1e-04 is shorter than 0.0001). tests/unit/metric_sink_test.cpp compares it
// with to_chars over millions of values.
char* WriteDecimal(char* p, double v) {
  static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
  static constexpr std::uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  const double a = std::fabs(v);
  if (!(a >= 1e-4 && a < 1e9)) return p;
  for (int k = 1; k <= 6; ++k) {
    const auto m = static_cast<std::uint64_t>(a * kPow10[k] + 0.5);
    if (static_cast<double>(m) / kPow10[k] != a) continue;
    if (a < 1e-3 && m < 10) return p;  // 1e-04 and the like: scientific is shorter
    char* out = p;
    if (v < 0) *out++ = '-';
    out = std::to_chars(out, out + 10, m / kPow10Int[k]).ptr;
    *out++ = '.';
    std::uint64_t frac = m % kPow10Int[k];
    for (int i = k - 1; i >= 0; --i) {
      out[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    return out + k;
  }
  return p;
}

}  // namespace

char* WriteValue(char* p, double v) {
  // Most values are whole numbers (counts, bytes, offsets): the integer form is exact below
  // 2^53 and far cheaper to produce (and reads 100000 where to_chars would write 1e+05).
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
    if (char* end = WriteDecimal(p, v); end != p) return end;
    auto [end, ec] = std::to_chars(p, p + kMaxValue, v);  // shortest exact form
    return ec == std::errc() ? end : p;
  }
  const size_t n = std::strlen(text);
  std::memcpy(p, text, n);
  return p + n;
}

namespace {

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

// A `# HELP` text's length once escaped: backslashes and newlines take two bytes.
size_t HelpSize(std::string_view help) {
  size_t n = help.size();
  for (size_t i = Clean(help, 0, kAlways); i < help.size(); i = Clean(help, i + 1, kAlways)) ++n;
  return n;
}

char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Writes help escaped (HelpSize bytes) at p and returns the end.
char* WriteHelp(char* p, std::string_view help) {
  size_t run = 0;
  for (size_t i = Clean(help, 0, kAlways); i < help.size(); i = Clean(help, i + 1, kAlways)) {
    p = Put(p, help.substr(run, i - run));
    p = Put(p, help[i] == '\\' ? "\\\\" : "\\n");
    run = i + 1;
  }
  return Put(p, help.substr(run));
}

}  // namespace

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  for (const auto& [name, value] : pairs) Add(name, value);
}

char* Labels::Extend(size_t more) {
  const size_t at = size_;
  size_ += more;
  if (!on_heap_ && size_ <= kInline) return inline_ + at;
  if (!on_heap_) {
    heap_.reserve(2 * kInline);
    heap_.assign(inline_, at);
    on_heap_ = true;
  }
  heap_.resize(size_);
  return heap_.data() + at;
}

void Labels::Truncate(size_t mark) {
  size_ = mark;
  if (on_heap_) heap_.resize(mark);
}

Labels& Labels::Add(std::string_view name, std::string_view value) {
  // Nearly every value is clean: copied as it is then.
  if (Clean(value, 0, EscapeMask(true, true)) == value.size()) return AddPlain(name, value);
  std::string pair = size_ == 0 ? "" : ",";
  pair += name;
  pair += "=\"";
  AppendEscaped(pair, value, true, true);
  pair += '"';
  std::memcpy(Extend(pair.size()), pair.data(), pair.size());
  return *this;
}

Labels& Labels::AddPlain(std::string_view name, std::string_view value) {
  assert(Clean(value, 0, EscapeMask(true, true)) == value.size());  // live in sanitizer builds
  const size_t comma = size_ == 0 ? 0 : 1;
  char* p = Extend(comma + name.size() + 2 + value.size() + 1);
  if (comma) *p++ = ',';
  p = std::copy(name.begin(), name.end(), p);
  *p++ = '=';
  *p++ = '"';
  p = std::copy(value.begin(), value.end(), p);
  *p = '"';
  return *this;
}

bool SizePlan::empty() const {
  std::lock_guard lock(mu_);
  return families_ == 0;
}

size_t SizePlan::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

SizePlan::Found SizePlan::Find(const Desc& desc, std::string_view name) {
  std::lock_guard lock(mu_);
  auto [it, added] = by_desc_.try_emplace(&desc, ByDesc{});
  ByDesc& d = it->second;
  if (added || known_[d.id].name != name) {
    auto named = ids_.find(name);
    if (named == ids_.end()) {
      named = ids_.emplace(std::string(name), static_cast<uint32_t>(known_.size())).first;
      known_.push_back({named->first, 0});  // the map's key: its node does not move
    }
    d = ByDesc{named->second};
  }
  if (d.help != desc.help) {
    const std::string_view help = desc.help;
    d.help = desc.help;
    d.plain_help = Clean(help, 0, kAlways) == help.size();
  }
  return {d.id, d.plain_help, known_[d.id].bytes};
}

SizePlan::Counts SizePlan::Count() const {
  std::lock_guard lock(mu_);
  return {known_.size(), by_desc_.size(), families_, reserve_, largest_};
}

void SizePlan::Update(const std::vector<std::pair<uint32_t, size_t>>& sizes, size_t largest) {
  std::lock_guard lock(mu_);
  for (auto& k : known_) k.bytes = 0;
  families_ = sizes.size();
  reserve_ = 0;
  bytes_ = 0;
  largest_ = largest;
  for (const auto& [id, bytes] : sizes) {
    known_[id].bytes = bytes;
    reserve_ += Region(bytes);
    bytes_ += bytes;
  }
}

MetricSink::MetricSink(SizePlan* plan, Mode mode, Output output)
    : plan_(plan), ids_(plan ? plan : &own_), measure_(mode == Mode::kMeasure), output_(std::move(output)) {
  // Everything sized by the previous scrape, once: no growth while rendering.
  const SizePlan::Counts counts = ids_->Count();
  // With an output the buffer holds one flush at a time: the largest one's regions.
  if (plan_ && !measure_) body_.reserve(output_ ? counts.largest : counts.reserve);
  families_.reserve(counts.families);
  sizes_.reserve(counts.families);
  family_of_id_.resize(counts.ids);
  size_t slots = 16;
  while (slots < 2 * (counts.descs + 1)) slots *= 2;
  slots_.resize(slots);
}

MetricSink::Slot& MetricSink::Probe(const Desc* desc) {
  // Fibonacci hashing: Descs sit in arrays, so their addresses differ in a few middle bits.
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>((reinterpret_cast<std::uintptr_t>(desc) * 0x9E3779B97F4A7C15ULL) >> 40) & mask;
  while (slots_[i].desc != nullptr && slots_[i].desc != desc) i = (i + 1) & mask;
  return slots_[i];
}

const MetricSink::Slot& MetricSink::Open(const Desc& desc) {
  if (2 * (used_slots_ + 1) > slots_.size()) {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.desc != nullptr) Probe(s.desc) = s;
    }
  }
  const std::string_view name = desc.name;
  const auto [id, plain_help, planned] = ids_->Find(desc, name);
  if (id >= family_of_id_.size()) family_of_id_.resize(id + 1);
  Slot& slot = Probe(&desc);
  slot = Slot{&desc, 0, static_cast<uint32_t>(name.size())};
  ++used_slots_;
  // Two Descs of one name (several collectors adding to a family) share its block.
  if (uint32_t known = family_of_id_[id]; known != 0) {
    slot.family = known - 1;
    return slot;
  }
  slot.family = static_cast<uint32_t>(families_.size());
  family_of_id_[id] = slot.family + 1;
  Family& f = families_.emplace_back();
  f.name = name;
  f.id = id;
  if (plan_ && !measure_) {
    // The region is zero-filled here, once: std::string has no way to extend its size
    // without writing, and writing past size() is not allowed.
    f.begin = f.end = body_.size();
    f.limit = f.begin + SizePlan::Region(planned);
    body_.resize(f.limit);
  }
  // The head is written in place, as the samples are.
  const std::string_view help = desc.help;
  const std::string_view type = TypeName(desc.type);
  const size_t help_size = plain_help ? help.size() : HelpSize(help);
  char* p = Reserve(f, 7 + name.size() + 1 + help_size + 8 + name.size() + 1 + type.size() + 1);
  p = Put(p, "# HELP ");
  p = Put(p, name);
  *p++ = ' ';
  p = plain_help ? Put(p, help) : WriteHelp(p, help);
  p = Put(p, "\n# TYPE ");
  p = Put(p, name);
  *p++ = ' ';
  p = Put(p, type);
  *p++ = '\n';
  Commit(f, p);
  return slot;
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
    ++spilled_;
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
  const Slot* slot = &Probe(&desc);
  if (slot->desc == nullptr) slot = &Open(desc);
  const uint32_t family = slot->family;
  Family& f = families_[family];
  if (f.flushed) {
    if (!f.late) {
      f.late = true;
      late_.push_back(family);
    }
    return;
  }
  // Copies of known lengths into reserved space: a scrape renders tens of thousands of samples.
  const std::string_view l = labels.text();
  const size_t name_size = slot->name_size;
  const size_t n = name_size + suffix.size() + (l.empty() ? 0 : l.size() + 2) + 1 + kMaxValue + 1;
  // In its region, as nearly every sample is: no call to Reserve and Commit.
  const bool in_place = !measure_ && f.spill == kInPlace && f.end + n <= f.limit;
  char* p = in_place ? body_.data() + f.end : Reserve(f, n);
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
  if (in_place) {
    f.end = static_cast<size_t>(p - body_.data());
  } else {
    Commit(f, p);
  }
}

void MetricSink::AddHistogram(const Desc& desc, const Labels& labels, std::span<const double> bounds,
                              std::span<const double> counts, double sum, double count) {
  // One copy of the labels, its `le` pair replaced for each bucket.
  Labels bucket = labels;
  const size_t mark = bucket.size();
  double cumulative = 0;
  for (std::size_t i = 0; i < bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    char le[kMaxValue];
    Add(desc, "_bucket", bucket.AddPlain("le", std::string_view(le, WriteValue(le, bounds[i]))), cumulative);
    bucket.Truncate(mark);
  }
  Add(desc, "_bucket", bucket.AddPlain("le", "+Inf"), count);
  Add(desc, "_sum", labels, sum);
  Add(desc, "_count", labels, count);
}

size_t MetricSink::Bytes(const Family& f) const {
  if (measure_) return f.measured;
  return f.spill == kInPlace ? f.end - f.begin : spills_[f.spill].size();
}

void MetricSink::Join(size_t from) {
  // The regions close up in place; the spilled families follow.
  size_t at = 0;
  for (size_t i = from; i < families_.size(); ++i) {
    const Family& f = families_[i];
    if (f.spill != kInPlace) continue;
    const size_t n = f.end - f.begin;
    if (at != f.begin) std::memmove(body_.data() + at, body_.data() + f.begin, n);
    at += n;
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
  for (size_t i = from; i < families_.size(); ++i) {
    const Family& f = families_[i];
    if (f.spill == kInPlace) continue;
    std::string& s = spills_[f.spill];
    body_ += s;
    std::string().swap(s);  // freed once copied: the spills can be the whole body
  }
}

void MetricSink::Flush() {
  for (size_t i = unflushed_; i < families_.size(); ++i) {
    Family& f = families_[i];
    f.flushed = true;
    const size_t bytes = Bytes(f);
    sizes_.emplace_back(f.id, bytes);
    batch_bytes_ += bytes;
    batch_regions_ += SizePlan::Region(bytes);
  }
  unflushed_ = families_.size();
  // Measured in every mode, so that the plan sizes the buffer an output needs.
  if (batch_bytes_ >= kOutputBatch) Send();
}

void MetricSink::Send() {
  largest_ = std::max(largest_, batch_regions_);
  batch_bytes_ = batch_regions_ = 0;
  if (output_ && !measure_ && unsent_ < unflushed_) {
    Join(unsent_);
    if (!body_.empty()) output_(body_);
    body_.clear();  // the capacity stays for the next output
    spills_.clear();
  }
  unsent_ = unflushed_;
}

std::vector<std::string_view> MetricSink::TakeLate() {
  std::vector<std::string_view> names;
  for (size_t i : late_) {
    families_[i].late = false;
    names.push_back(families_[i].name);
  }
  late_.clear();
  return names;
}

std::string MetricSink::Take() {
  Flush();
  Send();
  std::string out;
  if (!measure_ && !output_) {
    Join(0);
    if (!body_.empty()) out = std::move(body_);
  }
  if (plan_) plan_->Update(sizes_, largest_);
  body_ = std::string();
  spills_.clear();
  spilled_ = 0;
  families_.clear();
  std::fill(family_of_id_.begin(), family_of_id_.end(), 0);
  std::fill(slots_.begin(), slots_.end(), Slot{});
  used_slots_ = 0;
  unflushed_ = unsent_ = 0;
  batch_bytes_ = batch_regions_ = 0;
  sizes_.clear();
  largest_ = 0;
  late_.clear();
  return out;
}

}  // namespace rse::collectors
