#include "model/parse.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

namespace rse::collectors {

namespace {

constexpr size_t kMaxFieldBytes = std::numeric_limits<std::uint32_t>::max();

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

// The number after "slave" / "db" in the numbered INFO keys: one digit or more, nothing else.
bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// An upper bound of the fields in an INFO text. memchr: std::count is a byte loop at -O2.
size_t CountLines(std::string_view text) {
  size_t lines = 1;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) != nullptr) {
    ++lines;
    ++p;
  }
  return lines;
}

// Calls f(name, value) for each "name=value" item of an INFO list value ("ip=..,port=..").
// Items without '=' or with an empty name are skipped.
template <typename F>
void ForEachListItem(std::string_view list, F f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    f(item.substr(0, eq), item.substr(eq + 1));
  }
}

}  // namespace

// ------------------------------------------------------------------ FieldMap ----

FieldMap::FieldMap(std::initializer_list<value_type> fields) {
  size_t bytes = 0;
  for (const auto& [name, value] : fields) bytes += name.size() + value.size();
  buffer_.reserve(bytes);
  index_.reserve(fields.size());
  for (const auto& [name, value] : fields) AddUnsorted(name, value);
  SortIndex();
}

std::uint64_t FieldMap::Prefix(std::string_view name) {
  std::uint64_t prefix = 0;
  if (name.size() >= 8 && std::endian::native == std::endian::little) {
    std::memcpy(&prefix, name.data(), 8);
    return __builtin_bswap64(prefix);
  }
  const size_t n = std::min<size_t>(name.size(), 8);
  for (size_t i = 0; i < n; ++i) prefix |= std::uint64_t{static_cast<unsigned char>(name[i])} << (56 - 8 * i);
  return prefix;
}

int FieldMap::Compare(const Entry& e, std::uint64_t prefix, std::string_view name) const {
  // Different prefixes order the names as their bytes do (a zero pad sorts a shorter name
  // first). Equal ones: the first min(8, sizes) bytes are equal, compare the rest.
  if (e.prefix != prefix) return e.prefix < prefix ? -1 : 1;
  std::string_view key = KeyOf(e);
  const size_t same = std::min<size_t>({key.size(), name.size(), 8});
  return key.substr(same).compare(name.substr(same));
}

std::vector<FieldMap::Entry>::const_iterator FieldMap::LowerBound(std::string_view name) const {
  const std::uint64_t prefix = Prefix(name);
  return std::lower_bound(index_.begin(), index_.end(), name, [this, prefix](const Entry& e, std::string_view n) {
    if (e.prefix != prefix) return e.prefix < prefix;
    return Compare(e, prefix, n) < 0;
  });
}

FieldMap::const_iterator FieldMap::find(std::string_view name) const {
  auto it = LowerBound(name);
  if (it == index_.end() || KeyOf(*it) != name) return end();
  return {this, index_.data() + (it - index_.begin())};
}

std::optional<std::string_view> FieldMap::Get(std::string_view name) const {
  auto it = LowerBound(name);
  if (it == index_.end() || KeyOf(*it) != name) return std::nullopt;
  return ValueOf(*it);
}

std::uint32_t FieldMap::Append(std::string_view bytes) {
  if (bytes.size() > kMaxFieldBytes - buffer_.size()) throw std::length_error("FieldMap: more than 4 GiB of text");
  auto offset = static_cast<std::uint32_t>(buffer_.size());
  buffer_.append(bytes);
  return offset;
}

void FieldMap::AddUnsorted(std::string_view name, std::string_view value) {
  const std::uint32_t key = Append(name);
  index_.push_back(MakeEntry(name, key, Append(value), static_cast<std::uint32_t>(value.size())));
}

