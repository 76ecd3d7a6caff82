#include "http/client.h"

#include <http_parser.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "http/ascii.h"

namespace rse::http {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

bool HasControlOrSpace(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) == 0x7f;
  });
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string WithoutPrefix(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0 ? text.substr(prefix.size()) : text;
}

// One poll of `fd` for `events`, returning by the deadline (or within a minute): the revents,
// 0 when nothing happened (timed out, interrupted), -1 with errno set when poll failed.
int PollOnce(int fd, short events, redis::Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - redis::Clock::now()).count();
  pollfd pfd{fd, events, 0};
  const int n = ::poll(&pfd, 1, static_cast<int>(std::clamp<long long>(left + 1, 0, 60000)));
  if (n < 0) return errno == EINTR ? 0 : -1;
  return n == 0 ? 0 : pfd.revents;
}

}  // namespace

std::optional<Url> ParseUrl(std::string_view text, std::string& error) {
  Url url;
  if (StartsWithNoCase(text, "https://")) {
    url.https = true;
    text.remove_prefix(8);
  } else if (StartsWithNoCase(text, "http://")) {
    text.remove_prefix(7);
  } else {
    error = "not an http:// or https:// URL";
    return std::nullopt;
  }
  const std::size_t end = text.find_first_of("/?#");
  const std::string_view authority = text.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    error = "user:password@ in the URL is not accepted (it would show in ps); give the user and a password file";
    return std::nullopt;
  }
  if (authority.empty() || HasControlOrSpace(authority)) {
    error = "no host in the URL";
    return std::nullopt;
  }
  const std::uint16_t default_port = url.https ? 443 : 80;
  // "host", "[v6]", "host:port" or "[v6]:port"
  const bool bracketed = authority.front() == '[';
  const std::size_t close = authority.find(']');
  const bool has_port = bracketed ? (close != std::string_view::npos && close + 1 < authority.size())
                                  : authority.find(':') != std::string_view::npos;
  if (has_port) {
    auto addr = redis::ParseAddress(authority);
    if (!addr) {
      error = "'" + std::string(authority) + "' is not host:port";
      return std::nullopt;
    }
    url.address = *addr;
  } else if (bracketed) {
    if (close != authority.size() - 1 || close < 2) {
      error = "'" + std::string(authority) + "' is not a host";
      return std::nullopt;
    }
    url.address = {std::string(authority.substr(1, close - 1)), default_port};
  } else {
    url.address = {std::string(authority), default_port};
  }
  rest = rest.substr(0, rest.find('#'));  // a fragment is never sent
  if (HasControlOrSpace(rest)) {
    error = "the URL's path or query holds a space or a control character (percent-encode it)";
    return std::nullopt;
  }
  url.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  return url;
}

const std::string* ClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

const http_parser_settings ResponseParser::kSettings{.on_message_begin = nullptr,
                                                     .on_url = nullptr,
                                                     .on_status = nullptr,
                                                     .on_header_field = &OnHeaderField,
                                                     .on_header_value = &OnHeaderValue,
                                                     .on_headers_complete = &OnHeadersComplete,
                                                     .on_body = &OnBody,
                                                     .on_message_complete = &OnMessageComplete,
                                                     .on_chunk_header = nullptr,
                                                     .on_chunk_complete = nullptr};

ResponseParser::ResponseParser(ClientLimits limits) : limits_(limits), parser_(std::make_unique<http_parser>()) {
  http_parser_init(parser_.get(), HTTP_RESPONSE);
  parser_->data = this;
}

ResponseParser::~ResponseParser() = default;

void ResponseParser::Fail(std::string why) {
  if (state_ != State::kIncomplete) return;
  state_ = State::kError;
  error_ = std::move(why);
}

// A name or value may arrive in several calls (split across reads): append until the other
// kind starts, so how the network splits the bytes cannot change the headers.
int ResponseParser::OnHeaderField(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  auto& headers = self->response_.headers;
  if (self->in_value_ || headers.empty()) headers.emplace_back();
  self->in_value_ = false;
  for (std::size_t i = 0; i < len; ++i) headers.back().first += Lower(at[i]);
  return 0;
}

