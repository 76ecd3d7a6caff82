// INFO text: ParseInfo, ParseInfoList, ParseConnectedReplicas, ParseKeyspace, ParseNumber,
// SplitFlags/HasFlag.
//
// Input: the INFO payload (what the bulk string of an INFO reply carries).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collectors/parse.h"
#include "fuzz/common.h"

using namespace rse::collectors;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FieldMap info = ParseInfo(text);

  for (const auto& [key, value] : info) {
    FUZZ_CHECK(!key.empty(), "empty key");
    FUZZ_CHECK(key.find(':') == std::string::npos, "key with a colon");
    FUZZ_CHECK(key.find('\n') == std::string::npos && value.find('\n') == std::string::npos, "newline kept");
    FUZZ_CHECK(key.front() != '#' && key.front() != ' ', "header or leading space in key");
    FUZZ_CHECK(key.size() + value.size() < size, "field longer than the input");
    FUZZ_CHECK(text.find(key) != std::string_view::npos, "key not from the input");

    FieldMap list = ParseInfoList(value);
    for (const auto& [k, v] : list) {
      FUZZ_CHECK(!k.empty() && k.find(',') == std::string::npos && k.find('=') == std::string::npos,
                 "bad list key");
      FUZZ_CHECK(v.find(',') == std::string::npos, "list value with a comma");
    }

    if (auto n = ParseNumber(value)) FUZZ_CHECK(std::isfinite(*n), "non-finite number");
    auto flags = SplitFlags(value);
    for (const auto& f : flags) {
      FUZZ_CHECK(!f.empty() && f.find(',') == std::string::npos, "bad flag");
      FUZZ_CHECK(HasFlag(value, f), "SplitFlags gave a flag HasFlag denies");
    }
  }

  for (const auto& r : ParseConnectedReplicas(info)) {
    FUZZ_CHECK(!r.address.host.empty() && r.address.port != 0, "bad replica address");
    auto back = rse::redis::ParseAddress(r.address.ToString());
    FUZZ_CHECK(back && *back == r.address, "replica address does not round-trip: %s",
               r.address.ToString().c_str());
    if (r.offset) FUZZ_CHECK(std::isfinite(*r.offset), "offset");
    if (r.lag_seconds) FUZZ_CHECK(std::isfinite(*r.lag_seconds), "lag");
  }
  for (const auto& e : ParseKeyspace(info)) {
    FUZZ_CHECK(e.db.size() > 2 && e.db.compare(0, 2, "db") == 0, "bad db name");
    FUZZ_CHECK(info.count(e.db) == 1, "db not an INFO field");
    if (e.keys) FUZZ_CHECK(std::isfinite(*e.keys), "keys");
    if (e.expires) FUZZ_CHECK(std::isfinite(*e.expires), "expires");
  }

  // ParseNumber and ParseInfoList on the raw input too (values are single lines in INFO,
  // but SENTINEL fields are arbitrary bulk strings).
  if (auto n = ParseNumber(text)) FUZZ_CHECK(std::isfinite(*n), "non-finite number");
  (void)ParseInfoList(text);
  return 0;
}