void FieldMap::SortIndex() {
  // Stable: equal names keep the order they were added in, so the last of a run is the last
  // one given and wins, as with std::map::insert_or_assign. (Offsets cannot stand in for that
  // order: empty names and values take no bytes.)
  std::stable_sort(index_.begin(), index_.end(), [this](const Entry& a, const Entry& b) {
    // Most names differ in their first 8 bytes: no call then.
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return Compare(a, b.prefix, KeyOf(b)) < 0;
  });
  size_t kept = 0;
  for (size_t i = 0; i < index_.size(); ++i) {
    if (kept > 0 && index_[kept - 1].prefix == index_[i].prefix && KeyOf(index_[kept - 1]) == KeyOf(index_[i])) {
      index_[kept - 1] = index_[i];
    } else {
      index_[kept++] = index_[i];
    }
  }
  index_.resize(kept);
}

void FieldMap::insert_or_assign(std::string_view name, std::string_view value) {
  // Either may point into buffer_ (a view from this map), which the appends below can move.
  auto inside = [this](std::string_view s) {
    std::less<const char*> less;
    return !s.empty() && !less(s.data(), buffer_.data()) && less(s.data(), buffer_.data() + buffer_.size());
  };
  std::string name_copy, value_copy;
  if (inside(name)) name = name_copy = std::string(name);
  if (inside(value)) value = value_copy = std::string(value);

  auto it = LowerBound(name);
  const auto pos = it - index_.begin();
  if (it != index_.end() && KeyOf(*it) == name) {
    Entry& e = index_[pos];
    if (value.size() <= e.value_size) {
      if (!value.empty()) std::memcpy(buffer_.data() + e.value, value.data(), value.size());
    } else {
      e.value = Append(value);
    }
    e.value_size = static_cast<std::uint32_t>(value.size());
  } else {
    const std::uint32_t key = Append(name);
    index_.insert(index_.begin() + pos, MakeEntry(name, key, Append(value), static_cast<std::uint32_t>(value.size())));
  }
  CompactIfSparse();
}

FieldMap::size_type FieldMap::erase(std::string_view name) {
  auto it = LowerBound(name);
  if (it == index_.end() || KeyOf(*it) != name) return 0;
  index_.erase(it);
  CompactIfSparse();
  return 1;
}

void FieldMap::CompactIfSparse() {
  size_t live = 0;
  for (const auto& e : index_) live += e.key_size + e.value_size;
  if (buffer_.size() <= 2 * live + 256) return;
  std::string compact;
  compact.reserve(live);
  for (auto& e : index_) {
    auto key = static_cast<std::uint32_t>(compact.size());
    compact.append(KeyOf(e));
    auto value = static_cast<std::uint32_t>(compact.size());
    compact.append(ValueOf(e));
    e.key = key;
    e.value = value;
  }
  buffer_ = std::move(compact);
}

FieldNames::FieldNames(std::initializer_list<std::string_view> names)
    : FieldNames(std::span<const std::string_view>(names.begin(), names.size())) {}

FieldNames::FieldNames(std::span<const std::string_view> names) {
  sorted_.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) sorted_.push_back({FieldMap::Prefix(names[i]), names[i], i});
  std::sort(sorted_.begin(), sorted_.end(), [](const Name& a, const Name& b) { return a.name < b.name; });
}

void FieldNames::Lookup(const FieldMap& fields, std::span<std::optional<std::string_view>> values) const {
  // A merge of two sorted lists. A match does not advance the map: the next name may repeat it.
  auto e = fields.index_.begin();
  const auto end = fields.index_.end();
  for (const Name& n : sorted_) {
    std::optional<std::string_view> found;
    while (e != end) {
      // Most steps differ in the first 8 bytes: settle those here, without a call.
      if (e->prefix < n.prefix) {
        ++e;
        continue;
      }
      if (e->prefix > n.prefix) break;
      // Same first 8 bytes (zero-padded): the names are equal when their sizes and the rest are.
      const std::string_view key = fields.KeyOf(*e);
      if (key.size() == n.name.size() &&
          (key.size() <= 8 || std::memcmp(key.data() + 8, n.name.data() + 8, key.size() - 8) == 0)) {
        found = fields.ValueOf(*e);
        break;
      }
      if (fields.Compare(*e, n.prefix, n.name) > 0) break;
      ++e;
    }
    values[n.slot] = found;
  }
}

