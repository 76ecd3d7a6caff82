#pragma once

// HTTP/1.x request heads, parsed with nodejs' http-parser (Debian's libhttp-parser). The
// exporter serves GET and HEAD only, so a request is its head: a body, an upgrade or an
// oversized head is refused before the request is handed on. Pure: no I/O, no allocation
// beyond the request's own strings, fuzzed (fuzz/http_request.cpp).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct http_parser;

namespace rse::http {

struct Request {
  std::string method;       // as sent: "GET", "HEAD", ...
  std::string path;         // percent-decoding is left to the handler: "/probe"
  std::string query;        // without '?': "target=a%3A1&master=m"
  bool keep_alive = false;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 with "keep-alive"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string client;  // the peer's address bytes without the port, set by the server: who asks

  // The first header of that (lower-case) name, or null.
  const std::string* Header(std::string_view name) const;
  // The query parameter `name`, percent-decoded ('+' is a space); nullopt when absent or
  // not valid percent-encoding.
  std::optional<std::string> Query(std::string_view name) const;
};

struct Limits {
  std::size_t max_head_bytes = 16 * 1024;  // request line and headers together
  std::size_t max_headers = 64;
};

// Reads one request head at a time from a byte stream. Feed() takes the bytes as they come
// and stops at the end of a head; bytes after it (a pipelined request) are left unconsumed.
// After kComplete, take the request and call Reset() before feeding the next one.
class RequestParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  explicit RequestParser(Limits limits = {});
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes bytes up to the end of the current head; returns how many it used.
  std::size_t Feed(const char* data, std::size_t len);
  State state() const { return state_; }
  // Whether any byte of the current head has arrived (the header timer starts then).
  bool started() const { return head_bytes_ > 0; }
  // After kError: the status to answer with (400, 413, 414, 431, 501, 505) and why.
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }
  // After kComplete.
  Request& request() { return request_; }
  void Reset();

 private:
  static int OnUrl(http_parser* p, const char* at, std::size_t len);
  static int OnHeaderField(http_parser* p, const char* at, std::size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, std::size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnMessageComplete(http_parser* p);
  void Fail(int status, std::string why);
  void ParseHead();

  Limits limits_;
  std::unique_ptr<http_parser> parser_;   // the whole head at once, with callbacks
  std::unique_ptr<http_parser> scanner_;  // the bytes as they come: finds the head's end
  bool scanned_ = false;                  // the scanner has seen the whole head
  std::string head_;                      // the current head's bytes so far
  State state_ = State::kIncomplete;
  std::size_t head_bytes_ = 0;
  int error_status_ = 0;
  std::string error_;
  std::string url_;
  bool in_value_ = false;
  Request request_;
};

}  // namespace rse::http
