#include "collectors/parse.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace rse::collectors {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Digits after "slave" / "db": the numbered INFO keys.
bool IsNumberedKey(std::string_view key, std::string_view prefix) {
  if (!StartsWith(key, prefix) || key.size() == prefix.size()) return false;
  for (char c : key.substr(prefix.size())) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

FieldMap ParseInfo(std::string_view text) {
  FieldMap out;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.insert_or_assign(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

FieldMap ParseInfoList(std::string_view value) {
  FieldMap out;
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.insert_or_assign(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return out;
}

Parsed<FieldMap> ParseFieldArray(const redis::Reply& reply) {
  using R = Parsed<FieldMap>;
  if (reply.IsError()) return R::Fail(reply.str);
  if (!reply.IsArray()) {
    return R::Fail(std::string("expected an array of name/value pairs, got ") +
                   redis::TypeName(reply.type));
  }
  if (reply.elements.size() % 2 != 0) {
    return R::Fail("expected an even number of elements, got " + std::to_string(reply.elements.size()));
  }
  FieldMap out;
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    const auto& k = reply.elements[i];
    const auto& v = reply.elements[i + 1];
    if (!k.IsText() || !v.IsText()) {
      return R::Fail(std::string("expected string name/value pairs, got ") + redis::TypeName(k.type) +
                     "/" + redis::TypeName(v.type));
    }
    out.insert_or_assign(k.str, v.str);
  }
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
  if (reply.type == redis::Reply::Type::kStatus && StartsWith(text, "OK")) {
    out.ok = true;
    text.remove_prefix(2);
  } else if (reply.IsError() && StartsWith(text, "NOQUORUM")) {
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

std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') {
    text.remove_prefix(1);
    if (text.empty() || text.front() == '-') return std::nullopt;
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
  for (const auto& f : SplitFlags(flags)) {
    if (f == flag) return true;
  }
  return false;
}

std::optional<std::string_view> Field(const FieldMap& fields, std::string_view name) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<redis::Address> AddressOf(const FieldMap& fields, std::string_view host_field,
                                        std::string_view port_field) {
  auto ip = Field(fields, host_field);
  auto port = Field(fields, port_field);
  if (!ip || !port) return std::nullopt;
  return redis::MakeAddress(*ip, *port);
}

std::vector<ConnectedReplica> ParseConnectedReplicas(const FieldMap& info) {
  std::vector<ConnectedReplica> out;
  for (const auto& [key, value] : info) {
    if (!IsNumberedKey(key, "slave")) continue;
    auto fields = ParseInfoList(value);
    auto ip = Field(fields, "ip");
    auto port = Field(fields, "port");
    if (!ip || !port) continue;
    auto addr = redis::MakeAddress(*ip, *port);
    if (!addr) continue;
    // A replica that reconnected before its old link was dropped is listed twice: keep one.
    bool listed = false;
    for (const auto& seen : out) listed = listed || seen.address == *addr;
    if (listed) continue;
    ConnectedReplica r{*addr, std::string(Field(fields, "state").value_or("")), std::nullopt, std::nullopt};
    if (auto v = Field(fields, "offset")) r.offset = ParseNumber(*v);
    if (auto v = Field(fields, "lag")) r.lag_seconds = ParseNumber(*v);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<KeyspaceEntry> ParseKeyspace(const FieldMap& info) {
  std::vector<KeyspaceEntry> out;
  for (const auto& [key, value] : info) {
    if (!IsNumberedKey(key, "db")) continue;
    auto fields = ParseInfoList(value);
    KeyspaceEntry e{key, std::nullopt, std::nullopt};
    if (auto v = Field(fields, "keys")) e.keys = ParseNumber(*v);
    if (auto v = Field(fields, "expires")) e.expires = ParseNumber(*v);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace rse::collectors
