// http/client.*: URLs, the GET request, responses parsed from recorded bytes (whole and split
// at every byte), and Get() against in-process peers on 127.0.0.1 that fail on purpose.
#include "http/client.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "tests/unit/fake_server.h"
#include "tests/unit/fixtures.h"

using rse::http::ClientLimits;
using rse::http::ParseUrl;
using rse::http::ResponseParser;
using State = rse::http::ResponseParser::State;
using namespace std::chrono_literals;

namespace {

// Feeds `bytes` in pieces of `step` bytes, then the end of the stream if still incomplete.
State ParseInSteps(ResponseParser& p, const std::string& bytes, std::size_t step, bool eof = true) {
  for (std::size_t i = 0; i < bytes.size() && p.state() == State::kIncomplete; i += step) {
    p.Feed(bytes.data() + i, std::min(step, bytes.size() - i));
  }
  if (eof) p.FeedEof();
  return p.state();
}

const std::string kChunked =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    "b\r\n{\"events\":[\r\n"
    "2\r\n]}\r\n"
    "0\r\n\r\n";

}  // namespace

TEST_CASE("http client: URLs") {
  std::string error;
  auto u = ParseUrl("http://127.0.0.1:9355/events?target=127.0.0.1%3A26379", error);
  REQUIRE(u);
  CHECK_FALSE(u->https);
  CHECK(u->address.ToString() == "127.0.0.1:9355");
  CHECK(u->target == "/events?target=127.0.0.1%3A26379");

  u = ParseUrl("HTTPS://exporter.example", error);
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->address.host == "exporter.example");
  CHECK(u->address.port == 443);
  CHECK(u->target == "/");

  u = ParseUrl("http://[::1]/events#frag", error);
  REQUIRE(u);
  CHECK(u->address.host == "::1");
  CHECK(u->address.port == 80);
  CHECK(u->target == "/events");

  u = ParseUrl("http://[::1]:9355?x=1", error);
  REQUIRE(u);
  CHECK(u->address.ToString() == "[::1]:9355");
  CHECK(u->target == "/?x=1");

  for (const char* bad : {"ftp://h/", "127.0.0.1:9355/events", "http://", "http:///events", "http://h:99999/",
                          "http://h:port/", "http://h/a b", "http://h/a\r\nX: y", "http://[::1/"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(ParseUrl(bad, error));
    CHECK_FALSE(error.empty());
  }
  // A password in the URL is refused, and not repeated in the error.
  error.clear();
  CHECK_FALSE(ParseUrl("http://admin:s3cret-pw@127.0.0.1:9355/events", error));
  CHECK(error.find("s3cret-pw") == std::string::npos);
  CHECK(error.find("password") != std::string::npos);
}

TEST_CASE("http client: the GET request asks for identity and carries basic auth only when given") {
  std::string error;
  auto u = ParseUrl("http://127.0.0.1:9355/events?target=a%3A1", error);
  REQUIRE(u);
  rse::http::GetOptions o;
  o.user_agent = "test/1";
  std::string req = rse::http::BuildGetRequest(*u, o);
  CHECK(req ==
        "GET /events?target=a%3A1 HTTP/1.1\r\nHost: 127.0.0.1:9355\r\nUser-Agent: test/1\r\nConnection: close\r\n\r\n");
  o.user = "Aladdin";
  o.password = "open sesame";
  req = rse::http::BuildGetRequest(*u, o);
  CHECK(req.find("\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n") != std::string::npos);
  CHECK(req.find("Accept-Encoding") == std::string::npos);
  CHECK(req.substr(req.size() - 4) == "\r\n\r\n");
}

TEST_CASE("http client: a recorded /events response parses the same whole and split at every byte") {
  const std::string recorded = rse::test::FixtureBytes("http-events-response.txt");
  REQUIRE(recorded.rfind("HTTP/1.1 200", 0) == 0);
  std::string whole_body;
  for (std::size_t step : {recorded.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{100}}) {
    CAPTURE(step);
    ResponseParser p;
    REQUIRE(ParseInSteps(p, recorded, step) == State::kComplete);
    CHECK(p.response().status == 200);
    REQUIRE(p.response().Header("content-type"));
    CHECK(*p.response().Header("content-type") == "application/json");
    CHECK(p.response().body.rfind("{\"events\":[", 0) == 0);
    if (whole_body.empty()) whole_body = p.response().body;
    CHECK(p.response().body == whole_body);
  }
}

TEST_CASE("http client: a chunked body is joined, whatever the split") {
  for (std::size_t step = 1; step <= kChunked.size(); ++step) {
    CAPTURE(step);
    ResponseParser p;
    REQUIRE(ParseInSteps(p, kChunked, step, false) == State::kComplete);  // complete without the end of stream
    CHECK(p.response().status == 200);
    CHECK(p.response().body == "{\"events\":[]}");
  }
}

TEST_CASE("http client: status, error body and a body that ends with the connection") {
  ResponseParser p;
  const std::string bytes = "HTTP/1.0 403 Forbidden\r\nContent-Type: text/plain\r\n\r\ntarget not allowed";
  p.Feed(bytes.data(), bytes.size());
  CHECK(p.state() == State::kIncomplete);  // no length: the body runs to the end of the stream
  CHECK(p.FeedEof() == State::kComplete);
  CHECK(p.response().status == 403);
  CHECK(p.response().body == "target not allowed");
  CHECK(rse::http::PrintableLine("line one\r\nline\x1b[2J two\n", 100) == "line one??line?[2J two");
  CHECK(rse::http::PrintableLine(std::string(300, 'x'), 10) == "xxxxxxxxxx...");
  CHECK(rse::http::PrintableLine("a\xc2\x9b"
                                 "2Jb\x7f caf\xc3\xa9",
                                 100) == "a?2Jb? caf\xc3\xa9");  // C1 and DEL too
}

