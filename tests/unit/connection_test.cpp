// The connection layer against peers that misbehave: every failure is a cause and a message,
// within the deadline, never a hang or a crash.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

#include "redis/connection.h"
#include "tests/unit/fake_server.h"

using namespace rse::redis;
using rse::test::FakeServer;
using namespace std::chrono_literals;

namespace {

// Runs the requests as one batch; results are written into them.
void Execute(std::vector<Request>& requests, Deadline deadline, const ExecuteOptions& options = {}) {
  Batch batch(deadline, options);
  for (auto& r : requests) {
    batch.Add(r.connection, r.commands, [&r](Request& done) {
      r.status = std::move(done.status);
      r.replies = std::move(done.replies);
    });
  }
  batch.Run();
}

Address Local(int port) { return Address{"127.0.0.1", static_cast<std::uint16_t>(port)}; }

Request Req(Connection& c, std::vector<std::vector<std::string>> commands) {
  Request r;
  r.connection = &c;
  r.commands = std::move(commands);
  return r;
}

Status RunOne(Connection& c, std::vector<std::vector<std::string>> commands, std::chrono::milliseconds timeout,
              std::vector<Reply>* replies = nullptr, const ExecuteOptions& options = {}) {
  std::vector<Request> reqs;
  reqs.push_back(Req(c, std::move(commands)));
  Execute(reqs, Clock::now() + timeout, options);
  if (replies) *replies = reqs[0].replies;
  return reqs[0].status;
}

std::string Pong(const std::vector<std::string>& argv) {
  if (argv[0] == "PING") return "+PONG\r\n";
  if (argv[0] == "ECHO") return "$" + std::to_string(argv[1].size()) + "\r\n" + argv[1] + "\r\n";
  return "-ERR unknown command '" + argv[0] + "'\r\n";
}

int ClosedPort() {
  FakeServer s(FakeServer::Silent());
  return s.port();  // closed when s goes out of scope
}

}  // namespace

TEST_CASE("pipelined commands get their replies in order, error replies included") {
  FakeServer server(FakeServer::Scripted(Pong));
  Connection c(Local(server.port()), {});
  std::vector<Reply> replies;
  auto st = RunOne(c, {{"PING"}, {"ECHO", "hello"}, {"NOPE"}}, 2s, &replies);
  REQUIRE(st.ok());
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].str == "PONG");
  CHECK(replies[1].str == "hello");
  CHECK(replies[2].IsError());
}

TEST_CASE("a connection is kept open and reused between requests") {
  FakeServer server(FakeServer::Scripted(Pong));
  Connection c(Local(server.port()), {});
  for (int i = 0; i < 5; ++i) REQUIRE(RunOne(c, {{"PING"}}, 2s).ok());
  CHECK(c.connects() == 1);
  CHECK(server.accepted() == 1);
}

// Drives an Exchange the way a caller's own poll loop does, to its end.
Status RunExchange(Exchange& ex) {
  while (!ex.done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ex.deadline() - Clock::now()).count();
    pollfd p{ex.fd(), ex.events(), 0};
    const int n = poll(&p, 1, static_cast<int>(std::max<long long>(left + 1, 0)));
    ex.Step(n > 0 ? p.revents : 0);
  }
  return ex.request().status;
}

TEST_CASE("an Exchange with no commands ends once connected (AUTH done) and leaves the socket to the caller") {
  std::vector<std::string> seen;
  std::mutex mu;
  FakeServer server(FakeServer::Scripted([&](const std::vector<std::string>& argv) {
    std::lock_guard lock(mu);
    seen.push_back(argv[0]);
    return argv[0] == "AUTH" ? "+OK\r\n" : Pong(argv);
  }));
  Connection c(Local(server.port()), {"", "secret"});
  Exchange open(&c, {}, Clock::now() + 2s);
  REQUIRE(RunExchange(open).ok());
  CHECK(c.IsOpen());
  CHECK(open.request().replies.empty());
  {
    std::lock_guard lock(mu);
    CHECK(seen == std::vector<std::string>{"AUTH"});
  }

  // The caller's own bytes, written and read on the open socket.
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  std::size_t n = 0;
  short want = 0;
  REQUIRE(c.WriteAvailable(ping.data(), ping.size(), n, want).ok());
  CHECK(n == ping.size());
  std::string got;
  const auto deadline = Clock::now() + 2s;
  while (got.size() < 7 && Clock::now() < deadline) {
    char buf[16];
    REQUIRE(c.ReadAvailable(buf, sizeof(buf), n, want).ok());
    got.append(buf, n);
    pollfd p{c.fd(), want, 0};
    if (n == 0) poll(&p, 1, 100);
  }
  CHECK(got == "+PONG\r\n");
}

