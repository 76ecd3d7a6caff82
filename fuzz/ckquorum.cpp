// SENTINEL CKQUORUM: bytes -> reply -> ParseCkquorum.
//
// The bytes are read as one reply (hiredis, else the lenient decoder); they are also used as
// the text of a status and of an error reply directly, so that the text parsing is explored
// without RESP framing in the way.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/common.h"
#include "model/parse.h"

using namespace rse::collectors;
using rse::redis::Reply;

namespace {

void Check(const Reply& reply) {
  auto ck = ParseCkquorum(reply);
  if (!ck.ok()) return;
  const bool status_ok = reply.type == Reply::Type::kStatus && reply.str.compare(0, 2, "OK") == 0;
  const bool noquorum = reply.type == Reply::Type::kError && reply.str.compare(0, 8, "NOQUORUM") == 0;
  FUZZ_CHECK(status_ok || noquorum, "accepted something that is neither +OK nor -NOQUORUM");
  FUZZ_CHECK(ck.value->ok == status_ok, "ok is %d for a %s", ck.value->ok, rse::redis::TypeName(reply.type));
  if (ck.value->usable_sentinels) FUZZ_CHECK(std::isfinite(*ck.value->usable_sentinels), "non-finite count");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(rse::fuzz::AnyReply(bytes));

  Reply text;
  text.str = std::string(bytes);
  for (auto type : {Reply::Type::kStatus, Reply::Type::kError, Reply::Type::kString}) {
    text.type = type;
    Check(text);
  }
  return 0;
}
