#pragma once

// A minimal HTTP/1.1 client for GET requests to the exporter's own endpoints (`check` reads a
// running exporter's /events). The socket, the deadline and TLS are the connection layer's
// (redis/connection.h); the response is parsed by nodejs' http-parser. Bounded in time (one
// deadline for the whole request) and in size (a body cap). URL parsing and response parsing
// are pure and fuzzed (fuzz/http_response.cpp); Get() is the only part that does I/O.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/address.h"
#include "redis/connection.h"
#include "redis/tls.h"

struct http_parser;
struct http_parser_settings;

namespace rse::http {

// http://host[:port]/path?query or https://...; no user:password@ (a password in a URL shows
// in ps and in error messages).
struct Url {
  bool https = false;
  redis::Address address;  // default port 80 or 443
  std::string target;      // path and query as given, "/" when empty: "/events?target=..."
};

// Nullopt with `error` set (it names what is wrong, never repeats a user:password part).
std::optional<Url> ParseUrl(std::string_view text, std::string& error);

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // chunked encoding removed

  // The first header of that (lower-case) name, or null.
  const std::string* Header(std::string_view name) const;
};

struct ClientLimits {
  std::size_t max_head_bytes = 64 * 1024;        // status line and headers together
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // decoded body
};

// Reads one response from a byte stream: Feed() the bytes as they arrive, FeedEof() when the
// server closes the connection (a body without Content-Length or chunks ends there). Stops at
// the end of the first response; an error is final.
class ResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  explicit ResponseParser(ClientLimits limits = {});
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  State Feed(const char* data, std::size_t len);
  State FeedEof();
  State state() const { return state_; }
  // After kError: why, one line ("response body larger than 4194304 bytes", "connection closed
  // before the response was complete", "not an HTTP response: ...").
  const std::string& error() const { return error_; }
  // After kComplete.
  ClientResponse& response() { return response_; }

 private:
  static const http_parser_settings kSettings;
  static int OnHeaderField(http_parser* p, const char* at, std::size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, std::size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, std::size_t len);
  static int OnMessageComplete(http_parser* p);
  void Fail(std::string why);

  ClientLimits limits_;
  std::unique_ptr<http_parser> parser_;
  State state_ = State::kIncomplete;
  std::string error_;
  std::size_t head_bytes_ = 0;  // given to the parser before the head ended
  bool headers_complete_ = false;
  bool in_value_ = false;
  bool started_ = false;  // some byte has arrived
  ClientResponse response_;
};

struct GetOptions {
  std::shared_ptr<const redis::TlsContext> tls;  // required for https URLs
  std::string user;                              // basic auth when `password` is set
  std::string password;                          // sent only in the Authorization header, never shown
  std::string user_agent = "redis_sentinel_exporter";
  ClientLimits limits;
};

struct GetResult {
  std::string error;  // empty: `response` holds a complete response (any status)
  ClientResponse response;
};

// One GET of `url`, finished or failed by `deadline`. The error names the failing step: "connect
// to host:port: ...", "TLS handshake with host:port: ...", "sending the request: ...", "reading
// the response: ...", "deadline reached while ...". Sends no Accept-Encoding, so the body comes
// as it is (a Content-Encoding other than identity is an error).
GetResult Get(const Url& url, const GetOptions& options, redis::Deadline deadline);

// The request Get() sends, for tests: GET line, Host, User-Agent, Accept, Connection: close and,
// with a password, Authorization: Basic.
std::string BuildGetRequest(const Url& url, const GetOptions& options);
// The value of an Authorization header for basic auth: "Basic " and base64 of user:password.
std::string BasicAuthorization(std::string_view user, std::string_view password);

// A line of a peer's text fit to print: control characters (ControlLength) replaced by '?', cut
// to `max` bytes with "..." (an error page may be long or hostile).
std::string PrintableLine(std::string_view text, std::size_t max);

}  // namespace rse::http
