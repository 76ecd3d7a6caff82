#include "redis/reply.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>
#include <new>

namespace rse::redis {
namespace {

// hiredis' reader parses RESP and calls these to build each value, so replies are built as
// Reply trees directly instead of as hiredis' redisReply trees copied afterwards.
//
// The reader (hiredis read.c) calls a create function once per value, in stream order, with
// the task whose parent->obj is the enclosing array's object and idx the position in it; what
// it returns becomes the task's obj, and NULL makes the reader fail with "Out of memory".
// Only the root is ever passed to freeObject: by the reader on an error or when it is freed
// holding a partial reply. So a root is a heap Reply, every other value lives inside its
// parent's elements, and freeing the root frees the whole tree.
//
// These run inside C code: nothing may throw out of them.

// The Reply a new value is written into: a new root, or the next element of its parent.
Reply* Place(const redisReadTask* task) noexcept {
  if (task->parent == nullptr) return new (std::nothrow) Reply;
  auto* parent = static_cast<Reply*>(task->parent->obj);
  auto& elements = parent->elements;
  // The reader fills an array in order, exactly as many elements as it announced, for which
  // CreateArray reserved room: emplace_back never reallocates, so the pointers handed to the
  // reader (an array element is the parent of its own elements) stay valid. Anything else
  // would break that, so it fails the reader instead.
  if (task->idx < 0 || static_cast<size_t>(task->idx) != elements.size() || elements.size() == elements.capacity()) {
    return nullptr;
  }
  return &elements.emplace_back();
}

// A value that could not be filled in: a root is ours to delete; an element stays, a nil,
// inside the tree the reader frees when it fails.
void Abandon(const redisReadTask* task, Reply* r) noexcept {
  if (task->parent == nullptr) delete r;
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  Reply* r = Place(task);
  if (r == nullptr) return nullptr;
  switch (task->type) {
    case REDIS_REPLY_STATUS:
      r->type = Reply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      r->type = Reply::Type::kError;
      break;
    default:
      r->type = Reply::Type::kString;
      break;
  }
  try {
    r->str.assign(str, len);
  } catch (...) {
    r->type = Reply::Type::kNil;
    Abandon(task, r);
    return nullptr;
  }
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  // Unbounded, a peer sending "*2147483647" would make us reserve 150 GiB.
  if (elements > RespParser::kMaxArrayElements) return nullptr;  // the reader reports "Out of memory"
  Reply* r = Place(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::kArray;
  try {
    // Capacity only: a large announced count costs address space, not written memory,
    // until its elements actually arrive.
    if (elements > 0) r->elements.reserve(static_cast<size_t>(elements));
  } catch (...) {
    r->type = Reply::Type::kNil;
    Abandon(task, r);
    return nullptr;
  }
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  Reply* r = Place(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::kInteger;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) { return Place(task); }  // a Reply is nil by default

void FreeObject(void* root) { delete static_cast<Reply*>(root); }

redisReplyObjectFunctions g_reply_functions = {&CreateString, &CreateArray, &CreateInteger, &CreateNil, &FreeObject};

// Appends the decimal digits of n.
void AppendNumber(std::string& out, size_t n) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, res.ptr);
}

constexpr size_t DigitCount(size_t n) {
  size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

}  // namespace

const char* TypeName(Reply::Type type) {
  switch (type) {
    case Reply::Type::kString:
      return "bulk string";
    case Reply::Type::kStatus:
      return "status";
    case Reply::Type::kError:
      return "error";
    case Reply::Type::kInteger:
      return "integer";
    case Reply::Type::kNil:
      return "nil";
    case Reply::Type::kArray:
      return "array";
  }
  return "unknown";
}

void RespParser::ReaderDeleter::operator()(redisReader* r) const { redisReaderFree(r); }

RespParser::RespParser() : reader_(redisReaderCreateWithFunctions(&g_reply_functions)) {
  if (!reader_) throw std::bad_alloc();
}

// Only the buffer's documented cursor and length: hiredis' task stack (which would say whether
// a reply is under way) differs between versions, so Next() counts what it parses instead.
std::size_t RespParser::Buffered() const { return reader_->len - reader_->pos; }

bool RespParser::HasUnreadBytes() const { return Buffered() > 0 || in_progress_ > 0; }

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
  // The reader may drop parsed bytes from its buffer (moving pos back to 0), but it keeps the
  // unparsed ones, so the fall in Buffered() is what this call parsed.
  const std::size_t before = Buffered();
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "RESP protocol error";
    return Result::kError;
  }
  if (raw == nullptr) {
    in_progress_ += before - Buffered();
    return Result::kNeedMore;
  }
  // The reader stops at the end of a reply: every byte parsed so far was part of it.
  in_progress_ = 0;
  // A complete root, now ours (the reader has let go of it).
  std::unique_ptr<Reply> reply(static_cast<Reply*>(raw));
  out = std::move(*reply);
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
    case RespParser::Result::kError:
      return fail(parser.Error());
    case RespParser::Result::kNeedMore:
      return fail("incomplete reply");
    case RespParser::Result::kReply:
      break;
  }
  Reply extra;
  if (parser.Next(extra) != RespParser::Result::kNeedMore || parser.HasUnreadBytes()) {
    return fail("more than one reply");
  }
  return true;
}

// The same bytes as hiredis' redisFormatCommandArgv, written straight into the caller's
// buffer: one reservation instead of hiredis' buffer plus the argument arrays and a copy.
void AppendCommand(std::string& out, const std::vector<std::string>& argv) {
  size_t size = 1 + DigitCount(argv.size()) + 2;
  for (const auto& a : argv) size += 1 + DigitCount(a.size()) + 2 + a.size() + 2;
  out.reserve(out.size() + size);
  out += '*';
  AppendNumber(out, argv.size());
  out += "\r\n";
  for (const auto& a : argv) {
    out += '$';
    AppendNumber(out, a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::string out;
  AppendCommand(out, argv);
  return out;
}

}  // namespace rse::redis
