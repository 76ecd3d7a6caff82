// The HTTP front in process: keep-alive, deadlines, the connection cap, gzip and handler
// concurrency, against raw sockets on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "http/server.h"
#include "tests/support/ports.h"

using namespace std::chrono_literals;
using rse::http::Request;
using rse::http::Response;
using rse::http::Server;
using rse::http::ServerOptions;
using rse::http::ServerStats;

namespace {

using Clock = std::chrono::steady_clock;

int Connect(int port, int receive_buffer = 0) {
  const int fd = rse::test::ConnectLoopback(port, receive_buffer);
  REQUIRE(fd >= 0);
  return fd;
}

void SendAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    off += static_cast<std::size_t>(n);
  }
}

// Reads until one whole response (head + Content-Length bytes) has arrived, the peer closes,
// or the deadline passes. `closed` tells whether the peer closed.
std::string ReadResponse(int fd, bool& closed, std::chrono::milliseconds timeout = 5s) {
  std::string in;
  closed = false;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const auto cl = in.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) {
        const std::size_t length = std::stoul(in.substr(cl + 16));
        if (in.size() >= head_end + 4 + length) return in;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return in;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return in;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed = true;
      return in;
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
}

// Whether the peer closes the connection within `timeout` (reading and dropping what it sends).
bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
}

int Status(const std::string& response) { return response.size() > 12 ? std::atoi(response.c_str() + 9) : 0; }

std::string Body(const std::string& response) {
  const auto head_end = response.find("\r\n\r\n");
  return head_end == std::string::npos ? "" : response.substr(head_end + 4);
}

std::string Gunzip(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  CHECK(rc == Z_STREAM_END);
  return out;
}

// Waits (bounded) until `pred` holds.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

struct TestServer {
  explicit TestServer(ServerOptions options = {}, rse::http::Handler handler = nullptr) {
    if (!handler) {
      handler = [](const Request& r) { return Response::Text(200, "path=" + r.path + "\n"); };
    }
    // A test port; another test process may take it first: then another one.
    std::string error;
    bool started = false;
    for (int attempt = 0; attempt < 5 && !started; ++attempt) {
      options.listen_address = "127.0.0.1:" + std::to_string(rse::test::FreePort());
      server = std::make_unique<Server>(options, handler);
      started = server->Start(error);
    }
    REQUIRE_MESSAGE(started, error);
  }
  std::unique_ptr<Server> server;
  int port() const { return server->port(); }
};

}  // namespace

