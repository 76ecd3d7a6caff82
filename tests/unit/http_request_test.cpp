#include <doctest/doctest.h>

#include <string>

#include "http/request.h"

using rse::http::Limits;
using rse::http::RequestParser;

namespace {

// Feeds `text` in pieces of `step` bytes; returns the bytes consumed.
std::size_t FeedAll(RequestParser& p, const std::string& text, std::size_t step = 1000000) {
  std::size_t used = 0;
  while (used < text.size() && p.state() == RequestParser::State::kIncomplete) {
    const std::size_t n = std::min(step, text.size() - used);
    const std::size_t took = p.Feed(text.data() + used, n);
    used += took;
    if (took < n) break;
  }
  return used;
}

}  // namespace

TEST_CASE("http request: a Prometheus scrape, whole and one byte at a time") {
  const std::string scrape =
      "GET /probe?target=10.0.0.1%3A26379&master=my+master HTTP/1.1\r\nHost: exporter:9355\r\n"
      "User-Agent: Prometheus/2.42.0\r\nAccept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, scrape.size()}) {
    RequestParser p;
    CHECK(FeedAll(p, scrape, step) == scrape.size());
    REQUIRE(p.state() == RequestParser::State::kComplete);
    auto& r = p.request();
    CHECK(r.method == "GET");
    CHECK(r.path == "/probe");
    CHECK(r.keep_alive);
    CHECK(r.Query("target") == "10.0.0.1:26379");
    CHECK(r.Query("master") == "my master");
    CHECK_FALSE(r.Query("module").has_value());
    REQUIRE(r.Header("accept-encoding") != nullptr);
    CHECK(*r.Header("accept-encoding") == "gzip");
    CHECK(*r.Header("x-prometheus-scrape-timeout-seconds") == "10");
  }
}

TEST_CASE("http request: pipelined requests are parsed one at a time") {
  const std::string two = "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.0\r\n\r\n";
  RequestParser p;
  std::size_t used = p.Feed(two.data(), two.size());
  REQUIRE(p.state() == RequestParser::State::kComplete);
  CHECK(used == 19);
  CHECK(p.request().path == "/a");
  p.Reset();
  CHECK(p.Feed(two.data() + used, two.size() - used) == two.size() - used);
  REQUIRE(p.state() == RequestParser::State::kComplete);
  CHECK(p.request().method == "HEAD");
  CHECK(p.request().path == "/b");
  CHECK_FALSE(p.request().keep_alive);  // HTTP/1.0 without keep-alive
}

TEST_CASE("http request: Connection headers decide keep-alive") {
  RequestParser p;
  const std::string close = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
  p.Feed(close.data(), close.size());
  REQUIRE(p.state() == RequestParser::State::kComplete);
  CHECK_FALSE(p.request().keep_alive);
  p.Reset();
  const std::string keep = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  p.Feed(keep.data(), keep.size());
  REQUIRE(p.state() == RequestParser::State::kComplete);
  CHECK(p.request().keep_alive);
}

TEST_CASE("http request: refused heads say why, with the status to answer") {
  struct Case {
    std::string text;
    int status;
  };
  const Case cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET http://evil/ HTTP/1.1\r\n\r\n", 400},
      {"GET * HTTP/1.1\r\n\r\n", 400},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 413},
      {"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 413},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400},
      {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},  // a TLS hello on a plain port
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    RequestParser p;
    p.Feed(c.text.data(), c.text.size());
    REQUIRE(p.state() == RequestParser::State::kError);
    CHECK(p.error_status() == c.status);
    CHECK_FALSE(p.error().empty());
  }
}

TEST_CASE("http request: a head is limited in size and header count") {
  Limits limits;
  limits.max_head_bytes = 1024;
  limits.max_headers = 8;
  {
    RequestParser p(limits);
    std::string big = "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n\r\n";
    const std::size_t used = FeedAll(p, big, 100);
    CHECK(p.state() == RequestParser::State::kError);
    CHECK(p.error_status() == 431);
    CHECK(used <= limits.max_head_bytes + 1);
  }
  {
    RequestParser p(limits);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 9; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    p.Feed(many.data(), many.size());
    CHECK(p.state() == RequestParser::State::kError);
    CHECK(p.error_status() == 431);
  }
  {
    // Exactly at the limit still completes.
    RequestParser p(limits);
    std::string head = "GET / HTTP/1.1\r\nX-Pad: ";
    head += std::string(limits.max_head_bytes - head.size() - 4, 'p') + "\r\n\r\n";
    REQUIRE(head.size() == limits.max_head_bytes);
    CHECK(FeedAll(p, head, 3) == head.size());
    CHECK(p.state() == RequestParser::State::kComplete);
  }
}

TEST_CASE("http request: query parameters are percent-decoded, bad escapes are not guessed") {
  RequestParser p;
  const std::string text = "GET /probe?a=%41%42&b=%4&c=%zz&d&e=x%2By HTTP/1.1\r\n\r\n";
  p.Feed(text.data(), text.size());
  REQUIRE(p.state() == RequestParser::State::kComplete);
  auto& r = p.request();
  CHECK(r.Query("a") == "AB");
  CHECK_FALSE(r.Query("b").has_value());
  CHECK_FALSE(r.Query("c").has_value());
  CHECK(r.Query("d") == "");
  CHECK(r.Query("e") == "x+y");
}
