#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rse::redis {

// A TCP endpoint as Redis and Sentinel name it: a host (IPv4, IPv6 or a name) and a port.
struct Address {
  std::string host;
  std::uint16_t port = 0;

  // "host:port", or "[v6]:port" for IPv6 literals: the form used in metric labels.
  std::string ToString() const;

  bool operator==(const Address&) const = default;
  auto operator<=>(const Address&) const = default;
};

// Parses "host:port" or "[v6]:port"; an unbracketed IPv6 literal is rejected as ambiguous.
// Returns nullopt for anything else (no port, port out of range, empty host).
std::optional<Address> ParseAddress(std::string_view text);

// Builds an address from separate host and port fields (as SENTINEL replies give them).
std::optional<Address> MakeAddress(std::string_view host, std::string_view port);

}  // namespace rse::redis
