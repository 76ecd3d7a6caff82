#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace rse::redis {

// One RESP2 reply, owned by value, built by hiredis' reader through our own reply functions so
// that nothing outside this layer sees a C pointer or has to free anything.
struct Reply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;              // kString, kStatus, kError
  long long integer = 0;        // kInteger
  std::vector<Reply> elements;  // kArray

  bool IsError() const { return type == Type::kError; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsText() const { return type == Type::kString || type == Type::kStatus; }

  static Reply Error(std::string text) { return Reply{Type::kError, std::move(text), 0, {}}; }
  static Reply String(std::string text) { return Reply{Type::kString, std::move(text), 0, {}}; }
};

// "string", "array", ...: for error messages that say what arrived.
const char* TypeName(Reply::Type type);

// Sans-I/O RESP parser over hiredis' redisReader: feed bytes, take complete replies.
// A protocol error is sticky (hiredis' reader cannot resynchronise): drop the stream.
class RespParser {
 public:
  RespParser();
  ~RespParser();
  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  // False, with Error() set, when the reader refuses the bytes.
  bool Feed(const char* data, std::size_t len);

  enum class Result { kReply, kNeedMore, kError };
  // Takes the next complete reply, if any.
  Result Next(Reply& out);

  const std::string& Error() const { return error_; }

  // Arrays announcing more elements than this fail the reader ("Out of memory") as soon as
  // their count is read: hiredis 0.14 accepts counts up to INT_MAX, and room for the elements
  // is reserved when the count arrives.
  static constexpr int kMaxArrayElements = 1 << 20;
  // Bytes fed but not yet part of a complete reply, whether still buffered or already read
  // into a reply in progress (an array whose first elements have arrived).
  bool HasUnreadBytes() const;

 private:
  struct ReaderDeleter {
    void operator()(redisReader* r) const;
  };
  std::size_t Buffered() const;  // bytes fed that the reader has not parsed yet
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::string error_;
  // Bytes the reader has parsed into a reply not yet complete (an array's header and its first
  // elements): they have left its buffer, so Buffered() no longer counts them.
  std::size_t in_progress_ = 0;
};

// Parses exactly one reply from a complete byte string (recorded fixtures, tests).
// Returns false when the bytes are not one complete, valid reply.
bool ParseOneReply(std::string_view bytes, Reply& out, std::string* error = nullptr);

// Encodes a command as a RESP array of bulk strings (what hiredis' redisFormatCommandArgv
// writes), appended to out: a pipeline of commands is written into one buffer.
void AppendCommand(std::string& out, const std::vector<std::string>& argv);
// The same, as a new string.
std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace rse::redis