TEST_CASE("http client: over-size, truncated, encoded and garbage responses are errors that say so") {
  ClientLimits small;
  small.max_body_bytes = 10;
  {
    ResponseParser p(small);
    CHECK(ParseInSteps(p, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", 3) == State::kError);
    CHECK(p.error() == "response body larger than 10 bytes");
  }
  {
    ResponseParser p(small);  // chunks: counted as they are decoded
    CHECK(ParseInSteps(p,
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n",
                       5) == State::kError);
    CHECK(p.error() == "response body larger than 10 bytes");
  }
  {
    ResponseParser p(small);  // exactly the cap is fine
    CHECK(ParseInSteps(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 4) == State::kComplete);
    CHECK(p.response().body == "0123456789");
  }
  for (const std::string& truncated : {kChunked.substr(0, kChunked.size() - 5), std::string("HTTP/1.1 200 OK\r\nCont"),
                                       std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc")}) {
    ResponseParser p;
    CHECK(ParseInSteps(p, truncated, 4) == State::kError);
    CHECK(p.error() == "connection closed before the response was complete");
  }
  {
    ResponseParser p;
    CHECK(p.FeedEof() == State::kError);
    CHECK(p.error() == "connection closed before any response");
  }
  {
    ResponseParser p;
    CHECK(ParseInSteps(p, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 64) ==
          State::kError);
    CHECK(p.error() == "unsupported Content-Encoding: gzip");
  }
  {
    ResponseParser p;
    CHECK(ParseInSteps(p, "-ERR unknown command 'GET'\r\n", 64) == State::kError);
    CHECK(p.error().rfind("not an HTTP response: ", 0) == 0);
  }
  {
    ClientLimits head;
    head.max_head_bytes = 64;
    ResponseParser p(head);
    CHECK(ParseInSteps(p, "HTTP/1.1 200 OK\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n", 8) == State::kError);
    CHECK(p.error() == "response head larger than 64 bytes");
  }
}

TEST_CASE("http client: Get() names the failing step and keeps to the deadline") {
  std::string error;
  rse::http::GetOptions o;
  {
    rse::test::FakeServer server(rse::test::FakeServer::SendAndClose(kChunked));
    auto url = ParseUrl("http://127.0.0.1:" + std::to_string(server.port()) + "/events", error);
    auto r = rse::http::Get(*url, o, rse::redis::Clock::now() + 5s);
    CHECK(r.error == "");
    CHECK(r.response.status == 200);
    CHECK(r.response.body == "{\"events\":[]}");
  }
  {
    int port = 0;
    {
      rse::test::FakeServer gone(rse::test::FakeServer::Silent());
      port = gone.port();
    }  // closed: nothing listens there now
    auto url = ParseUrl("http://127.0.0.1:" + std::to_string(port) + "/events", error);
    auto r = rse::http::Get(*url, o, rse::redis::Clock::now() + 5s);
    CHECK(r.error == "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  }
  {
    // Accepts and never answers the TLS handshake: connecting ends at the deadline.
    rse::test::FakeServer server(rse::test::FakeServer::Silent());
    rse::redis::TlsOptions tls;
    tls.enabled = true;
    tls.insecure_skip_verify = true;
    std::string tls_error;
    rse::http::GetOptions with_tls;
    with_tls.tls = rse::redis::TlsContext::Create(tls, tls_error);
    REQUIRE_MESSAGE(with_tls.tls, tls_error);
    auto url = ParseUrl("https://127.0.0.1:" + std::to_string(server.port()) + "/events", error);
    const auto start = rse::redis::Clock::now();
    auto r = rse::http::Get(*url, with_tls, start + 300ms);
    CHECK(r.error == "deadline reached connecting to 127.0.0.1:" + std::to_string(server.port()) +
                         " (timed out in the TLS handshake)");
    CHECK(rse::redis::Clock::now() - start < 3s);
  }
  {
    rse::test::FakeServer server(rse::test::FakeServer::Silent());
    auto url = ParseUrl("http://127.0.0.1:" + std::to_string(server.port()) + "/events", error);
    const auto start = rse::redis::Clock::now();
    auto r = rse::http::Get(*url, o, start + 300ms);
    CHECK(r.error == "deadline reached reading the response (0 bytes received)");
    CHECK(rse::redis::Clock::now() - start < 3s);
  }
  {
    // A chunked body that never ends.
    rse::test::FakeServer server([](int fd, const std::atomic<bool>& stop) {
      const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      send(fd, head.data(), head.size(), MSG_NOSIGNAL);
      const std::string chunk = "1000\r\n" + std::string(4096, 'x') + "\r\n";
      while (!stop) {
        if (send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) return;
      }
    });
    auto url = ParseUrl("http://127.0.0.1:" + std::to_string(server.port()) + "/", error);
    o.limits.max_body_bytes = 100000;
    auto r = rse::http::Get(*url, o, rse::redis::Clock::now() + 5s);
    CHECK(r.error.find("response body larger than 100000 bytes") != std::string::npos);
  }
}
