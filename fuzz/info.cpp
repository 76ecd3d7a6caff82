// INFO text: ParseInfo, ParseInfoList, ParseConnectedReplicas, ParseKeyspace, ParseNumber,
// SplitFlags/HasFlag, ParseCommandStats, ParseLatencyStats, ParseErrorStats; and how MetricSink
// writes the numbers (WriteValue) and the text as a label value (Labels::Add).
//
// Input: the INFO payload (what the bulk string of an INFO reply carries).
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/metrics.h"
#include "fuzz/common.h"
#include "model/parse.h"
#include "tests/support/value_text.h"

using namespace rse::collectors;

namespace {

using Reference = std::map<std::string, std::string, std::less<>>;

// The map FieldMap replaced, built the way ParseInfo used to build it.
Reference ReferenceInfo(std::string_view text) {
  Reference out;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.insert_or_assign(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

// Same fields, same order (the last of duplicate names, ascending names).
bool SameFields(const FieldMap& m, const Reference& ref) {
  if (m.size() != ref.size() || m.empty() != ref.empty()) return false;
  auto it = ref.begin();
  for (const auto& [key, value] : m) {
    if (key != it->first || value != it->second) return false;
    if (Field(m, key) != std::optional<std::string_view>(it->second) || m.count(key) != 1) return false;
    ++it;
  }
  return true;
}

bool SameValueText(double v) {
  char buf[kMaxValue];
  return std::string_view(buf, WriteValue(buf, v)) == rse::test::ReferenceValueText(v);
}

// A label value escaped byte by byte, invalid UTF-8 checked with mbrtowc's rules spelled out.
std::string ReferenceLabel(std::string_view v) {
  std::string out = "n=\"";
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // The code point's length and range, then its continuation bytes.
      size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
      std::uint32_t cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
      for (size_t k = 1; k < n; ++k) {
        if (i + k >= v.size() || (static_cast<unsigned char>(v[i + k]) & 0xC0) != 0x80) {
          n = 0;
          break;
        }
        cp = cp << 6 | (static_cast<unsigned char>(v[i + k]) & 0x3F);
      }
      if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        n = 0;
      if (n == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(v, i, n);
        i += n - 1;
      }
    }
  }
  return out + '"';
}

// Edits through operator[] and erase, mirrored on the reference, with names and values taken
// from the input (and from the map itself).
void CheckEdits(const FieldMap& info, const Reference& ref, std::string_view text) {
  FieldMap edited = info;
  Reference edited_ref = ref;
  size_t i = 0;
  for (const auto& [key, value] : info) {
    switch (i++ % 4) {
      case 0:
        edited[key] = text.substr(0, i % 64);
        edited_ref[std::string(key)] = std::string(text.substr(0, i % 64));
        break;
      case 1:
        edited.erase(key);
        edited_ref.erase(std::string(key));
        break;
      case 2: {
        std::string fresh = std::string(value) + "#";
        edited[fresh] = edited[key];
        edited_ref[fresh] = edited_ref.count(key) ? edited_ref.find(key)->second : "";
        break;
      }
      default:
        break;
    }
    if (i > 64) break;
  }
  FUZZ_CHECK(SameFields(edited, edited_ref), "edits differ from the std::map");
  FUZZ_CHECK(SameFields(info, ref), "editing a copy changed the original");
}

// Every field, and the list, number and flag readers on its value.
void CheckFields(const FieldMap& info, std::string_view text, size_t size) {
  for (const auto& [key, value] : info) {
    FUZZ_CHECK(!key.empty(), "empty key");
    FUZZ_CHECK(key.find(':') == std::string::npos, "key with a colon");
    FUZZ_CHECK(key.find('\n') == std::string::npos && value.find('\n') == std::string::npos, "newline kept");
    FUZZ_CHECK(key.front() != '#' && key.front() != ' ', "header or leading space in key");
    FUZZ_CHECK(key.size() + value.size() < size, "field longer than the input");
    FUZZ_CHECK(text.find(key) != std::string_view::npos, "key not from the input");

    FieldMap list = ParseInfoList(value);
    for (const auto& [k, v] : list) {
      FUZZ_CHECK(!k.empty() && k.find(',') == std::string::npos && k.find('=') == std::string::npos, "bad list key");
      FUZZ_CHECK(v.find(',') == std::string::npos, "list value with a comma");
    }

    if (auto n = ParseNumber(value)) FUZZ_CHECK(std::isfinite(*n), "non-finite number");
    auto flags = SplitFlags(value);
    for (const auto& f : flags) {
      FUZZ_CHECK(!f.empty() && f.find(',') == std::string::npos, "bad flag");
      FUZZ_CHECK(HasFlag(value, f), "SplitFlags gave a flag HasFlag denies");
    }
  }
}

// The section readers: replicas, keyspace and the per-command lists.
void CheckSections(const FieldMap& info) {
  for (const auto& r : ParseConnectedReplicas(info)) {
    FUZZ_CHECK(!r.address.host.empty() && r.address.port != 0, "bad replica address");
    auto back = rse::redis::ParseAddress(r.address.ToString());
    FUZZ_CHECK(back && *back == r.address, "replica address does not round-trip: %s", r.address.ToString().c_str());
    if (r.offset) FUZZ_CHECK(std::isfinite(*r.offset), "offset");
    if (r.lag_seconds) FUZZ_CHECK(std::isfinite(*r.lag_seconds), "lag");
  }
  for (const auto& e : ParseKeyspace(info)) {
    FUZZ_CHECK(e.db.size() > 2 && e.db.compare(0, 2, "db") == 0, "bad db name");
    FUZZ_CHECK(info.count(e.db) == 1, "db not an INFO field");
    if (e.keys) FUZZ_CHECK(std::isfinite(*e.keys), "keys");
    if (e.expires) FUZZ_CHECK(std::isfinite(*e.expires), "expires");
    if (e.avg_ttl_ms) FUZZ_CHECK(std::isfinite(*e.avg_ttl_ms), "avg_ttl");
  }
  // The per-command lists: each names a field of the map, in strictly ascending order.
  std::string_view previous;
  bool first = true;
  for (const auto& c : ParseCommandStats(info)) {
    FUZZ_CHECK(!c.cmd.empty() && info.count("cmdstat_" + std::string(c.cmd)) == 1, "cmdstat not a field");
    FUZZ_CHECK(first || previous < c.cmd, "commandstats out of order");
    previous = c.cmd;
    first = false;
    for (auto v : {c.calls, c.usec, c.rejected_calls, c.failed_calls}) {
      if (v) FUZZ_CHECK(std::isfinite(*v), "commandstats value");
    }
  }
  for (const auto& l : ParseLatencyStats(info)) {
    FUZZ_CHECK(info.count("latency_percentiles_usec_" + std::string(l.cmd)) == 1, "latency not a field");
    for (const auto& [p, v] : l.percentiles) {
      FUZZ_CHECK(ParseNumber(p).has_value() && std::isfinite(v), "bad percentile");
    }
  }
  for (const auto& e : ParseErrorStats(info)) {
    FUZZ_CHECK(info.count("errorstat_" + std::string(e.prefix)) == 1, "errorstat not a field");
    if (e.count) FUZZ_CHECK(std::isfinite(*e.count), "error count");
  }
}

// FieldNames finds what Get finds: every field's name plus the input's lines as names (most
// missing, some sharing a field's first bytes), in one lookup.
void CheckFieldNames(const FieldMap& info, std::string_view text) {
  std::vector<std::string_view> names;
  for (const auto& [key, value] : info) names.push_back(key);
  for (std::string_view rest = text; !rest.empty();) {
    auto eol = rest.find('\n');
    names.push_back(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
  }
  std::vector<std::optional<std::string_view>> values(names.size());
  FieldNames(names).Lookup(info, values);
  for (size_t i = 0; i < names.size(); ++i) FUZZ_CHECK(values[i] == info.Get(names[i]), "FieldNames differs from Get");
}

// Numbers and label values rendered as MetricSink renders them.
void CheckRendering(const FieldMap& info, std::string_view text, const std::uint8_t* data, size_t size) {
  // ParseNumber's short path for decimals gives what from_chars gives.
  if (auto n = ParseNumber(text); n && !text.empty() && text.front() != '+') {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    FUZZ_CHECK(ec == std::errc() && end == text.data() + text.size() && v == *n, "ParseNumber differs from from_chars");
  }

  // The input as a label value and as numbers, rendered as MetricSink renders them.
  const std::string label(Labels().Add("n", text).text());
  FUZZ_CHECK(label == ReferenceLabel(text), "label escaping differs from the reference");
  for (const auto& [key, value] : info) {
    if (auto n = ParseNumber(value)) FUZZ_CHECK(SameValueText(*n), "WriteValue differs from to_chars");
  }
  if (size >= sizeof(double)) {
    double bits = 0;
    std::memcpy(&bits, data, sizeof bits);
    FUZZ_CHECK(SameValueText(bits), "WriteValue differs from to_chars");
  }

  // ParseNumber and ParseInfoList on the raw input too (values are single lines in INFO,
  // but SENTINEL fields are arbitrary bulk strings).
  if (auto n = ParseNumber(text)) FUZZ_CHECK(std::isfinite(*n), "non-finite number");
  (void)ParseInfoList(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FieldMap info = ParseInfo(text);
  Reference ref = ReferenceInfo(text);
  FUZZ_CHECK(SameFields(info, ref), "ParseInfo differs from the std::map it replaced");
  FUZZ_CHECK(ParseInfo(std::string(text)) == info, "adopting the text reads differently");
  CheckEdits(info, ref, text);
  CheckFields(info, text, size);
  CheckSections(info);
  CheckFieldNames(info, text);
  CheckRendering(info, text, data, size);
  return 0;
}
