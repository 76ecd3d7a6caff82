#include "redis/reply.h"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <stdexcept>

namespace rse::redis {
namespace {

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        if (r->element[i] == nullptr) {
          out.elements.emplace_back();  // nil element
        } else {
          out.elements.push_back(Convert(r->element[i]));
        }
      }
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

// hiredis 0.14 allocates an array's element pointers as soon as it reads the count, so a peer
// sending "*2147483647" would cost 16 GiB of address space and seconds of CPU to free, and it
// has no limit of its own. Arrays past this many elements make the reader fail instead.
constexpr int kMaxArrayElements = 1 << 20;
void* (*g_create_array)(const redisReadTask*, int) = nullptr;
void* CreateBoundedArray(const redisReadTask* task, int elements) {
  if (elements > kMaxArrayElements) return nullptr;  // the reader reports "Out of memory"
  return g_create_array(task, elements);
}

}  // namespace

const char* TypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kString: return "bulk string";
    case Reply::Type::kStatus: return "status";
    case Reply::Type::kError: return "error";
    case Reply::Type::kInteger: return "integer";
    case Reply::Type::kNil: return "nil";
    case Reply::Type::kArray: return "array";
  }
  return "unknown";
}

void RespParser::ReaderDeleter::operator()(redisReader* r) const { redisReaderFree(r); }

RespParser::RespParser() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
  // The default functions, with array creation bounded (see CreateBoundedArray).
  static redisReplyObjectFunctions bounded = [this] {
    redisReplyObjectFunctions f = *reader_->fn;
    g_create_array = f.createArray;
    f.createArray = &CreateBoundedArray;
    return f;
  }();
  reader_->fn = &bounded;
}

bool RespParser::HasUnreadBytes() const { return reader_->pos < reader_->len; }

RespParser::~RespParser() = default;

bool RespParser::Feed(const char* data, std::size_t len) {
  if (redisReaderFeed(reader_.get(), data, len) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "RESP reader refused input";
    return false;
  }
  return true;
}

RespParser::Result RespParser::Next(Reply& out) {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "RESP protocol error";
    return Result::kError;
  }
  if (raw == nullptr) return Result::kNeedMore;
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
  out = Convert(reply.get());
  return Result::kReply;
}

bool ParseOneReply(std::string_view bytes, Reply& out, std::string* error) {
  RespParser parser;
  auto fail = [&](std::string why) {
    if (error) *error = std::move(why);
    return false;
  };
  if (!parser.Feed(bytes.data(), bytes.size())) return fail(parser.Error());
  switch (parser.Next(out)) {
    case RespParser::Result::kError: return fail(parser.Error());
    case RespParser::Result::kNeedMore: return fail("incomplete reply");
    case RespParser::Result::kReply: break;
  }
  Reply extra;
  if (parser.Next(extra) != RespParser::Result::kNeedMore || parser.HasUnreadBytes()) {
    return fail("more than one reply");
  }
  return true;
}

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  char* target = nullptr;
  int len = redisFormatCommandArgv(&target, static_cast<int>(args.size()), args.data(), lens.data());
  if (len < 0 || target == nullptr) throw std::bad_alloc();
  std::string out(target, static_cast<size_t>(len));
  redisFreeCommand(target);
  return out;
}

}  // namespace rse::redis