bool operator==(const FieldMap& a, const FieldMap& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// -------------------------------------------------------------------- parsers ----

FieldMap ParseInfo(std::string_view text) { return ParseInfo(std::string(text)); }

// The map keeps the whole text as its buffer (headers and line ends included: one move or one
// copy beats appending ~150 fields one by one) and indexes the fields in place.
FieldMap ParseInfo(std::string&& text) {
  FieldMap out;
  out.buffer_ = std::move(text);
  const char* base = out.buffer_.data();
  std::string_view rest = out.buffer_;
  if (rest.size() > kMaxFieldBytes) {
    // Beyond 32-bit offsets (far beyond any real INFO): the whole lines below the limit.
    rest = rest.substr(0, rest.rfind('\n', kMaxFieldBytes - 1) + 1);
  }
  out.index_.reserve(CountLines(rest));
  while (!rest.empty()) {
    auto eol = rest.find('\n');
    std::string_view line = Trim(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const auto key = static_cast<std::uint32_t>(line.data() - base);
    out.index_.push_back(FieldMap::MakeEntry(line.substr(0, colon), key, key + static_cast<std::uint32_t>(colon) + 1,
                                             static_cast<std::uint32_t>(line.size() - colon - 1)));
  }
  out.SortIndex();
  return out;
}

FieldMap ParseInfoList(std::string_view value) {
  FieldMap out;
  if (value.size() > kMaxFieldBytes) value = value.substr(0, value.rfind(',', kMaxFieldBytes - 1) + 1);
  size_t items = 1;
  size_t bytes = 0;
  ForEachListItem(value, [&](std::string_view k, std::string_view v) {
    ++items;
    bytes += k.size() + v.size();
  });
  out.buffer_.reserve(bytes);
  out.index_.reserve(items);
  ForEachListItem(value, [&](std::string_view k, std::string_view v) { out.AddUnsorted(k, v); });
  out.SortIndex();
  return out;
}

Parsed<FieldMap> ParseFieldArray(const redis::Reply& reply) {
  using R = Parsed<FieldMap>;
  if (reply.IsError()) return R::Fail(reply.str);
  if (!reply.IsArray()) {
    return R::Fail(std::string("expected an array of name/value pairs, got ") + redis::TypeName(reply.type));
  }
  if (reply.elements.size() % 2 != 0) {
    return R::Fail("expected an even number of elements, got " + std::to_string(reply.elements.size()));
  }
  size_t bytes = 0;
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    const auto& k = reply.elements[i];
    const auto& v = reply.elements[i + 1];
    if (!k.IsText() || !v.IsText()) {
      return R::Fail(std::string("expected string name/value pairs, got ") + redis::TypeName(k.type) + "/" +
                     redis::TypeName(v.type));
    }
    bytes += k.str.size() + v.str.size();
  }
  if (bytes > kMaxFieldBytes) return R::Fail("name/value pairs longer than 4 GiB");
  // One buffer for every name and value (SENTINEL MASTER has ~40 pairs), then one sort.
  FieldMap out;
  out.buffer_.reserve(bytes);
  out.index_.reserve(reply.elements.size() / 2);
  for (size_t i = 0; i < reply.elements.size(); i += 2)
    out.AddUnsorted(reply.elements[i].str, reply.elements[i + 1].str);
  out.SortIndex();
  return R{std::move(out), {}};
}

Parsed<std::vector<FieldMap>> ParseFieldArrays(const redis::Reply& reply) {
  using R = Parsed<std::vector<FieldMap>>;
  if (reply.IsError()) return R::Fail(reply.str);
  if (!reply.IsArray()) {
    return R::Fail(std::string("expected an array, got ") + redis::TypeName(reply.type));
  }
  std::vector<FieldMap> out;
  out.reserve(reply.elements.size());
  for (const auto& e : reply.elements) {
    auto one = ParseFieldArray(e);
    if (!one.ok()) return R::Fail("element " + std::to_string(out.size()) + ": " + one.error);
    out.push_back(std::move(*one.value));
  }
  return R{std::move(out), {}};
}

Parsed<Ckquorum> ParseCkquorum(const redis::Reply& reply) {
  using R = Parsed<Ckquorum>;
  if (!reply.IsText() && !reply.IsError()) {
    return R::Fail(std::string("expected a status or error, got ") + redis::TypeName(reply.type));
  }
  std::string_view text = reply.str;
  Ckquorum out;
  if (reply.type == redis::Reply::Type::kStatus && text.starts_with("OK")) {
    out.ok = true;
    text.remove_prefix(2);
  } else if (reply.IsError() && text.starts_with("NOQUORUM")) {
    out.ok = false;
    text.remove_prefix(8);
  } else {
    return R::Fail(std::string(text));
  }
  text = Trim(text);
  auto space = text.find(' ');
  out.usable_sentinels = ParseNumber(text.substr(0, space));
  return R{out, {}};
}

Parsed<std::optional<redis::Address>> ParseMasterAddr(const redis::Reply& reply) {
  using R = Parsed<std::optional<redis::Address>>;
  if (reply.type == redis::Reply::Type::kNil) return R{std::optional<redis::Address>{}, {}};
  if (!reply.IsArray()) return R::Fail(std::string("expected an array, got ") + redis::TypeName(reply.type));
  if (reply.elements.size() != 2) {
    return R::Fail("expected 2 elements, got " + std::to_string(reply.elements.size()));
  }
  if (!reply.elements[0].IsText() || !reply.elements[1].IsText()) return R::Fail("expected host and port strings");
  auto addr = redis::MakeAddress(reply.elements[0].str, reply.elements[1].str);
  if (!addr) return R::Fail("not an address");
  return R{std::optional<redis::Address>(std::move(*addr)), {}};
}

std::string_view FailoverState(const FieldMap& master) {
  if (!HasFlag(Field(master, "flags").value_or(""), "failover_in_progress")) return kFailoverStates[0];
  auto state = Field(master, "failover-state");
  if (!state) return {};
  for (auto known : kFailoverStates) {
    if (*state == known) return known;
  }
  return {};
}

std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') {
    text.remove_prefix(1);
    if (text.empty() || text.front() == '-') return std::nullopt;
  }
  // Most INFO values are short whole numbers or decimals ("1.003", "0.123456"): read them
  // without from_chars. Up to 15 digits the digits are an exact integer, and so is 10^k for
  // k <= 22, so one division (rounded correctly, as IEEE division is) gives the double nearest
  // the decimal: what from_chars gives.
  {
    const bool negative = text.front() == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    if (!digits.empty() && digits.size() <= 16) {
      long long n = 0;
      size_t point = std::string_view::npos;
      bool simple = true;
      for (size_t i = 0; i < digits.size(); ++i) {
        const char c = digits[i];
        if (c >= '0' && c <= '9') {
          n = n * 10 + (c - '0');
        } else if (c == '.' && point == std::string_view::npos && i > 0 && i + 1 < digits.size()) {
          point = i;
        } else {
          simple = false;
          break;
        }
      }
      if (simple && point == std::string_view::npos && digits.size() <= 15) {
        return static_cast<double>(negative ? -n : n);
      }
      if (simple && point != std::string_view::npos) {
        static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                            1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
        const double v = static_cast<double>(n) / kPow10[digits.size() - 1 - point];
        return negative ? -v : v;
      }
    }
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> SplitFlags(std::string_view flags) {
  std::vector<std::string> out;
  while (!flags.empty()) {
    auto comma = flags.find(',');
    auto item = flags.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    flags = comma == std::string_view::npos ? std::string_view{} : flags.substr(comma + 1);
  }
  return out;
}

bool HasFlag(std::string_view flags, std::string_view flag) {
  // Walks the list in place: collectors ask three or four flags of every replica and peer.
  if (flag.empty()) return false;  // empty items ("a,,b") are not flags
  while (!flags.empty()) {
    auto comma = flags.find(',');
    if (flags.substr(0, comma) == flag) return true;
    flags = comma == std::string_view::npos ? std::string_view{} : flags.substr(comma + 1);
  }
  return false;
}

std::optional<std::string_view> Field(const FieldMap& fields, std::string_view name) { return fields.Get(name); }

std::optional<redis::Address> AddressOf(const FieldMap& fields, std::string_view host_field,
                                        std::string_view port_field) {
  auto ip = Field(fields, host_field);
  auto port = Field(fields, port_field);
  if (!ip || !port) return std::nullopt;
  return redis::MakeAddress(*ip, *port);
}

namespace {

// Calls f(rest, value) for each field whose name starts with `prefix` and has more after it. The
// map is sorted by name, so the fields sharing a prefix are one run found by binary search.
// Returns how many fields start with the prefix (an upper bound of the calls, to reserve).
template <typename F>
size_t ForEachWithPrefix(const FieldMap& info, std::string_view prefix, F f) {
  const auto first =
      std::lower_bound(info.begin(), info.end(), prefix,
                       [](const FieldMap::value_type& field, std::string_view p) { return field.first < p; });
  auto last = first;
  while (last != info.end() && (*last).first.starts_with(prefix)) ++last;
  for (auto it = first; it != last; ++it) {
    auto [key, value] = *it;
    if (key.size() > prefix.size()) f(key.substr(prefix.size()), value);
  }
  return static_cast<size_t>(last - first);
}

// How many fields start with the prefix.
size_t CountWithPrefix(const FieldMap& info, std::string_view prefix) {
  return ForEachWithPrefix(info, prefix, [](std::string_view, std::string_view) {});
}

}  // namespace

std::vector<ConnectedReplica> ParseConnectedReplicas(const FieldMap& info) {
  std::vector<ConnectedReplica> out;
  // Ascending key order: "slave0", "slave1", "slave10", "slave2", ... (the items are read in
  // place, without building a map per replica; a repeated item name keeps its last value).
  ForEachWithPrefix(info, "slave", [&](std::string_view n, std::string_view value) {
    if (!AllDigits(n)) return;
    std::optional<std::string_view> ip, port, state, offset, lag;
    ForEachListItem(value, [&](std::string_view k, std::string_view v) {
      if (k == "ip")
        ip = v;
      else if (k == "port")
        port = v;
      else if (k == "state")
        state = v;
      else if (k == "offset")
        offset = v;
      else if (k == "lag")
        lag = v;
    });
    if (!ip || !port) return;
    auto addr = redis::MakeAddress(*ip, *port);
    if (!addr) return;
    // A replica that reconnected before its old link was dropped is listed twice: keep one.
    bool listed = false;
    for (const auto& seen : out) listed = listed || seen.address == *addr;
    if (listed) return;
    ConnectedReplica r{*addr, std::string(state.value_or("")), std::nullopt, std::nullopt};
    if (offset) r.offset = ParseNumber(*offset);
    if (lag) r.lag_seconds = ParseNumber(*lag);
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<KeyspaceEntry> ParseKeyspace(const FieldMap& info) {
  std::vector<KeyspaceEntry> out;
  ForEachWithPrefix(info, "db", [&](std::string_view n, std::string_view value) {
    if (!AllDigits(n)) return;
    std::optional<std::string_view> keys, expires, avg_ttl;
    ForEachListItem(value, [&](std::string_view k, std::string_view v) {
      if (k == "keys")
        keys = v;
      else if (k == "expires")
        expires = v;
      else if (k == "avg_ttl")
        avg_ttl = v;
    });
    KeyspaceEntry e{"db" + std::string(n), std::nullopt, std::nullopt, std::nullopt};
    if (keys) e.keys = ParseNumber(*keys);
    if (expires) e.expires = ParseNumber(*expires);
    if (avg_ttl) e.avg_ttl_ms = ParseNumber(*avg_ttl);
    out.push_back(std::move(e));
  });
  return out;
}

std::vector<CommandStat> ParseCommandStats(const FieldMap& info) {
  std::vector<CommandStat> out;
  out.reserve(CountWithPrefix(info, "cmdstat_"));
  ForEachWithPrefix(info, "cmdstat_", [&](std::string_view cmd, std::string_view value) {
    CommandStat& s = out.emplace_back();
    s.cmd = cmd;
    ForEachListItem(value, [&](std::string_view k, std::string_view v) {
      if (k == "calls")
        s.calls = ParseNumber(v);
      else if (k == "usec")
        s.usec = ParseNumber(v);
      else if (k == "rejected_calls")
        s.rejected_calls = ParseNumber(v);
      else if (k == "failed_calls")
        s.failed_calls = ParseNumber(v);
    });
  });
  return out;
}

std::vector<LatencyStat> ParseLatencyStats(const FieldMap& info) {
  std::vector<LatencyStat> out;
  out.reserve(CountWithPrefix(info, "latency_percentiles_usec_"));
  ForEachWithPrefix(info, "latency_percentiles_usec_", [&](std::string_view cmd, std::string_view value) {
    LatencyStat& s = out.emplace_back();
    s.cmd = cmd;
    s.percentiles.reserve(static_cast<size_t>(std::count(value.begin(), value.end(), ',')) + 1);
    ForEachListItem(value, [&](std::string_view k, std::string_view v) {
      if (k.size() < 2 || k.front() != 'p' || !ParseNumber(k.substr(1))) return;
      if (auto n = ParseNumber(v)) s.percentiles.emplace_back(k.substr(1), *n);
    });
  });
  return out;
}

std::vector<ErrorStat> ParseErrorStats(const FieldMap& info) {
  std::vector<ErrorStat> out;
  ForEachWithPrefix(info, "errorstat_", [&](std::string_view prefix, std::string_view value) {
    ErrorStat& s = out.emplace_back();
    s.prefix = prefix;
    ForEachListItem(value, [&](std::string_view k, std::string_view v) {
      if (k == "count") s.count = ParseNumber(v);
    });
  });
  return out;
}

Parsed<Slowlog> ParseSlowlog(const redis::Reply& len, const redis::Reply& get) {
  using R = Parsed<Slowlog>;
  if (len.IsError()) return R::Fail(len.str);
  if (get.IsError()) return R::Fail(get.str);
  if (len.type != redis::Reply::Type::kInteger) {
    return R::Fail(std::string("expected an integer from SLOWLOG LEN, got ") + redis::TypeName(len.type));
  }
  if (!get.IsArray()) {
    return R::Fail(std::string("expected an array from SLOWLOG GET, got ") + redis::TypeName(get.type));
  }
  Slowlog out;
  out.length = static_cast<double>(len.integer);
  if (get.elements.empty()) return R{out, {}};
  // An entry: id, unix time, duration in microseconds, arguments, and (since 4.0) client fields.
  const auto& entry = get.elements[0];
  if (!entry.IsArray() || entry.elements.size() < 3 || entry.elements[0].type != redis::Reply::Type::kInteger ||
      entry.elements[2].type != redis::Reply::Type::kInteger) {
    return R::Fail("expected a slowlog entry (id, time, duration, ...)");
  }
  out.last_id = static_cast<double>(entry.elements[0].integer);
  out.last_duration_seconds = static_cast<double>(entry.elements[2].integer) / 1e6;
  return R{out, {}};
}

std::optional<std::string_view> ServerMode(const FieldMap& info) {
  if (auto mode = info.Get("redis_mode")) return mode;
  return info.Get("server_mode");
}

std::optional<std::string_view> ServerVersion(const FieldMap& info) {
  if (auto version = info.Get("valkey_version")) return version;
  return info.Get("redis_version");
}

bool IsPrimaryRole(std::string_view role) { return role == "master" || role == "primary"; }
bool IsReplicaRole(std::string_view role) { return role == "slave" || role == "replica"; }

}  // namespace rse::collectors
