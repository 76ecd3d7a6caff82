// SENTINEL reply shapes: bytes -> ParseOneReply (or the lenient decoder when the bytes are not
// exactly one valid reply) -> ParseFieldArray (SENTINEL MASTER) and ParseFieldArrays
// (SENTINEL MASTERS / REPLICAS / SENTINELS), then what the collectors read from the fields:
// AddressOf, SplitFlags/HasFlag, ParseNumber.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz/common.h"
#include "model/parse.h"

using namespace rse::collectors;
using rse::redis::Reply;

namespace {

void CheckFields(const FieldMap& fields) {
  for (const char* host_field : {"ip", "master-host", "master_host"}) {
    for (const char* port_field : {"port", "master-port", "master_port"}) {
      if (auto addr = AddressOf(fields, host_field, port_field)) {
        FUZZ_CHECK(!addr->host.empty() && addr->port != 0, "bad address");
        auto back = rse::redis::ParseAddress(addr->ToString());
        FUZZ_CHECK(back && *back == *addr, "address does not round-trip: %s", addr->ToString().c_str());
      }
    }
  }
  for (const auto& [name, value] : fields) {
    if (auto n = ParseNumber(value)) FUZZ_CHECK(std::isfinite(*n), "non-finite number");
  }
  if (auto flags = Field(fields, "flags")) {
    for (const auto& f : SplitFlags(*flags)) FUZZ_CHECK(HasFlag(*flags, f), "flag lost");
    (void)HasFlag(*flags, "s_down");
    (void)HasFlag(*flags, "o_down");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Reply reply = rse::fuzz::AnyReply(bytes);

  auto one = ParseFieldArray(reply);
  if (one.ok()) {
    FUZZ_CHECK(reply.IsArray() && reply.elements.size() % 2 == 0, "accepted a non-pair array");
    FUZZ_CHECK(one.value->size() <= reply.elements.size() / 2, "more fields than pairs");
    for (size_t i = 0; i < reply.elements.size(); i += 2) {
      FUZZ_CHECK(one.value->count(reply.elements[i].str) == 1, "a name went missing");
    }
    // The same fields, in the same order, as the std::map FieldMap replaced: the last of
    // duplicate names wins, names ascend.
    std::map<std::string, std::string> ref;
    for (size_t i = 0; i < reply.elements.size(); i += 2) {
      ref.insert_or_assign(reply.elements[i].str, reply.elements[i + 1].str);
    }
    FUZZ_CHECK(one.value->size() == ref.size(), "%zu fields, expected %zu", one.value->size(), ref.size());
    auto it = ref.begin();
    for (const auto& [name, value] : *one.value) {
      FUZZ_CHECK(name == it->first && value == it->second, "field %s differs", rse::fuzz::Printable(it->first).c_str());
      ++it;
    }
    const FieldMap copy = *one.value;
    FUZZ_CHECK(copy == *one.value, "a copy differs");
    CheckFields(*one.value);
  } else {
    FUZZ_CHECK(reply.IsError() || !one.error.empty(), "failed without a reason");
  }

  auto many = ParseFieldArrays(reply);
  if (many.ok()) {
    FUZZ_CHECK(reply.IsArray() && many.value->size() == reply.elements.size(), "element count changed");
    for (const auto& fields : *many.value) CheckFields(fields);
  } else {
    FUZZ_CHECK(reply.IsError() || !many.error.empty(), "failed without a reason");
  }
  return 0;
}
