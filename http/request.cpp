#include "http/request.h"

#include <http_parser.h>

#include <climits>

#include "http/ascii.h"

namespace rse::http {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexDigit(in[i + 1]), lo = HexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

const std::string* Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    return PercentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

RequestParser::RequestParser(Limits limits)
    : limits_(limits), parser_(std::make_unique<http_parser>()), scanner_(std::make_unique<http_parser>()) {
  Reset();
}

RequestParser::~RequestParser() = default;

void RequestParser::Reset() {
  http_parser_init(scanner_.get(), HTTP_REQUEST);
  scanner_->data = this;
  scanned_ = false;
  head_.clear();
  state_ = State::kIncomplete;
  head_bytes_ = 0;
  error_status_ = 0;
  error_.clear();
  url_.clear();
  in_value_ = false;
  request_ = Request{};
}

void RequestParser::Fail(int status, std::string why) {
  state_ = State::kError;
  error_status_ = status;
  error_ = std::move(why);
}

std::size_t RequestParser::Feed(const char* data, std::size_t len) {
  if (state_ != State::kIncomplete || len == 0) return 0;
  // Never let a head grow past the limit: feed at most what is left of it, plus one byte so
  // that a head of exactly the limit can still complete and one byte more is refused.
  const std::size_t room = limits_.max_head_bytes - head_bytes_;
  const std::size_t give = len < room + 1 ? len : room + 1;
  // The bytes go through a callback-free parser first, as they come: it finds the end of the
  // head and refuses garbage at once. The head is then parsed with callbacks in one call, so
  // how the network split it cannot change where a header name or value begins or ends.
  static const http_parser_settings scan = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_headers_complete = [](http_parser*) { return 1; };  // no body: the head is the message
    s.on_message_complete = [](http_parser* p) {
      static_cast<RequestParser*>(p->data)->scanned_ = true;
      http_parser_pause(p, 1);
      return 0;
    };
    return s;
  }();
  const std::size_t used = http_parser_execute(scanner_.get(), &scan, data, give);
  head_bytes_ += used;
  head_.append(data, used);
  if (scanned_) {
    ParseHead();
    return used;
  }
  const auto err = static_cast<http_errno>(scanner_->http_errno);
  if (err != HPE_OK) {
    Fail(400, std::string("malformed request: ") + http_errno_description(err));
    return used;
  }
  if (head_bytes_ > limits_.max_head_bytes) {
    Fail(431, "request head larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
  }
  return used;
}

void RequestParser::ParseHead() {
  http_parser_init(parser_.get(), HTTP_REQUEST);
  parser_->data = this;
  static constexpr http_parser_settings kSettings{.on_message_begin = nullptr,
                                                  .on_url = &OnUrl,
                                                  .on_status = nullptr,
                                                  .on_header_field = &OnHeaderField,
                                                  .on_header_value = &OnHeaderValue,
                                                  .on_headers_complete = &OnHeadersComplete,
                                                  .on_body = nullptr,
                                                  .on_message_complete = &OnMessageComplete,
                                                  .on_chunk_header = nullptr,
                                                  .on_chunk_complete = nullptr};
  http_parser_execute(parser_.get(), &kSettings, head_.data(), head_.size());
  if (state_ == State::kError || state_ == State::kComplete) {
    std::string().swap(head_);
    return;
  }
  // The scanner accepted what this parser did not: one verdict for both, a malformed request.
  const auto err = static_cast<http_errno>(parser_->http_errno);
  Fail(400, std::string("malformed request: ") + http_errno_description(err == HPE_OK ? HPE_UNKNOWN : err));
}

int RequestParser::OnUrl(http_parser* p, const char* at, std::size_t len) {
  static_cast<RequestParser*>(p->data)->url_.append(at, len);
  return 0;
}

int RequestParser::OnHeaderField(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<RequestParser*>(p->data);
  auto& headers = self->request_.headers;
  if (headers.empty() || self->in_value_) {
    if (headers.size() >= self->limits_.max_headers) {
      self->Fail(431, "more than " + std::to_string(self->limits_.max_headers) + " headers");
      return 1;
    }
    headers.emplace_back();
    self->in_value_ = false;
  }
  for (std::size_t i = 0; i < len; ++i) headers.back().first += Lower(at[i]);
  return 0;
}

int RequestParser::OnHeaderValue(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<RequestParser*>(p->data);
  self->in_value_ = true;
  self->request_.headers.back().second.append(at, len);
  return 0;
}

int RequestParser::OnHeadersComplete(http_parser* p) {
  auto* self = static_cast<RequestParser*>(p->data);
  if (p->http_major != 1 || p->http_minor > 1) {
    self->Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    return -1;  // any value but 0, 1 and 2 stops the parser
  }
  const bool has_length = p->content_length != 0 && p->content_length != ULLONG_MAX;
  if ((p->flags & F_CHUNKED) != 0 || has_length) {
    self->Fail(413, "request bodies are not accepted");
    return -1;
  }
  if (p->upgrade || (p->flags & F_UPGRADE) != 0) {
    self->Fail(501, "protocol upgrades are not served");
    return -1;
  }
  http_parser_url u;
  http_parser_url_init(&u);
  const std::string& url = self->url_;
  if (url.empty() || url.front() != '/' || http_parser_parse_url(url.data(), url.size(), 0, &u) != 0 ||
      (u.field_set & (1 << UF_PATH)) == 0) {
    self->Fail(400, "request target is not an absolute path");
    return -1;
  }
  auto& r = self->request_;
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.path = url.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  if ((u.field_set & (1 << UF_QUERY)) != 0)
    r.query = url.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
  for (auto& [k, v] : r.headers) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  }
  r.keep_alive = http_should_keep_alive(p) != 0;
  return 0;
}

// A head without a body is a whole message: stop there, so a pipelined request stays unread.
int RequestParser::OnMessageComplete(http_parser* p) {
  auto* self = static_cast<RequestParser*>(p->data);
  self->state_ = State::kComplete;
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace rse::http
