#pragma once

// Which credentials go where. A password is sent only to an address the operator named for
// it: the configured topology's passwords (flags) go to the configured topology, and a /probe
// target gets credentials only through a binding of --probe.config.file (YAML):
//
//   bindings:                          # first match wins; a target matching none: no AUTH at all
//     - name: team-a                   # required, unique; appears in logs
//       targets:                       # required: the Sentinels this binding is for
//         - sentinel-*.team-a.svc:26379
//         - 10.1.0.0/16:26379
//       redis:                         # the data nodes' credentials (optional)
//         user: exporter               # optional ACL user
//         password_file: team-a-redis  # relative paths are relative to this file
//         master_password_files:       # per master group, instead of password_file
//           cache: team-a-cache
//       sentinel:                      # the Sentinels' own credentials (optional)
//         user: exporter
//         password_file: team-a-sentinel
//       allowed_addresses:             # optional pin: discovered nodes that may get a password
//         - 10.1.0.0/16
//         - "*.team-a.svc"
//
// Patterns (targets, allowed_addresses, --probe.allowed-targets, --redis.allowed-addresses):
//   HOST[:PORT], where PORT is a number or `*` (absent: any port) and HOST is one of
//   - an IPv4 or IPv6 literal (IPv6 in brackets when a port follows: [fd00::1]:26379);
//   - a CIDR: 10.0.0.0/8, fd00::/8, [fd00::/8]:26379;
//   - a host name glob, case-insensitive, where `*` stands for any run of characters inside
//     one DNS label (it never matches a dot): sentinel-*.prod matches sentinel-0.prod, not
//     sentinel-0.evil.prod.
// IP literals and CIDRs match only addresses given as IP literals, compared as numbers
// (an IPv4-mapped IPv6 address counts as its IPv4 address); globs match only host names.
// A host name never matches a CIDR: that would need a DNS lookup here and another when
// connecting, and the two answers may differ (DNS rebinding).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/address.h"
#include "redis/connection.h"

namespace rse {

class AddressPattern {
 public:
  // Returns nullopt with `error` set (naming the pattern and what is wrong).
  static std::optional<AddressPattern> Parse(std::string_view text, std::string& error);

  bool Matches(const redis::Address& address) const;
  const std::string& text() const { return text_; }
  // An IP literal or CIDR (matches only IP literals); else a host glob (matches only names).
  bool network() const { return kind_ == Kind::kNetwork; }

 private:
  enum class Kind { kHostGlob, kNetwork };
  Kind kind_ = Kind::kHostGlob;
  std::string glob_;                   // kHostGlob: lower case, no trailing dot
  bool v6_ = false;                    // kNetwork: the family
  std::uint8_t network_[16]{};         // kNetwork: the address bytes (4 used for IPv4), host bits zero
  int prefix_ = 0;                     // kNetwork: prefix length in bits
  std::optional<std::uint16_t> port_;  // nullopt: any port
  std::string text_;
};

bool MatchesAny(const std::vector<AddressPattern>& patterns, const redis::Address& address);

// Patterns from flag values: each repeatable value may hold several, comma-separated.
// Returns nullopt with `error` set, prefixed with `what`.
std::optional<std::vector<AddressPattern>> ParsePatterns(const std::vector<std::string>& values,
                                                         const std::string& what, std::string& error);

// One binding of --probe.config.file: the credentials a /probe target matching `targets` uses.
struct ProbeBinding {
  std::string name;
  std::vector<AddressPattern> targets;
  redis::Credentials redis_credentials;
  std::map<std::string, redis::Credentials> group_credentials;  // per master group
  redis::Credentials sentinel_credentials;
  // Discovered nodes (data nodes, peer Sentinels) that may receive a password; empty: any.
  std::vector<AddressPattern> allowed_addresses;
};

struct ProbeConfig {
  std::vector<ProbeBinding> bindings;

  // The first binding whose targets match `target`; null when none does.
  const ProbeBinding* Match(const redis::Address& target) const;
};

// Parses and validates the YAML text; secret files are read now, relative to `base_dir`.
// Unknown keys and bad values are errors naming the key. Returns nullopt with `error` set.
std::optional<ProbeConfig> ParseProbeConfig(const std::string& yaml, const std::string& base_dir, std::string& error);
// The same for a file; errors start with "--probe.config.file: ".
std::optional<ProbeConfig> LoadProbeConfig(const std::string& path, std::string& error);

// A secret file's first line; a trailing newline written by editors or `echo` is not part
// of it. Returns nullopt with `error` set (naming `what` and the path, never the content).
std::optional<std::string> ReadSecretFile(const std::string& path, const std::string& what, std::string& error);

}  // namespace rse