TEST_CASE("an Exchange with no commands to a closed port fails as refused") {
  Connection c(Local(ClosedPort()), {});
  Exchange open(&c, {}, Clock::now() + 2s);
  CHECK(RunExchange(open).cause == Cause::kRefused);
  CHECK(!c.IsOpen());
}

TEST_CASE("a kept connection the server closed while idle is reopened once, without failing") {
  int served = 0;
  FakeServer server(FakeServer::Scripted([&](const std::vector<std::string>& argv) {
    // Each connection answers one command, then the server hangs up (idle timeout).
    return served++ % 2 == 0 ? Pong(argv) : std::string();
  }));
  Connection c(Local(server.port()), {});
  REQUIRE(RunOne(c, {{"PING"}}, 2s).ok());
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.ok());
  CHECK(c.connects() == 2);
}

TEST_CASE("refused connection") {
  Connection c(Local(ClosedPort()), {});
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kRefused);
  CHECK(st.message.find("refused") != std::string::npos);
}

TEST_CASE("a peer that accepts and never answers times out at the deadline") {
  FakeServer server(FakeServer::Silent());
  Connection c(Local(server.port()), {});
  auto start = Clock::now();
  auto st = RunOne(c, {{"PING"}}, 300ms);
  auto elapsed = Clock::now() - start;
  CHECK(st.cause == Cause::kTimeout);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 800ms);
  CHECK_FALSE(c.IsOpen());  // a late reply must not be read as the next request's
}

TEST_CASE("a shared deadline brought forward from another thread ends the batch by the new one") {
  SharedDeadline never_later(Clock::now() + 1s);
  never_later.BringForward(Clock::now() + 5s);  // only ever earlier
  CHECK(never_later.get() < Clock::now() + 2s);

  FakeServer server(FakeServer::Silent());
  Connection c(Local(server.port()), {});
  auto start = Clock::now();
  SharedDeadline deadline(start + 10s);
  Batch batch(&deadline);
  Status st;
  batch.Add(&c, {{"PING"}}, [&st](Request& r) { st = r.status; });
  std::thread joiner([&] {
    std::this_thread::sleep_for(100ms);  // the batch is waiting on the silent peer by then
    deadline.BringForward(Clock::now() + 200ms);
  });
  batch.Run();
  joiner.join();
  auto elapsed = Clock::now() - start;
  CHECK(st.cause == Cause::kTimeout);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 1s);  // not the 10 s it started with
}

TEST_CASE("a socket budget: a connection over it is not opened, and a closed one gives its socket back") {
  FakeServer server(FakeServer::Scripted(Pong));
  auto budget = std::make_shared<Budget>(1, "the test's 1 socket");
  Connection first(Local(server.port()), {}, nullptr, budget);
  Connection second(Local(server.port()), {}, nullptr, budget);
  CHECK(RunOne(first, {{"PING"}}, 2s).ok());
  CHECK(budget->held() == 1);
  auto refused = RunOne(second, {{"PING"}}, 2s);
  CHECK(refused.cause == Cause::kIo);
  CHECK(refused.message == "not connected: the test's 1 socket are in use");
  CHECK_FALSE(second.IsOpen());
  first.Close();
  CHECK(budget->held() == 0);
  CHECK(RunOne(second, {{"PING"}}, 2s).ok());
  CHECK(budget->held() == 1);
}

TEST_CASE("many silent peers cost one timeout, not one each, and do not hold up a good one") {
  std::vector<std::unique_ptr<FakeServer>> silent;
  for (int i = 0; i < 8; ++i) silent.push_back(std::make_unique<FakeServer>(FakeServer::Silent()));
  FakeServer good(FakeServer::Scripted(Pong));
  std::vector<std::unique_ptr<Connection>> conns;
  std::vector<Request> reqs;
  for (auto& s : silent) conns.push_back(std::make_unique<Connection>(Local(s->port()), Credentials{}));
  conns.push_back(std::make_unique<Connection>(Local(good.port()), Credentials{}));
  for (auto& c : conns) reqs.push_back(Req(*c, {{"PING"}}));
  auto start = Clock::now();
  Execute(reqs, start + 300ms);
  CHECK(Clock::now() - start < 800ms);
  for (size_t i = 0; i + 1 < reqs.size(); ++i) CHECK(reqs[i].status.cause == Cause::kTimeout);
  CHECK(reqs.back().status.ok());
}