int ResponseParser::OnHeaderValue(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (self->response_.headers.empty()) self->response_.headers.emplace_back();
  self->in_value_ = true;
  self->response_.headers.back().second.append(at, len);
  return 0;
}

int ResponseParser::OnHeadersComplete(http_parser* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  self->headers_complete_ = true;
  self->response_.status = p->status_code;
  if (const std::string* enc = self->response_.Header("content-encoding")) {
    std::string value(Trim(*enc));
    for (auto& c : value) c = Lower(c);
    if (!value.empty() && value != "identity") {
      self->Fail("unsupported Content-Encoding: " + PrintableLine(value, 40));
      return 1;
    }
  }
  return 0;
}

int ResponseParser::OnBody(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (len > self->limits_.max_body_bytes - self->response_.body.size()) {
    self->Fail("response body larger than " + std::to_string(self->limits_.max_body_bytes) + " bytes");
    return 1;
  }
  self->response_.body.append(at, len);
  return 0;
}

int ResponseParser::OnMessageComplete(http_parser* p) {
  auto* self = static_cast<ResponseParser*>(p->data);
  if (self->state_ == State::kIncomplete) self->state_ = State::kComplete;
  http_parser_pause(p, 1);  // one response: whatever follows is not read
  return 0;
}

ResponseParser::State ResponseParser::Feed(const char* data, std::size_t len) {
  if (len > 0) started_ = true;
  while (len > 0 && state_ == State::kIncomplete) {
    // Until the head ends, the parser gets at most one byte past the head limit, and the limit
    // is checked between calls, never inside a callback: the outcome is then the same however
    // the network splits the bytes (an invalid byte before the limit is always found first).
    std::size_t give = len;
    if (!headers_complete_) give = std::min(len, limits_.max_head_bytes - head_bytes_ + 1);
    const std::size_t used = http_parser_execute(parser_.get(), &kSettings, data, give);
    if (!headers_complete_) head_bytes_ += used;
    if (state_ != State::kIncomplete) break;
    const auto err = static_cast<http_errno>(parser_->http_errno);
    if (err != HPE_OK) {
      Fail(std::string("not an HTTP response: ") + http_errno_description(err));
    } else if (!headers_complete_ && head_bytes_ > limits_.max_head_bytes) {
      Fail("response head larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
    } else if (used != give) {
      Fail("not an HTTP response: bytes left unparsed");  // an upgrade: never asked for
    }
    data += used;
    len -= used;
  }
  return state_;
}

ResponseParser::State ResponseParser::FeedEof() {
  if (state_ != State::kIncomplete) return state_;
  // Tells the parser the stream ended: a body delimited by the connection's end completes.
  http_parser_execute(parser_.get(), &kSettings, nullptr, 0);
  if (state_ == State::kIncomplete) {
    Fail(started_ ? "connection closed before the response was complete" : "connection closed before any response");
  }
  return state_;
}

std::string BuildGetRequest(const Url& url, const GetOptions& options) {
  std::string req = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.address.ToString() +
                    "\r\nUser-Agent: " + options.user_agent + "\r\nConnection: close\r\n";
  if (!options.password.empty()) req += "Authorization: " + BasicAuthorization(options.user, options.password) + "\r\n";
  return req + "\r\n";
}

std::string BasicAuthorization(std::string_view user, std::string_view password) {
  std::string credentials = std::string(user) + ":" + std::string(password);
  std::string value = "Basic " + Base64(credentials);
  std::fill(credentials.begin(), credentials.end(), '\0');
  return value;
}

std::string PrintableLine(std::string_view text, std::size_t max) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const std::string_view head = text.substr(0, max);
  std::string out;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const std::size_t control = ControlLength(head, i);
    out += control ? '?' : head[i];
    if (control) i += control - 1;
  }
  if (text.size() > max) out += "...";
  return out;
}

