// RESP reader: bytes -> replies, through RespParser (hiredis' redisReader).
//
// Input: byte 0 seeds the chunking, the rest is the byte stream a server would send.
// Properties:
//  - feeding the stream in random-sized chunks (draining replies after each) gives exactly
//    the replies, and the same error state, as feeding it at once;
//  - the replies and the error are those of hiredis' own reader building its own redisReply
//    objects (with the same array bound), converted: RespParser builds Reply trees through
//    its own reply functions and must not differ from hiredis in anything;
//  - ParseOneReply accepts the stream only when it yields exactly one reply and no error,
//    and returns that reply;
//  - FormatCommand(argv) read back is an array of the same bulk strings, byte for byte what
//    hiredis' redisFormatCommandArgv writes; AppendCommand appends exactly that.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <memory>
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
  std::string error_text;
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
      o.error_text = p.Error();
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

// The reference: hiredis' default reply functions, arrays bounded like RespParser's.
void* (*g_default_create_array)(const redisReadTask*, int) = nullptr;
void* BoundedDefaultArray(const redisReadTask* task, int elements) {
  if (elements > RespParser::kMaxArrayElements) return nullptr;
  return g_default_create_array(task, elements);
}

Reply FromHiredis(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out = Reply{Reply::Type::kString, std::string(r->str, r->len), 0, {}};
      break;
    case REDIS_REPLY_STATUS:
      out = Reply{Reply::Type::kStatus, std::string(r->str, r->len), 0, {}};
      break;
    case REDIS_REPLY_ERROR:
      out = Reply{Reply::Type::kError, std::string(r->str, r->len), 0, {}};
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger, out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(r->element[i] == nullptr ? Reply{} : FromHiredis(r->element[i]));
      }
      break;
    default:
      break;  // nil
  }
  return out;
}

Outcome Reference(std::string_view s) {
  struct Free {
    void operator()(redisReader* r) const { redisReaderFree(r); }
  };
  std::unique_ptr<redisReader, Free> reader(redisReaderCreate());
  FUZZ_CHECK(reader != nullptr, "redisReaderCreate failed");
  static redisReplyObjectFunctions bounded = [&] {
    redisReplyObjectFunctions f = *reader->fn;
    g_default_create_array = f.createArray;
    f.createArray = &BoundedDefaultArray;
    return f;
  }();
  reader->fn = &bounded;
  Outcome o;
  if (redisReaderFeed(reader.get(), s.data(), s.size()) != REDIS_OK) {
    o.error = true;
    return o;
  }
  while (o.replies.size() < kMaxReplies) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      o.error = true;
      o.error_text = reader->errstr;
      break;
    }
    if (raw == nullptr) break;
    o.replies.push_back(FromHiredis(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return o;
}

std::string HiredisFormat(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  char* target = nullptr;
  const int len = redisFormatCommandArgv(&target, static_cast<int>(args.size()), args.data(), lens.data());
  FUZZ_CHECK(len >= 0 && target != nullptr, "redisFormatCommandArgv failed");
  std::string out(target, static_cast<size_t>(len));
  redisFreeCommand(target);
  return out;
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
    FUZZ_CHECK(whole.replies.size() == chunked.replies.size(), "whole: %zu replies, chunked: %zu", whole.replies.size(),
               chunked.replies.size());
    FUZZ_CHECK(whole.error == chunked.error, "whole error %d, chunked error %d", whole.error, chunked.error);
  }
  for (size_t i = 0; i < whole.replies.size() && i < chunked.replies.size(); ++i) {
    FUZZ_CHECK(rse::fuzz::SameReply(whole.replies[i], chunked.replies[i]), "reply %zu differs", i);
  }
  const Outcome reference = Reference(stream);
  FUZZ_CHECK(whole.replies.size() == reference.replies.size(), "%zu replies, hiredis' own reader: %zu",
             whole.replies.size(), reference.replies.size());
  FUZZ_CHECK(whole.error == reference.error && whole.error_text == reference.error_text,
             "error %d '%s', hiredis' own reader: %d '%s'", whole.error, whole.error_text.c_str(), reference.error,
             reference.error_text.c_str());
  for (size_t i = 0; i < whole.replies.size(); ++i) {
    FUZZ_CHECK(rse::fuzz::SameReply(whole.replies[i], reference.replies[i]), "reply %zu differs from hiredis' own", i);
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
    FUZZ_CHECK(cmd == HiredisFormat(argv), "FormatCommand differs from redisFormatCommandArgv");
    std::string appended(stream.substr(0, seed % 8));
    const std::string prefix = appended;
    rse::redis::AppendCommand(appended, argv);
    FUZZ_CHECK(appended == prefix + cmd, "AppendCommand differs from FormatCommand");
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