TEST_CASE("garbage from a server that is not Redis is a protocol error") {
  FakeServer server(FakeServer::SendAndClose("HTTP/1.1 400 Bad Request\r\n\r\n"));
  Connection c(Local(server.port()), {});
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kProtocol);
  CHECK(st.message.find("not a Redis reply") != std::string::npos);
}

TEST_CASE("a server closing mid-reply is reported as closed") {
  FakeServer server(FakeServer::SendAndClose("$100\r\nonly a part"));
  Connection c(Local(server.port()), {});
  auto st = RunOne(c, {{"INFO"}}, 2s);
  CHECK(st.cause == Cause::kClosed);
}

TEST_CASE("an endless bulk reply is cut off at the reply size cap") {
  FakeServer server(FakeServer::Endless());
  Connection c(Local(server.port()), {});
  ExecuteOptions small;
  small.max_reply_bytes = 1 << 20;
  auto start = Clock::now();
  auto st = RunOne(c, {{"INFO"}}, 5s, nullptr, small);
  CHECK(st.cause == Cause::kProtocol);
  CHECK(st.message.find("larger than") != std::string::npos);
  CHECK(Clock::now() - start < 2s);
}

TEST_CASE("a budget takes counts up to its max, never part of one") {
  Budget b(10, "ten");
  CHECK(b.Take(4));
  CHECK(b.Take(6));
  CHECK_FALSE(b.Take());
  CHECK(b.held() == 10);
  b.Give(6);
  CHECK_FALSE(b.Take(7));  // over: nothing is taken
  CHECK(b.held() == 4);
  CHECK_FALSE(b.Take(static_cast<std::size_t>(-1)));
  CHECK(b.Take(6));
}

TEST_CASE("a reply budget: bytes count as they arrive, a request over it fails, and every byte comes back") {
  const std::string big(300000, 'x');
  FakeServer server(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "BIG") return "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
    return Pong(argv);
  }));
  Budget budget(100000, "the test's 100000 bytes");
  ExecuteOptions options;
  options.reply_budget = &budget;
  Connection small(Local(server.port()), {});
  Connection large(Local(server.port()), {});
  Batch batch(Clock::now() + 5s, options);
  Status small_status, large_status;
  std::size_t seen_budgeted = 0, held_in_callback = 0;
  batch.Add(&small, {{"PING"}}, [&](Request& r) {
    small_status = r.status;
    seen_budgeted = r.budgeted;  // "+PONG\r\n"
    held_in_callback = budget.held();
  });
  batch.Add(&large, {{"BIG"}}, [&](Request& r) { large_status = r.status; });
  batch.Run();
  CHECK(small_status.ok());
  CHECK(seen_budgeted == 7);
  CHECK(held_in_callback >= 7);
  CHECK(large_status.cause == Cause::kIo);
  CHECK(large_status.message == "reply dropped: the test's 100000 bytes are in use");
  CHECK(budget.held() == 0);  // the failed request's bytes at once, the other's after its callback

  // A callback that keeps the replies takes their bytes over; they stay held until given back.
  Batch keep(Clock::now() + 5s, options);
  std::size_t kept = 0;
  keep.Add(&small, {{"ECHO", "hello"}}, [&](Request& r) { kept = std::exchange(r.budgeted, 0); });
  keep.Run();
  CHECK(kept == 11);  // "$5\r\nhello\r\n"
  CHECK(budget.held() == kept);
  budget.Give(kept);
}

TEST_CASE("AUTH is sent first, once per connection, and a refusal is an auth failure without the secret") {
  const std::string secret = "correct horse";
  std::atomic<int> auths{0};
  FakeServer server(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "AUTH") {
      ++auths;
      bool ok = argv.size() == 3 && argv[1] == "exporter" && argv[2] == secret;
      return ok ? "+OK\r\n" : "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    }
    return Pong(argv);
  }));
  Connection good(Local(server.port()), {"exporter", secret});
  REQUIRE(RunOne(good, {{"PING"}}, 2s).ok());
  REQUIRE(RunOne(good, {{"PING"}}, 2s).ok());
  CHECK(auths == 1);

  Connection bad(Local(server.port()), {"exporter", "wrong secret"});
  auto st = RunOne(bad, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kAuth);
  CHECK(st.message.find("WRONGPASS") != std::string::npos);
  CHECK(st.message.find("wrong secret") == std::string::npos);
}