namespace {

// Connects `conn`, TLS handshake included, by the deadline; false with `error` set.
bool Open(redis::Connection& conn, const std::string& where, redis::Deadline deadline, std::string& error) {
  // With no commands the exchange ends once connected; the socket is then ours to speak HTTP on.
  redis::Exchange open(&conn, {}, deadline);
  while (!open.done()) {
    const int revents = PollOnce(open.fd(), open.events(), deadline);
    if (revents < 0) {
      error = "connect to " + where + ": poll: " + std::strerror(errno);
      return false;
    }
    open.Step(static_cast<short>(revents));  // fails it with kTimeout at the deadline
  }
  const redis::Status& connected = open.request().status;
  if (connected.ok()) return true;
  if (connected.cause == redis::Cause::kTimeout) {
    error = "deadline reached connecting to " + where + " (" + connected.message + ")";
  } else if (connected.cause == redis::Cause::kTls) {
    error = "TLS handshake with " + where + ": " + WithoutPrefix(connected.message, "TLS: ");
  } else {
    error = "connect to " + where + ": " + WithoutPrefix(connected.message, "connect: ");
  }
  return false;
}

// Waits for the socket until the deadline; false with `error` set, naming the step.
bool Wait(const redis::Connection& conn, short events, const char* step, redis::Deadline deadline, std::string& error) {
  if (redis::Clock::now() >= deadline) {
    error = std::string("deadline reached ") + step;
    return false;
  }
  if (PollOnce(conn.fd(), events, deadline) < 0) {
    error = std::string(step) + ": poll: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool Send(redis::Connection& conn, const std::string& request, const std::string& where, redis::Deadline deadline,
          std::string& error) {
  std::size_t sent = 0;
  while (sent < request.size()) {
    std::size_t n = 0;
    short want = 0;
    redis::Status st = conn.WriteAvailable(request.data() + sent, request.size() - sent, n, want);
    if (!st.ok()) {
      error = "sending the request to " + where + ": " + st.message;
      return false;
    }
    sent += n;
    if (n == 0 && !Wait(conn, want, "sending the request", deadline, error)) return false;
  }
  return true;
}

// Reads until `parser` has a whole response, an error, or the peer closed; false with `error`
// set when reading failed.
bool Receive(redis::Connection& conn, ResponseParser& parser, const std::string& where, redis::Deadline deadline,
             std::string& error) {
  std::vector<char> buf(16384);
  std::size_t received = 0;
  while (parser.state() == ResponseParser::State::kIncomplete) {
    std::size_t n = 0;
    short want = 0;
    redis::Status st = conn.ReadAvailable(buf.data(), buf.size(), n, want);
    if (!st.ok()) {
      if (st.cause == redis::Cause::kClosed) {
        parser.FeedEof();
        return true;
      }
      error = "reading the response from " + where + ": " + st.message;
      return false;
    }
    if (n > 0) {
      received += n;
      parser.Feed(buf.data(), n);
    } else if (!Wait(conn, want, "reading the response", deadline, error)) {
      error += " (" + std::to_string(received) + " bytes received)";
      return false;
    }
  }
  return true;
}

}  // namespace

GetResult Get(const Url& url, const GetOptions& options, redis::Deadline deadline) {
  GetResult result;
  const std::string where = url.address.ToString();
  if (url.https && !options.tls) {
    result.error = "https URL without a TLS context";
    return result;
  }
  redis::Connection conn(url.address, {}, url.https ? options.tls : nullptr);
  if (!Open(conn, where, deadline, result.error)) return result;
  std::string request = BuildGetRequest(url, options);
  const bool sent = Send(conn, request, where, deadline, result.error);
  std::fill(request.begin(), request.end(), '\0');  // it may hold the password
  if (!sent) return result;
  ResponseParser parser(options.limits);
  if (!Receive(conn, parser, where, deadline, result.error)) return result;
  if (parser.state() == ResponseParser::State::kError) {
    result.error = "reading the response from " + where + ": " + parser.error();
    return result;
  }
  result.response = std::move(parser.response());
  return result;
}

}  // namespace rse::http