TEST_CASE("http server: keep-alive serves several requests on one connection, close ends it") {
  TestServer s;
  int fd = Connect(s.port());
  bool closed = false;
  SendAll(fd, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r1 = ReadResponse(fd, closed);
  CHECK(Status(r1) == 200);
  CHECK(Body(r1) == "path=/one\n");
  CHECK(r1.find("Connection: keep-alive") != std::string::npos);
  CHECK_FALSE(closed);
  // Two pipelined requests, the second asking to close.
  SendAll(fd, "GET /two HTTP/1.1\r\n\r\nHEAD /three HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto r2 = ReadResponse(fd, closed);
  CHECK(Body(r2).rfind("path=/two\n", 0) == 0);
  CHECK(ClosedWithin(fd, 5s));
  close(fd);
  CHECK(s.server->stats().requests.load() == 3);
  CHECK(Eventually([&] { return s.server->stats().open.load() == 0; }));
}

TEST_CASE("http server: requests sent the moment their predecessor's response arrives are each answered once") {
  // A worker writes a kept-alive response itself and tells the loop afterwards: the client's
  // next request often reaches the loop first. Every request must still get its own response.
  TestServer s;
  int fd = Connect(s.port());
  bool closed = false;
  for (int i = 0; i < 300 && !closed; ++i) {
    const std::string path = "/r" + std::to_string(i);
    SendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = ReadResponse(fd, closed);
    REQUIRE(Status(r) == 200);
    REQUIRE(Body(r) == "path=" + path + "\n");
  }
  CHECK_FALSE(closed);
  close(fd);
  CHECK(s.server->stats().requests.load() == 300);
}

TEST_CASE("http server: a head not finished in time gets 408 and is closed, an idle one is closed") {
  ServerOptions o;
  o.read_header_timeout = 300ms;
  o.idle_timeout = 600ms;
  TestServer s(o);
  int slow = Connect(s.port());
  int idle = Connect(s.port());
  SendAll(slow, "GET /metrics HTTP/1.1\r\nHost:");
  bool closed = false;
  const auto start = Clock::now();
  auto r = ReadResponse(slow, closed, 5s);
  CHECK(Status(r) == 408);
  CHECK(Clock::now() - start < 2s);
  CHECK(ClosedWithin(slow, 3s));
  CHECK(ClosedWithin(idle, 3s));
  close(slow);
  close(idle);
  // Counted when the server has let go of the connection, after the client's close.
  CHECK(Eventually([&] { return s.server->stats().closed[ServerStats::kHeaderTimeout].load() == 1; }));
  CHECK(Eventually([&] { return s.server->stats().closed[ServerStats::kIdleTimeout].load() == 1; }));
}

TEST_CASE("http server: at the connection cap the longest-idle connection makes room") {
  ServerOptions o;
  o.max_connections = 8;
  TestServer s(o);
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(Connect(s.port()));
  REQUIRE(Eventually([&] { return s.server->stats().open.load() == 8; }));
  for (int round = 0; round < 3; ++round) {
    int fd = Connect(s.port());
    SendAll(fd, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
    bool closed = false;
    CHECK(Status(ReadResponse(fd, closed)) == 200);
    close(fd);
  }
  CHECK(s.server->stats().open.load() <= 8);
  // The first newcomer took an idle one's place; the others found the room it left.
  CHECK(s.server->stats().closed[ServerStats::kEvicted].load() == 1);
  CHECK(ClosedWithin(idle.front(), 3s));  // the oldest went first
  for (int fd : idle) close(fd);
}

TEST_CASE("http server: malformed and oversized heads get their status and are closed") {
  ServerOptions o;
  o.limits.max_head_bytes = 2048;
  TestServer s(o);
  struct Case {
    std::string text;
    int status;
  };
  for (const auto& c : {Case{"BLAH\r\n\r\n", 400}, Case{"GET /" + std::string(4096, 'x') + " HTTP/1.1\r\n\r\n", 431},
                        Case{"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 413}}) {
    int fd = Connect(s.port());
    SendAll(fd, c.text);
    bool closed = false;
    auto r = ReadResponse(fd, closed);
    CHECK(Status(r) == c.status);
    CHECK(ClosedWithin(fd, 3s));
    close(fd);
  }
}

TEST_CASE("http server: gzip when the client accepts it, for bodies worth it") {
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "redis_up{addr=\"127.0.0.1:" + std::to_string(6379 + i) + "\"} 1\n";
  TestServer s({}, [&](const Request& r) {
    Response resp;
    resp.body = {big.substr(0, 1000), big.substr(1000)};  // pieces are compressed as one stream
    if (r.path == "/small") resp.body = {"tiny\n"};
    return resp;
  });
  int fd = Connect(s.port());
  bool closed = false;
  SendAll(fd, "GET /big HTTP/1.1\r\nAccept-Encoding: gzip, deflate\r\n\r\n");
  auto r = ReadResponse(fd, closed);
  CHECK(r.find("Content-Encoding: gzip") != std::string::npos);
  CHECK(Body(r).size() < big.size() / 4);
  CHECK(Gunzip(Body(r)) == big);
  SendAll(fd, "GET /big HTTP/1.1\r\nAccept-Encoding: gzip;q=0\r\n\r\n");
  r = ReadResponse(fd, closed);
  CHECK(r.find("Content-Encoding") == std::string::npos);
  CHECK(Body(r) == big);
  SendAll(fd, "GET /small HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
  r = ReadResponse(fd, closed);
  CHECK(r.find("Content-Encoding") == std::string::npos);
  CHECK(Body(r) == "tiny\n");
  close(fd);
}

TEST_CASE("http server: Gzip of a body that does not compress, and of a body in pieces") {
  // Random bytes do not shrink: the first, quarter-size output buffer is too small and the
  // worst-case one must be used.
  std::mt19937 rng(7);
  std::string noise(256 * 1024, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  std::vector<std::string> pieces = {noise};
  std::string error;
  REQUIRE_MESSAGE(rse::http::Gzip(pieces, error), error);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces.front().size() > noise.size() / 4);
  const bool same = Gunzip(pieces.front()) == noise;
  CHECK(same);
  // Several pieces are joined first and compressed as one stream.
  pieces = {"a 1\n", std::string(100000, 'b'), "c 3\n"};
  REQUIRE_MESSAGE(rse::http::Gzip(pieces, error), error);
  REQUIRE(pieces.size() == 1);
  CHECK(Gunzip(pieces.front()) == "a 1\n" + std::string(100000, 'b') + "c 3\n");
}

// Long: one compressor taken through every chunk-boundary case in turn, each decoded.
TEST_CASE("http server: a body gzipped in parts is one member, sent as it is") {
  std::string text;
  for (int i = 0; i < 6000; ++i) text += "redis_up{addr=\"127.0.0.1:" + std::to_string(6379 + i) + "\"} 1\n";
  rse::http::GzipStream gzip;
  REQUIRE(gzip.ok());
  // Parts of every size: empty, small, and larger than an output chunk.
  gzip.Write("");
  gzip.Write(std::string_view(text).substr(0, 10));
  gzip.Write(std::string_view(text).substr(10, 150000));
  gzip.Write("");
  gzip.Write(std::string_view(text).substr(150010));
  std::vector<std::string> pieces;
  std::string error;
  REQUIRE_MESSAGE(gzip.Finish(pieces, error), error);
  std::string member;
  for (const auto& p : pieces) member += p;
  CHECK(Gunzip(member) == text);
  // Finished: nothing more is written, and a second end is an error.
  gzip.Write("more");
  std::vector<std::string> again;
  CHECK_FALSE(gzip.Finish(again, error));
  CHECK(again.empty());

  // Larger than a chunk once compressed: noise.
  std::mt19937 rng(3);
  std::string noise(200000, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  rse::http::GzipStream big;
  big.Write(noise);
  std::vector<std::string> noise_pieces;
  REQUIRE_MESSAGE(big.Finish(noise_pieces, error), error);
  std::string noise_member;
  for (const auto& p : noise_pieces) noise_member += p;
  // Stored blocks: the input and a few bytes, in full chunks but the last.
  REQUIRE(noise_pieces.size() == noise_member.size() / rse::http::GzipStream::kChunk + 1);
  CHECK(noise_pieces[0].size() == rse::http::GzipStream::kChunk);
  const bool same = Gunzip(noise_member) == noise;
  CHECK(same);
  // Members that end at every offset near a chunk's end (stored blocks: the output is the
  // input and a few bytes), so the trailer finds every amount of room left.
  constexpr size_t kChunk = rse::http::GzipStream::kChunk;
  for (size_t n = kChunk - 48; n <= kChunk + 8; ++n) {
    CAPTURE(n);
    rse::http::GzipStream part;
    part.Write(std::string_view(noise).substr(0, n / 2));
    part.Write(std::string_view(noise).substr(n / 2, n - n / 2));
    std::vector<std::string> out;
    REQUIRE_MESSAGE(part.Finish(out, error), error);
    std::string joined;
    for (const auto& p : out) {
      CHECK(p.size() <= kChunk);
      joined += p;
    }
    const bool equal = Gunzip(joined) == noise.substr(0, n);
    CHECK(equal);
  }

  TestServer s({}, [&](const Request&) {
    Response resp;
    resp.body = pieces;
    resp.gzipped = true;
    return resp;
  });
  int fd = Connect(s.port());
  bool closed = false;
  SendAll(fd, "GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
  auto r = ReadResponse(fd, closed);
  const auto head = r.substr(0, r.find("\r\n\r\n"));
  CHECK(head.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CHECK(head.find("Content-Encoding", head.find("Content-Encoding") + 1) == std::string::npos);  // once
  CHECK(head.find("Content-Length: " + std::to_string(member.size()) + "\r\n") != std::string::npos);
  CHECK(head.find("Vary: Accept-Encoding") != std::string::npos);
  CHECK(Body(r) == member);  // not gzipped twice
  SendAll(fd, "HEAD /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
  std::string in;
  const auto deadline = Clock::now() + 5s;
  while (in.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    in.append(buf, static_cast<std::size_t>(n));
  }
  CHECK(in.find("Content-Length: " + std::to_string(member.size()) + "\r\n") != std::string::npos);
  CHECK(in.size() == in.find("\r\n\r\n") + 4);  // no body
  close(fd);
}

TEST_CASE("http server: Accept-Encoding weights") {
  using rse::http::AcceptsGzip;
  const std::string yes[] = {"gzip", "deflate, gzip", "gzip;q=0.5", "*", " gzip ; q=1"};
  const std::string no[] = {"", "deflate", "gzip;q=0", "gzip;q=0.000", "identity", "gzipx"};
  for (const auto& v : yes) CHECK_MESSAGE(AcceptsGzip(&v), v);
  for (const auto& v : no) CHECK_MESSAGE(!AcceptsGzip(&v), v);
  CHECK_FALSE(AcceptsGzip(nullptr));
}

TEST_CASE("http server: a slow handler holds no other request, and no connection holds a thread") {
  ServerOptions o;
  o.max_handlers = 4;
  std::atomic<int> running{0}, most{0};
  TestServer s(o, [&](const Request& r) {
    int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    if (r.path == "/slow") std::this_thread::sleep_for(800ms);
    --running;
    return Response::Text(200, "ok\n");
  });
  // Many idle connections first: they must not take handler slots.
  std::vector<int> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(Connect(s.port()));
  int slow = Connect(s.port());
  SendAll(slow, "GET /slow HTTP/1.1\r\n\r\n");
  REQUIRE(Eventually([&] { return running.load() == 1; }));
  int fast = Connect(s.port());
  const auto start = Clock::now();
  SendAll(fast, "GET /fast HTTP/1.1\r\n\r\n");
  bool closed = false;
  CHECK(Status(ReadResponse(fast, closed)) == 200);
  CHECK(Clock::now() - start < 600ms);  // answered while /slow still runs
  CHECK(Status(ReadResponse(slow, closed)) == 200);
  close(fast);
  close(slow);
  for (int fd : idle) close(fd);
  CHECK(most.load() <= 2);
}

TEST_CASE("http server: requests of one lane never wait behind the other's") {
  ServerOptions o;
  o.max_handlers = 1;
  o.lane = [](const Request& r) { return r.path == "/probe" ? 1 : 0; };
  std::atomic<bool> release{false};
  std::atomic<int> probes_running{0}, probes_most{0};
  TestServer s(o, [&](const Request& r) {
    if (r.path == "/probe") {
      const int now = ++probes_running;
      int seen = probes_most.load();
      while (now > seen && !probes_most.compare_exchange_weak(seen, now)) {
      }
      // Held until the test lets go (bounded, so a failing test does not hang).
      for (auto end = Clock::now() + 10s; !release.load() && Clock::now() < end;) std::this_thread::sleep_for(5ms);
      --probes_running;
    }
    return Response::Text(200, "ok\n");
  });
  std::vector<int> probes;
  for (int i = 0; i < 3; ++i) {  // one runs, two wait in lane 1
    probes.push_back(Connect(s.port()));
    SendAll(probes.back(), "GET /probe HTTP/1.1\r\n\r\n");
  }
  REQUIRE(Eventually([&] { return probes_running.load() == 1; }));
  int metrics = Connect(s.port());
  SendAll(metrics, "GET /metrics HTTP/1.1\r\n\r\n");
  bool closed = false;
  CHECK(Status(ReadResponse(metrics, closed, 3s)) == 200);  // lane 0 has its own worker
  CHECK(probes_running.load() == 1);                        // while the probe is still held
  release = true;
  for (int fd : probes) {
    CHECK(Status(ReadResponse(fd, closed)) == 200);
    close(fd);
  }
  close(metrics);
  CHECK(probes_most.load() == 1);  // lane 1 kept to its one worker
}

// A connection to the server on 127.0.0.1 from another loopback source address: a second client.
int ConnectFrom(const char* source, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, source, &a.sin_addr) == 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

TEST_CASE("http server: a client with many waiting requests delays another client's by one of them, not all") {
  ServerOptions o;
  o.max_handlers = 1;
  std::atomic<int> started{0}, released{0};
  std::mutex mu;
  std::vector<std::string> order;                // guarded by mu
  std::map<std::string, std::string> client_of;  // path -> Request::client; guarded by mu
  TestServer s(o, [&](const Request& r) {
    const int mine = started++;
    {
      std::lock_guard lock(mu);
      order.push_back(r.path);
      client_of[r.path] = r.client;
    }
    // Held until the test lets it go (bounded, so a failing test does not hang).
    for (auto end = Clock::now() + 10s; released.load() <= mine && Clock::now() < end;)
      std::this_thread::sleep_for(2ms);
    return Response::Text(200, "ok\n");
  });
  // Client A (127.0.0.1) floods: one request runs, four wait. Then client B (127.0.0.2) asks.
  std::vector<int> flood;
  for (int i = 0; i < 5; ++i) {
    flood.push_back(Connect(s.port()));
    SendAll(flood.back(), "GET /a" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    if (i == 0) REQUIRE(Eventually([&] { return started.load() == 1; }));
  }
  REQUIRE(Eventually([&] { return s.server->stats().requests.load() == 5; }));
  const int b = ConnectFrom("127.0.0.2", s.port());
  SendAll(b, "GET /b HTTP/1.1\r\n\r\n");
  REQUIRE(Eventually([&] { return s.server->stats().requests.load() == 6; }));
  // The loop, one thread, answers a malformed head itself: once it has, it has also queued B's
  // request, which it read before.
  const int probe = Connect(s.port());
  SendAll(probe, "NONSENSE\r\n\r\n");
  bool closed = false;
  CHECK(Status(ReadResponse(probe, closed)) == 400);
  close(probe);
  released = 100;
  CHECK(Status(ReadResponse(b, closed)) == 200);
  for (int fd : flood) {
    CHECK(Status(ReadResponse(fd, closed)) == 200);
    close(fd);
  }
  close(b);
  std::lock_guard lock(mu);
  REQUIRE(order.size() == 6);
  CHECK(order[0] == "/a0");  // running when B asked
  CHECK(order[1] == "/a1");  // A's turn had come before B asked
  CHECK(order[2] == "/b");   // then B's: not after A's whole backlog
  CHECK(order[3] == "/a2");  // A's own requests keep their order
  CHECK(order[5] == "/a4");
  // Handlers see who asks (basic auth keys its pause on it): the two addresses, A's the same.
  CHECK(client_of["/a0"].size() == 4);
  CHECK(client_of["/a0"] == client_of["/a4"]);
  CHECK(client_of["/b"].size() == 4);
  CHECK(client_of["/b"] != client_of["/a0"]);
}

TEST_CASE("http server: a client that resets its connection while its handler runs costs no CPU") {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  TestServer s({}, [&](const Request&) {
    ++started;
    for (auto deadline = Clock::now() + 5s; !release && Clock::now() < deadline;) std::this_thread::sleep_for(5ms);
    return Response::Text(200, "ok\n");
  });
  std::vector<int> gone;
  for (int i = 0; i < 5; ++i) {
    int fd = Connect(s.port());
    SendAll(fd, "GET /slow HTTP/1.1\r\n\r\n");
    gone.push_back(fd);
  }
  REQUIRE(Eventually([&] { return started.load() == 5; }));
  for (int fd : gone) {
    linger reset{1, 0};  // close() sends RST: the server's socket reports EPOLLHUP and EPOLLERR
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
  }
  // The server must stop listening to a socket whose peer is gone, not be woken by it over and
  // over while the handler runs (hang-ups are reported whatever the interest mask says).
  timespec a{}, b{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  std::this_thread::sleep_for(1s);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  const double used = static_cast<double>(b.tv_sec - a.tv_sec) + static_cast<double>(b.tv_nsec - a.tv_nsec) / 1e9;
  INFO("CPU over 1 s with 5 handlers of reset connections running: " << used << " s");
  CHECK(used < 0.3);
  release = true;
  // The responses find their connections gone; the server goes on.
  REQUIRE(Eventually([&] { return s.server->stats().open.load() == 0; }));
  int fd = Connect(s.port());
  SendAll(fd, "GET /next HTTP/1.1\r\n\r\n");
  bool closed = false;
  CHECK(Status(ReadResponse(fd, closed)) == 200);
  close(fd);
}

TEST_CASE("http server: a response larger than the socket takes at once arrives byte for byte to a slow reader") {
  std::string body(3 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  TestServer s({}, [&](const Request&) {
    Response r = Response::Text(200, "");
    r.body = {body.substr(0, 1000), body.substr(1000, 2 << 20), body.substr(1000 + (2 << 20))};  // pieces
    return r;
  });
  // A small receive window and pauses while reading make the server's writes stop part-way
  // through pieces, again and again (the kernel takes ~1.6 MB into a loopback socket).
  int fd = Connect(s.port(), 4096);
  SendAll(fd, "GET / HTTP/1.1\r\n\r\n");
  std::string in;
  char buf[65536];
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    pollfd p{fd, POLLIN, 100};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    const auto head_end = in.find("\r\n\r\n");
    if (head_end != std::string::npos && in.size() >= head_end + 4 + body.size()) break;
    if (in.size() % 7 == 0) std::this_thread::sleep_for(2ms);
  }
  close(fd);
  const std::string got = Body(in);
  CHECK(got.size() == body.size());
  const bool same = got == body;
  CHECK(same);
}

TEST_CASE("http server: clients that ask and never read hold at most --web.max-unsent-bytes") {
  ServerOptions o;
  o.max_unsent_bytes = 4 << 20;
  // Bigger than what the kernel takes into a loopback socket that is not read (~1.6 MB).
  const std::string body(4 << 20, 'x');
  TestServer s(o, [&](const Request&) { return Response::Text(200, body); });
  // Ten clients with a tiny receive window ask and never read: together they would leave
  // about 24 MB in the server. The oldest stalled writers are closed to keep 4 MB.
  std::vector<int> stalled;
  for (int i = 0; i < 10; ++i) {
    int fd = Connect(s.port(), 1024);
    SendAll(fd, "GET / HTTP/1.1\r\n\r\n");
    stalled.push_back(fd);
    REQUIRE(Eventually([&] { return s.server->stats().requests.load() == static_cast<std::uint64_t>(i + 1); }));
  }
  // At most one response's unsent part fits beside a new one: eight writers or more were
  // closed, the first first.
  CHECK(Eventually([&] { return s.server->stats().closed[ServerStats::kEvicted].load() >= 8; }));
  CHECK(ClosedWithin(stalled.front(), 2s));
  // A client that reads gets its whole response meanwhile.
  int reader = Connect(s.port());
  SendAll(reader, "GET / HTTP/1.1\r\n\r\n");
  bool closed = false;
  const std::string response = ReadResponse(reader, closed);
  CHECK(Status(response) == 200);
  CHECK(Body(response).size() == body.size());
  CHECK(Body(response).find_first_not_of('x') == std::string::npos);
  close(reader);
  for (int fd : stalled) close(fd);
}

TEST_CASE("http server: a handler that throws is a 500, and the server goes on") {
  TestServer s({}, [](const Request& r) -> Response {
    if (r.path == "/throw") throw std::runtime_error("boom");
    return Response::Text(200, "ok\n");
  });
  int fd = Connect(s.port());
  bool closed = false;
  SendAll(fd, "GET /throw HTTP/1.1\r\n\r\n");
  CHECK(Status(ReadResponse(fd, closed)) == 500);
  SendAll(fd, "GET /ok HTTP/1.1\r\n\r\n");
  CHECK(Status(ReadResponse(fd, closed)) == 200);
  close(fd);
}

TEST_CASE("http server: a port in use is an error naming bind") {
  TestServer a;
  ServerOptions o;
  o.listen_address = "127.0.0.1:" + std::to_string(a.port());
  Server b(o, [](const Request&) { return Response::Text(200, ""); });
  std::string error;
  CHECK_FALSE(b.Start(error));
  CHECK(error.find("bind") != std::string::npos);
}