TEST_CASE("NOAUTH in reply to a command is an auth failure") {
  FakeServer server(FakeServer::Scripted(
      [](const std::vector<std::string>&) { return std::string("-NOAUTH Authentication required.\r\n"); }));
  Connection c(Local(server.port()), {});
  auto st = RunOne(c, {{"INFO"}}, 2s);
  CHECK(st.cause == Cause::kAuth);
  CHECK(st.message.find("NOAUTH") != std::string::npos);
}

TEST_CASE("an unresolvable host name fails with a resolve error") {
  Connection c(Address{"no-such-host.invalid", 6379}, {});
  auto st = RunOne(c, {{"PING"}}, 3s);
  CHECK((st.cause == Cause::kResolve || st.cause == Cause::kTimeout));
}

TEST_CASE("IPv6 loopback peers work when the machine has ::1") {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  bool has_v6 = fd >= 0 && rse::test::BindTestPort(fd, AF_INET6) != 0;
  if (fd >= 0) close(fd);
  if (!has_v6) return;
  Connection c(Address{"::1", static_cast<std::uint16_t>(ClosedPort())}, {});
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kRefused);
  CHECK(c.address().ToString().rfind("[::1]:", 0) == 0);
}

// TLS: the module (librse_tls.so) is loaded in this process on first use, through the test
// binary's RUNPATH. The peers below use OpenSSL directly: a self-signed certificate for
// 127.0.0.1, made once, and a Redis-speaking TLS server on FakeServer's accepted sockets.
struct TestCert {
  SSL_CTX* server = nullptr;
  std::string pem_path;  // the certificate, to trust as a CA file

  TestCert() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("rse-test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(x, key, EVP_sha256());
    server = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(server, x);
    SSL_CTX_use_PrivateKey(server, key);
    char tmpl[] = "/tmp/rse-unit-cert-XXXXXX";
    int fd = mkstemp(tmpl);
    FILE* f = fdopen(fd, "w");
    PEM_write_X509(f, x);
    fclose(f);
    pem_path = tmpl;
    X509_free(x);
    EVP_PKEY_free(key);
  }
  ~TestCert() {
    SSL_CTX_free(server);
    std::remove(pem_path.c_str());
  }
};

const TestCert& Cert() {
  static const TestCert cert;
  return cert;
}

// Answers each command with reply(argv) over TLS; hangs up (close_notify) after
// `close_after` commands when it is positive.
FakeServer::Handler TlsPeer(std::function<std::string(const std::vector<std::string>&)> reply, int close_after = 0) {
  SSL_CTX* ctx = Cert().server;
  return [ctx, reply, close_after](int fd, const std::atomic<bool>& stop) {
    timeval tv{2, 0};  // bounds the blocking handshake and writes
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      RespParser parser;
      int served = 0;
      bool open = true;
      while (open && !stop) {
        if (SSL_pending(ssl) == 0) {
          pollfd p{fd, POLLIN, 0};
          if (poll(&p, 1, 20) <= 0) continue;
        }
        char buf[4096];
        int n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0 || !parser.Feed(buf, static_cast<size_t>(n))) break;
        Reply cmd;
        while (open && parser.Next(cmd) == RespParser::Result::kReply) {
          std::vector<std::string> argv;
          for (const auto& e : cmd.elements) argv.push_back(e.str);
          std::string out = reply(argv);
          if (SSL_write(ssl, out.data(), static_cast<int>(out.size())) <= 0) open = false;
          if (close_after > 0 && ++served == close_after) {
            SSL_shutdown(ssl);
            open = false;
          }
        }
      }
    }
    SSL_free(ssl);
    ERR_clear_error();
  };
}

