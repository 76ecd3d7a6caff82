#include "exporter/probe_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace rse {
namespace {

struct Invalid {
  std::string message;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An IP literal as bytes: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for IPv6; 0 when `host`
// is not an IP literal. inet_pton takes only the canonical dotted quad (no octal or hex parts,
// no shortened forms), so what it rejects is left to host name globs.
int IpBytes(const std::string& host, std::uint8_t out[16]) {
  if (inet_pton(AF_INET, host.c_str(), out) == 1) return 4;
  if (inet_pton(AF_INET6, host.c_str(), out) != 1) return 0;
  static const std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out, kMapped, sizeof(kMapped)) == 0) {
    std::memmove(out, out + 12, 4);
    return 4;
  }
  return 16;
}

// One DNS label against one glob label: `*` is any run of characters (labels hold no dots).
bool LabelMatch(std::string_view pattern, std::string_view label) {
  size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < label.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == label[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string_view> Labels(std::string_view name) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    out.push_back(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string_view WithoutTrailingDot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool GlobMatch(std::string_view glob, std::string_view host) {
  auto p = Labels(glob);
  auto h = Labels(WithoutTrailingDot(host));
  if (p.size() != h.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!LabelMatch(p[i], h[i])) return false;
  }
  return true;
}

std::string Path(const std::string& value, const std::string& base_dir) {
  if (!value.empty() && value.front() != '/') return base_dir + "/" + value;
  return value;
}

void OnlyKeys(const YAML::Node& node, const std::string& where, const std::set<std::string>& allowed) {
  if (!node.IsMap()) throw Invalid{where + ": expected a mapping"};
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (!allowed.count(key)) throw Invalid{where + ": unknown key '" + key + "'"};
  }
}

std::string Scalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) throw Invalid{where + ": expected a string"};
  auto value = node.as<std::string>();
  if (value.empty()) throw Invalid{where + ": must not be empty"};
  return value;
}

std::vector<AddressPattern> PatternList(const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) throw Invalid{where + ": expected a list of patterns"};
  std::vector<AddressPattern> out;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item = where + "[" + std::to_string(i) + "]";
    std::string error;
    auto pattern = AddressPattern::Parse(Scalar(node[i], item), error);
    if (!pattern) throw Invalid{item + ": " + error};
    out.push_back(std::move(*pattern));
  }
  return out;
}

std::string Secret(const std::string& path, const std::string& where) {
  std::string error;
  auto secret = ReadSecretFile(path, where, error);
  if (!secret) throw Invalid{error};
  return *secret;
}

// `redis:` or `sentinel:` of a binding.
void ReadCredentials(const YAML::Node& node, const std::string& where, const std::string& base_dir, bool per_group,
                     redis::Credentials& creds, std::map<std::string, redis::Credentials>* groups) {
  std::set<std::string> keys = {"user", "password_file"};
  if (per_group) keys.insert("master_password_files");
  OnlyKeys(node, where, keys);
  if (node["user"]) creds.user = Scalar(node["user"], where + ".user");
  if (node["password_file"]) {
    creds.password =
        Secret(Path(Scalar(node["password_file"], where + ".password_file"), base_dir), where + ".password_file");
  }
  if (per_group && node["master_password_files"]) {
    const auto files = node["master_password_files"];
    const std::string at = where + ".master_password_files";
    if (!files.IsMap()) throw Invalid{at + ": expected a mapping of master name to file"};
    for (const auto& kv : files) {
      const std::string name = kv.first.as<std::string>();
      const std::string item = at + "." + name;
      (*groups)[name] = {creds.user, Secret(Path(Scalar(kv.second, item), base_dir), item)};
    }
  }
  if (!creds.user.empty() && creds.password.empty() && (!groups || groups->empty())) {
    throw Invalid{where + ".user needs " + where + ".password_file"};
  }
}

}  // namespace

std::optional<AddressPattern> AddressPattern::Parse(std::string_view text, std::string& error) {
  AddressPattern out;
  out.text_ = std::string(text);
  auto fail = [&](const std::string& why) {
    error = "'" + out.text_ + "': " + why;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty pattern");
  std::string_view host = text, port;
  bool bracketed = false;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("no closing ']'");
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return fail("expected ':PORT' after ']'");
    if (!rest.empty()) port = rest.substr(1);
    bracketed = true;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return fail("empty port");
  }
  if (!port.empty() && port != "*") {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return fail("port must be 1 to 65535 or *");
    }
    out.port_ = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) return fail("empty host");

  const size_t slash = host.find('/');
  const std::string ip(host.substr(0, slash));
  const int bytes = IpBytes(ip, out.network_);
  if (bytes == 4 && ip.find(':') != std::string::npos) return fail("write an IPv4-mapped address as IPv4");
  if (bytes != 0) {
    out.kind_ = Kind::kNetwork;
    out.v6_ = bytes == 16;
    out.prefix_ = bytes * 8;
    if (slash != std::string_view::npos) {
      const auto len = host.substr(slash + 1);
      int value = -1;
      auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), value);
      if (len.empty() || ec != std::errc() || end != len.data() + len.size() || value < 0 || value > bytes * 8) {
        return fail("prefix length must be 0 to " + std::to_string(bytes * 8));
      }
      out.prefix_ = value;
    }
    // Clear the host bits, so 10.1.2.3/8 means 10.0.0.0/8 (as Go's net.ParseCIDR reads it).
    for (int i = 0; i < 16; ++i) {
      const int keep = std::clamp(out.prefix_ - i * 8, 0, 8);
      out.network_[i] &= static_cast<std::uint8_t>(0xff00 >> keep);
    }
    return out;
  }
  if (slash != std::string_view::npos) return fail("not a CIDR (IP address/prefix length)");
  if (bracketed) return fail("brackets hold an IPv6 address or CIDR");
  if (host.find(':') != std::string_view::npos) return fail("an IPv6 address with a port needs brackets");
  out.glob_ = Lower(WithoutTrailingDot(host));
  bool name_char = false;
  for (char c : out.glob_) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '*') {
      return fail("a host name may hold letters, digits, '-', '_', '.' and '*'");
    }
    name_char = name_char || std::isalpha(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  }
  for (auto label : Labels(out.glob_)) {
    if (label.empty()) return fail("empty label in host name");
  }
  if (!name_char) return fail("looks like an IP address pattern: write a CIDR such as 10.0.0.0/24");
  out.kind_ = Kind::kHostGlob;
  return out;
}

