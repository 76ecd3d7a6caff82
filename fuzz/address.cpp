// Addresses: ParseAddress and MakeAddress, with the round-trip property
// ParseAddress(a.ToString()) == a for every address either accepts.
//
// Input: the whole input is given to ParseAddress; split at its first '\0' (or, with none, at
// the last ':') it is also given to MakeAddress as (host, port).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/common.h"
#include "redis/address.h"

using rse::redis::Address;
using rse::redis::MakeAddress;
using rse::redis::ParseAddress;

namespace {

void CheckValid(const Address& a, std::string_view from) {
  FUZZ_CHECK(!a.host.empty(), "empty host from '%.*s'", static_cast<int>(from.size()), from.data());
  FUZZ_CHECK(a.port != 0, "port 0 from '%.*s'", static_cast<int>(from.size()), from.data());
  for (char c : a.host) {
    FUZZ_CHECK(c != '[' && c != ']' && c != '/' && static_cast<unsigned char>(c) > 0x20, "bad host byte");
  }
  const std::string s = a.ToString();
  auto back = ParseAddress(s);
  FUZZ_CHECK(back.has_value(), "'%s' does not parse back", s.c_str());
  FUZZ_CHECK(*back == a, "'%s' parses back as '%s'", s.c_str(), back->ToString().c_str());
  FUZZ_CHECK(back->ToString() == s, "ToString not stable");
  // The host and port fields of the label form give the same address back.
  auto remade = MakeAddress(a.host, std::to_string(a.port));
  FUZZ_CHECK(remade && *remade == a, "MakeAddress(host, port) differs for '%s'", s.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto a = ParseAddress(text)) {
    CheckValid(*a, text);
    // Only canonical forms may differ from the input: leading zeros in the port, [brackets].
    FUZZ_CHECK(a->ToString().size() <= text.size() + 2, "ToString much longer than the input");
  }

  auto split = text.find('\0');
  if (split == std::string_view::npos) split = text.rfind(':');
  if (split != std::string_view::npos) {
    auto host = text.substr(0, split);
    auto port = text.substr(split + 1);
    if (auto a = MakeAddress(host, port)) CheckValid(*a, text);
  }
  return 0;
}