std::shared_ptr<const TlsContext> VerifyingTls(const std::string& server_name = "") {
  TlsOptions o;
  o.enabled = true;
  o.ca_file = Cert().pem_path;
  o.server_name = server_name;
  std::string error;
  auto ctx = TlsContext::Create(o, error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

std::string Big(const std::vector<std::string>& argv) {
  if (argv[0] == "BIG") {
    std::string body(200000, 'x');  // many TLS records, more than one read buffer
    return "$" + std::to_string(body.size()) + "\r\n" + body + "\r\n";
  }
  return Pong(argv);
}

TEST_CASE("TLS: pipelined commands and a large reply over a verified session, kept open between requests") {
  FakeServer server(TlsPeer(Big));
  Connection c(Local(server.port()), {}, VerifyingTls());
  std::vector<Reply> replies;
  auto st = RunOne(c, {{"PING"}, {"ECHO", "hello"}, {"BIG"}}, 5s, &replies);
  INFO(st.message);
  REQUIRE(st.ok());
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].str == "PONG");
  CHECK(replies[1].str == "hello");
  CHECK(replies[2].str.size() == 200000);
  st = RunOne(c, {{"ECHO", "again"}}, 5s, &replies);
  REQUIRE(st.ok());
  CHECK(replies[0].str == "again");
  CHECK(c.connects() == 1);
  CHECK(server.accepted() == 1);
}

TEST_CASE("TLS: a kept session the server closed while idle is reopened once, without failing") {
  FakeServer server(TlsPeer(Pong, 1));
  Connection c(Local(server.port()), {}, VerifyingTls());
  REQUIRE(RunOne(c, {{"PING"}}, 5s).ok());
  std::this_thread::sleep_for(100ms);  // the close_notify arrives
  auto st = RunOne(c, {{"PING"}}, 5s);
  INFO(st.message);
  CHECK(st.ok());
  CHECK(c.connects() == 2);
}

TEST_CASE("TLS: a certificate that does not name the node fails verification") {
  FakeServer server(TlsPeer(Pong));
  Connection c(Local(server.port()), {}, VerifyingTls("redis.example.net"));
  auto st = RunOne(c, {{"PING"}}, 5s);
  CHECK(st.cause == Cause::kTls);
  CHECK(st.message.rfind("TLS: certificate verification failed: ", 0) == 0);
  CHECK_FALSE(c.IsOpen());
}

std::shared_ptr<const TlsContext> InsecureTls() {
  TlsOptions o;
  o.enabled = true;
  o.insecure_skip_verify = true;
  std::string error;
  auto ctx = TlsContext::Create(o, error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

TEST_CASE("TLS: files that cannot be loaded are errors naming them") {
  TlsOptions o;
  o.enabled = true;
  o.ca_file = "/nonexistent/ca.crt";
  std::string error;
  CHECK_FALSE(TlsContext::Create(o, error));
  CHECK(error.rfind("cannot load CA file /nonexistent/ca.crt: ", 0) == 0);
  o.ca_file.clear();
  o.cert_file = "/nonexistent/client.crt";
  error.clear();
  CHECK_FALSE(TlsContext::Create(o, error));
  CHECK(error == "a client certificate needs both a certificate file and a key file");
  o.key_file = "/nonexistent/client.key";
  CHECK_FALSE(TlsContext::Create(o, error));
  CHECK(error.rfind("cannot load certificate /nonexistent/client.crt: ", 0) == 0);
}

TEST_CASE("TLS: a peer that answers in plain text fails the handshake as a TLS error") {
  FakeServer server(FakeServer::SendAndClose("-ERR not TLS\r\n"));
  Connection c(Local(server.port()), {}, InsecureTls());
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kTls);
  CHECK(st.message.rfind("TLS: ", 0) == 0);
  CHECK_FALSE(c.IsOpen());
}

TEST_CASE("TLS: a peer that closes during the handshake is a TLS error, not a hang") {
  FakeServer server(FakeServer::SendAndClose(""));
  Connection c(Local(server.port()), {}, InsecureTls());
  auto start = Clock::now();
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(Clock::now() - start < 1s);
  CHECK(st.cause == Cause::kTls);
  CHECK(st.message.rfind("TLS: ", 0) == 0);  // OpenSSL 3: "... unexpected eof while reading"
}

TEST_CASE("TLS: a peer that never answers the handshake times out at the deadline") {
  FakeServer server(FakeServer::Silent());
  Connection c(Local(server.port()), {}, InsecureTls());
  auto start = Clock::now();
  auto st = RunOne(c, {{"PING"}}, 300ms);
  CHECK(Clock::now() - start < 800ms);
  CHECK(st.cause == Cause::kTimeout);
  CHECK(st.message == "timed out in the TLS handshake");
}
