// The connection layer against peers that misbehave: every failure is a cause and a message,
// within the deadline, never a hang or a crash.
#include <doctest/doctest.h>

#include "redis/connection.h"
#include "tests/unit/fake_server.h"

using namespace rse::redis;
using rse::test::FakeServer;
using namespace std::chrono_literals;

namespace {

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
  FakeServer server(FakeServer::Scripted([](const std::vector<std::string>&) {
    return std::string("-NOAUTH Authentication required.\r\n");
  }));
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
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool has_v6 = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  if (fd >= 0) close(fd);
  if (!has_v6) return;
  Connection c(Address{"::1", static_cast<std::uint16_t>(ClosedPort())}, {});
  auto st = RunOne(c, {{"PING"}}, 2s);
  CHECK(st.cause == Cause::kRefused);
  CHECK(c.address().ToString().rfind("[::1]:", 0) == 0);
}
