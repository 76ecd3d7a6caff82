#include "redis/address.h"

#include <charconv>

namespace rse::redis {

std::string Address::ToString() const {
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::optional<Address> MakeAddress(std::string_view host, std::string_view port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || port.empty()) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  for (char c : host) {
    if (c == ' ' || c == '/' || c == '[' || c == ']' || static_cast<unsigned char>(c) < 0x21) {
      return std::nullopt;
    }
  }
  return Address{std::string(host), static_cast<std::uint16_t>(value)};
}

std::optional<Address> ParseAddress(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    auto host = text.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos) return std::nullopt;
    return MakeAddress(host, text.substr(close + 2));
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  // An unbracketed IPv6 literal would make the port ambiguous.
  if (host.find(':') != std::string_view::npos) return std::nullopt;
  return MakeAddress(host, text.substr(colon + 1));
}

}  // namespace rse::redis
