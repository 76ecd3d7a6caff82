// RESP reader: bytes -> replies, through RespParser (hiredis' redisReader).
//
// Input: byte 0 seeds the chunking, the rest is the byte stream a server would send.
// Properties:
//  - feeding the stream in random-sized chunks (draining replies after each) gives exactly
//    the replies, and the same error state, as feeding it at once;
//  - ParseOneReply accepts the stream only when it yields exactly one reply and no error,
//    and returns that reply;
//  - FormatCommand(argv) read back is an array of the same bulk strings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/common.h"
#include "redis/reply.h"

using rse::redis::ParseOneReply;
using rse::redis::Reply;
using rse::redis::RespParser;

namespace {

struct Outcome {
  std::vector<Reply> replies;
  bool error = false;
};

constexpr size_t kMaxReplies = 256;

void Drain(RespParser& p, Outcome& o) {
  while (!o.error && o.replies.size() < kMaxReplies) {
    Reply r;
    auto res = p.Next(r);
    if (res == RespParser::Result::kNeedMore) return;
    if (res == RespParser::Result::kError) {
      FUZZ_CHECK(!p.Error().empty(), "an error without a message");
      o.error = true;
      return;
    }
    o.replies.push_back(std::move(r));
  }
}

Outcome Whole(std::string_view s) {
  RespParser p;
  Outcome o;
  if (!p.Feed(s.data(), s.size())) {
    o.error = true;
    return o;
  }
  Drain(p, o);
  return o;
}

Outcome Chunked(std::string_view s, std::uint8_t seed) {
  RespParser p;
  Outcome o;
  std::uint32_t x = 0x9E3779B9u ^ seed;
  const size_t max_chunk = 1 + (seed % 64);
  while (!s.empty() && !o.error && o.replies.size() < kMaxReplies) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    size_t n = 1 + x % max_chunk;
    if (n > s.size()) n = s.size();
    if (!p.Feed(s.data(), n)) {
      o.error = true;
      break;
    }
    s.remove_prefix(n);
    Drain(p, o);
  }
  Drain(p, o);
  return o;
}

size_t CountElements(const Reply& r) {
  size_t n = 1;
  for (const auto& e : r.elements) n += CountElements(e);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::uint8_t seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  Outcome whole = Whole(stream);
  Outcome chunked = Chunked(stream, seed);
  // Replies stop at kMaxReplies in both; compare what both produced.
  const bool capped = whole.replies.size() >= kMaxReplies || chunked.replies.size() >= kMaxReplies;
  if (!capped) {
    FUZZ_CHECK(whole.replies.size() == chunked.replies.size(), "whole: %zu replies, chunked: %zu",
               whole.replies.size(), chunked.replies.size());
    FUZZ_CHECK(whole.error == chunked.error, "whole error %d, chunked error %d", whole.error, chunked.error);
  }
  for (size_t i = 0; i < whole.replies.size() && i < chunked.replies.size(); ++i) {
    FUZZ_CHECK(rse::fuzz::SameReply(whole.replies[i], chunked.replies[i]), "reply %zu differs", i);
  }
  for (const auto& r : whole.replies) {
    // A reply never has more nodes than the bytes that encoded it (at least 3 per node: "+\r\n").
    FUZZ_CHECK(CountElements(r) <= stream.size() / 3 + 1, "reply larger than its encoding");
    (void)rse::redis::TypeName(r.type);
  }

  Reply one;
  std::string error;
  const bool ok = ParseOneReply(stream, one, &error);
  if (ok) {
    FUZZ_CHECK(!whole.error && whole.replies.size() == 1, "ParseOneReply accepted %zu replies (error %d)",
               whole.replies.size(), whole.error);
    FUZZ_CHECK(rse::fuzz::SameReply(one, whole.replies[0]), "ParseOneReply differs from the stream reading");
  } else {
    FUZZ_CHECK(!error.empty(), "ParseOneReply failed without a message");
  }

  // FormatCommand round trip, with the stream split into arguments at '\n' (NULs stay data).
  std::vector<std::string> argv;
  std::string_view rest = stream;
  while (!rest.empty() && argv.size() < 64) {
    auto nl = rest.find('\n');
    argv.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  if (!argv.empty()) {
    std::string cmd = rse::redis::FormatCommand(argv);
    Reply back;
    FUZZ_CHECK(ParseOneReply(cmd, back, &error), "FormatCommand output does not read back: %s", error.c_str());
    FUZZ_CHECK(back.IsArray() && back.elements.size() == argv.size(), "FormatCommand: wrong shape");
    for (size_t i = 0; i < argv.size(); ++i) {
      FUZZ_CHECK(back.elements[i].type == Reply::Type::kString && back.elements[i].str == argv[i],
                 "FormatCommand: argument %zu changed", i);
    }
  }
  return 0;
}