bool AddressPattern::Matches(const redis::Address& address) const {
  if (port_ && *port_ != address.port) return false;
  std::uint8_t bytes[16];
  const int n = IpBytes(address.host, bytes);
  if (kind_ == Kind::kHostGlob) return n == 0 && GlobMatch(glob_, Lower(address.host));
  if (n != (v6_ ? 16 : 4)) return false;
  for (int i = 0; i < n; ++i) {
    const int keep = std::clamp(prefix_ - i * 8, 0, 8);
    const auto mask = static_cast<std::uint8_t>(0xff00 >> keep);
    if ((bytes[i] & mask) != network_[i]) return false;
  }
  return true;
}

bool MatchesAny(const std::vector<AddressPattern>& patterns, const redis::Address& address) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const auto& p) { return p.Matches(address); });
}

std::optional<std::vector<AddressPattern>> ParsePatterns(const std::vector<std::string>& values,
                                                         const std::string& what, std::string& error) {
  std::vector<AddressPattern> out;
  for (const auto& value : values) {
    std::stringstream ss(value);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item.empty()) continue;
      auto pattern = AddressPattern::Parse(item, error);
      if (!pattern) {
        error = what + ": " + error;
        return std::nullopt;
      }
      out.push_back(std::move(*pattern));
    }
  }
  return out;
}

const ProbeBinding* ProbeConfig::Match(const redis::Address& target) const {
  for (const auto& b : bindings) {
    if (MatchesAny(b.targets, target)) return &b;
  }
  return nullptr;
}

std::optional<std::string> ReadSecretFile(const std::string& path, const std::string& what, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = what + ": cannot read " + path;
    return std::nullopt;
  }
  std::string secret;
  std::getline(in, secret);
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    error = what + ": " + path + " is empty";
    return std::nullopt;
  }
  return secret;
}

std::optional<ProbeConfig> ParseProbeConfig(const std::string& yaml, const std::string& base_dir, std::string& error) {
  ProbeConfig cfg;
  try {
    YAML::Node root = YAML::Load(yaml);
    if (!root || root.IsNull()) return cfg;  // an empty file: no bindings
    OnlyKeys(root, "top level", {"bindings"});
    const auto bindings = root["bindings"];
    if (!bindings || bindings.IsNull()) return cfg;
    if (!bindings.IsSequence()) throw Invalid{"bindings: expected a list"};
    std::set<std::string> names;
    for (size_t i = 0; i < bindings.size(); ++i) {
      const auto node = bindings[i];
      std::string where = "bindings[" + std::to_string(i) + "]";
      OnlyKeys(node, where, {"name", "targets", "redis", "sentinel", "allowed_addresses"});
      ProbeBinding b;
      if (!node["name"]) throw Invalid{where + ": name is required"};
      b.name = Scalar(node["name"], where + ".name");
      if (!names.insert(b.name).second) throw Invalid{where + ".name: '" + b.name + "' is used twice"};
      where = "bindings." + b.name;
      if (!node["targets"]) throw Invalid{where + ": targets is required"};
      b.targets = PatternList(node["targets"], where + ".targets");
      if (b.targets.empty()) throw Invalid{where + ".targets: at least one pattern is required"};
      if (node["redis"]) {
        ReadCredentials(node["redis"], where + ".redis", base_dir, true, b.redis_credentials, &b.group_credentials);
      }
      if (node["sentinel"]) {
        ReadCredentials(node["sentinel"], where + ".sentinel", base_dir, false, b.sentinel_credentials, nullptr);
      }
      if (node["allowed_addresses"]) {
        b.allowed_addresses = PatternList(node["allowed_addresses"], where + ".allowed_addresses");
        if (b.allowed_addresses.empty()) {
          throw Invalid{where +
                        ".allowed_addresses: an empty list would allow no node; leave the key out to allow any"};
        }
      }
      cfg.bindings.push_back(std::move(b));
    }
  } catch (const Invalid& e) {
    error = e.message;
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    error = e.what();
    return std::nullopt;
  }
  return cfg;
}

std::optional<ProbeConfig> LoadProbeConfig(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "--probe.config.file: cannot read " + path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string base_dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  auto cfg = ParseProbeConfig(text.str(), base_dir, error);
  if (!cfg) error = "--probe.config.file: " + path + ": " + error;
  return cfg;
}

}  // namespace rse
