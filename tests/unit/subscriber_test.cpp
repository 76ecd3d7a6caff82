// redis/subscriber.h against in-process fake Sentinels on 127.0.0.1: a subscription is
// confirmed and its pushes delivered; garbage, a huge payload or a refusal end it, and it is
// retried with backoff; one thread serves every subscription, and one that never opens
// delays no other.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/subscriber.h"
#include "tests/unit/fake_server.h"

using rse::redis::Address;
using rse::redis::Cause;
using rse::redis::Reply;
using rse::redis::Status;
using rse::redis::Subscriber;
using rse::test::FakeServer;

namespace {

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string PMessage(const std::string& channel, const std::string& payload) {
  return "*4\r\n" + Bulk("pmessage") + Bulk("*") + Bulk(channel) + Bulk(payload);
}
const std::string kConfirm = "*3\r\n" + Bulk("psubscribe") + Bulk("*") + ":1\r\n";

// A fake Sentinel: answers the subscribe command with `first`, then sends `then` and stays open.
FakeServer::Handler Publisher(std::string first, std::string then) {
  return [=](int fd, const std::atomic<bool>& stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return;
    char buf[4096];
    if (recv(fd, buf, sizeof(buf), 0) <= 0) return;
    send(fd, first.data(), first.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (size_t off = 0; off < then.size() && !stop; off += 65536) {
      std::string part = then.substr(off, 65536);
      if (send(fd, part.data(), part.size(), MSG_NOSIGNAL) < 0) return;
    }
    while (!stop) {
      pollfd q{fd, POLLIN, 0};
      if (poll(&q, 1, 20) > 0) {
        if (recv(fd, buf, sizeof(buf), 0) <= 0) return;
      }
    }
  };
}

struct Recorder : Subscriber::Sink {
  std::mutex mu;
  std::vector<std::pair<bool, Status>> states;
  std::vector<std::string> channels;
  void OnState(const Address&, bool up, const Status& why) override {
    std::lock_guard lock(mu);
    states.emplace_back(up, why);
  }
  void OnMessage(const Address&, const Reply& reply) override {
    std::lock_guard lock(mu);
    if (reply.IsArray() && reply.elements.size() == 4) channels.push_back(reply.elements[2].str);
  }
  template <typename F>
  bool Wait(F&& condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (condition()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

int Threads() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

Address Local(int port) { return {"127.0.0.1", static_cast<std::uint16_t>(port)}; }

Subscriber::Options Fast() {
  Subscriber::Options o;
  o.min_backoff = std::chrono::milliseconds(50);
  o.max_backoff = std::chrono::milliseconds(200);
  return o;
}

}  // namespace

TEST_CASE("subscriber: a confirmed subscription delivers every push, from several Sentinels on one thread") {
  std::string events;
  for (int i = 0; i < 500; ++i)
    events += PMessage(i % 2 ? "+sdown" : "-sdown", "slave 127.0.0.1:1 127.0.0.1 1 @ m 127.0.0.1 2");
  FakeServer a(Publisher(kConfirm, events)), b(Publisher(kConfirm, PMessage("+tilt", "#tilt mode entered")));
  auto rec = std::make_shared<Recorder>();
  Subscriber sub;
  sub.Set(&sub, {Local(a.port()), Local(b.port())}, Fast(), rec);
  CHECK(rec->Wait([&] { return rec->channels.size() == 501; }));
  CHECK(sub.confirmed() == 2);
  CHECK(sub.connects() == 2);
  {
    std::lock_guard lock(rec->mu);
    REQUIRE(rec->states.size() == 2);
    CHECK(rec->states[0].first);
    CHECK(rec->states[1].first);
  }
  // The same set again opens nothing; a shorter set closes what left it.
  sub.Set(&sub, {Local(a.port()), Local(b.port())}, Fast(), rec);
  sub.Set(&sub, {Local(a.port())}, Fast(), rec);
  CHECK(sub.confirmed() == 1);
  sub.Remove(&sub);
  CHECK(sub.confirmed() == 0);
  CHECK(sub.connects() == 2);
}

TEST_CASE("subscriber: garbage, a huge payload or a refusal end the subscription, it is retried") {
  auto rec = std::make_shared<Recorder>();
  std::string expect_cause;
  Cause cause = Cause::kProtocol;
  std::unique_ptr<FakeServer> server;
  SUBCASE("garbage") {
    server = std::make_unique<FakeServer>(Publisher(kConfirm, "Sgarbage\r\n"));
    expect_cause = "not a Redis reply";
  }
  SUBCASE("a payload beyond the limit") {
    server = std::make_unique<FakeServer>(Publisher(kConfirm, PMessage("+sdown", std::string(4 << 20, 'x'))));
    expect_cause = "message larger than";
  }
  SUBCASE("a huge reply in place of the confirmation") {
    server = std::make_unique<FakeServer>(Publisher(Bulk(std::string(4 << 20, 'x')), ""));
    expect_cause = "reply larger than 65536 bytes";
  }
  SUBCASE("refused") {
    server = std::make_unique<FakeServer>(
        Publisher("-NOPERM this user has no permissions to run the 'psubscribe' command\r\n", ""));
    expect_cause = "subscription refused: NOPERM";
    cause = Cause::kAuth;
  }
  Subscriber sub;
  sub.Set(&sub, {Local(server->port())}, Fast(), rec);
  // Down at least twice: reconnected after the first failure (with backoff), and failed again.
  CHECK(rec->Wait([&] {
    int downs = 0;
    for (const auto& [up, why] : rec->states) downs += !up;
    return downs >= 2;
  }));
  CHECK(server->accepted() >= 2);
  std::lock_guard lock(rec->mu);
  for (const auto& [up, why] : rec->states) {
    if (up) continue;
    CHECK(why.cause == cause);
    CHECK(why.message.find(expect_cause) != std::string::npos);
  }
}

TEST_CASE("subscriber: a socket budget that is spent leaves the stream down with its name, once freed it opens") {
  FakeServer server(Publisher(kConfirm, PMessage("+tilt", "#tilt mode entered")));
  auto budget = std::make_shared<rse::redis::Budget>(1, "the test's 1 socket");
  REQUIRE(budget->Take());  // held by someone else
  auto rec = std::make_shared<Recorder>();
  Subscriber sub;
  auto options = Fast();
  options.budget = budget;
  sub.Set(&sub, {Local(server.port())}, options, rec);
  CHECK(rec->Wait([&] { return !rec->states.empty(); }));
  {
    std::lock_guard lock(rec->mu);
    CHECK_FALSE(rec->states[0].first);
    CHECK(rec->states[0].second.message == "not connected: the test's 1 socket are in use");
  }
  CHECK(server.accepted() == 0);
  budget->Give();
  CHECK(rec->Wait([&] { return rec->channels.size() == 1; }));  // retried, and now within it
  CHECK(sub.confirmed() == 1);
  CHECK(budget->held() == 1);
  sub.Remove(&sub);
  // The loop lets go of a removed subscription's socket once woken: it gives it back.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (budget->held() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(budget->held() == 0);
}

TEST_CASE("subscriber: nothing listening is down, retried, and costs no thread per Sentinel") {
  auto rec = std::make_shared<Recorder>();
  std::vector<Address> closed;
  for (int i = 0; i < 20; ++i) {
    FakeServer probe(FakeServer::Silent());
    closed.push_back(Local(probe.port()));  // free again once probe is gone
  }
  Subscriber sub;
  const int threads = Threads();
  sub.Set(&sub, closed, Fast(), rec);
  CHECK(rec->Wait([&] { return rec->states.size() >= 40; }));
  CHECK(sub.confirmed() == 0);
  CHECK(Threads() == threads);
}

TEST_CASE("subscriber: pushes sent in the same packet as the confirmation are delivered") {
  const std::string pushes =
      PMessage("+switch-master", "m 127.0.0.1 1 127.0.0.1 2") + PMessage("+tilt", "#tilt mode entered");
  FakeServer a(Publisher(kConfirm + pushes, ""));
  auto rec = std::make_shared<Recorder>();
  Subscriber sub;
  sub.Set(&sub, {Local(a.port())}, Fast(), rec);
  REQUIRE(rec->Wait([&] { return rec->channels.size() == 2; }));
  std::lock_guard lock(rec->mu);
  CHECK(rec->channels[0] == "+switch-master");
  CHECK(rec->channels[1] == "+tilt");
}

TEST_CASE("subscriber: Sentinels that accept but never answer are given up on together, not one after another") {
  std::vector<std::unique_ptr<FakeServer>> silent;
  std::vector<Address> addresses;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(std::make_unique<FakeServer>(FakeServer::Silent()));
    addresses.push_back(Local(silent.back()->port()));
  }
  FakeServer fine(Publisher(kConfirm, PMessage("+tilt", "#tilt mode entered")));
  addresses.push_back(Local(fine.port()));
  auto rec = std::make_shared<Recorder>();
  Subscriber::Options o = Fast();
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.min_backoff = o.max_backoff = std::chrono::milliseconds(60000);  // one attempt each here
  Subscriber sub;
  const auto start = std::chrono::steady_clock::now();
  sub.Set(&sub, addresses, o, rec);
  // One after another, the last verdict would come after 3 timeouts (6 s); together, after one.
  REQUIRE(rec->Wait([&] { return rec->states.size() == 4 && rec->channels.size() == 1; }));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(4500));
  sub.Remove(&sub);
}

TEST_CASE("subscriber: a push cut after one of its elements is completed by the next read, not misread") {
  // The first read ends exactly after the array header and two whole elements.
  const std::string first = "*4\r\n" + Bulk("pmessage") + Bulk("*");
  const std::string rest = Bulk("+sdown") + Bulk("slave 127.0.0.1:1 127.0.0.1 1 @ m 127.0.0.1 2") +
                           PMessage("-sdown", "slave 127.0.0.1:1 127.0.0.1 1 @ m 127.0.0.1 2");
  FakeServer a([&](int fd, const std::atomic<bool>& stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return;
    char buf[4096];
    if (recv(fd, buf, sizeof(buf), 0) <= 0) return;
    send(fd, kConfirm.data(), kConfirm.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // confirmed: now a stream read
    send(fd, first.data(), first.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the subscriber reads what came
    send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  auto rec = std::make_shared<Recorder>();
  Subscriber sub;
  sub.Set(&sub, {Local(a.port())}, Fast(), rec);
  REQUIRE(rec->Wait([&] { return rec->channels.size() == 2; }));
  std::lock_guard lock(rec->mu);
  CHECK(rec->channels == std::vector<std::string>{"+sdown", "-sdown"});
  CHECK(rec->states.size() == 1);  // confirmed once, never dropped
}

namespace {

// A Sentinel that confirms the subscription, then sends one push each time the test asks.
struct OnDemandPublisher {
  std::atomic<int> wanted{0};
  FakeServer server{[this](int fd, const std::atomic<bool>& stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return;
    char buf[4096];
    if (recv(fd, buf, sizeof(buf), 0) <= 0) return;
    if (send(fd, kConfirm.data(), kConfirm.size(), MSG_NOSIGNAL) < 0) return;
    for (int sent = 0; !stop;) {
      if (sent < wanted) {
        const std::string push = PMessage("+sdown-" + std::to_string(sent++), "master m 127.0.0.1 1");
        if (send(fd, push.data(), push.size(), MSG_NOSIGNAL) < 0) return;
        continue;
      }
      pollfd q{fd, POLLIN, 0};
      if (poll(&q, 1, 2) > 0 && recv(fd, buf, sizeof(buf), 0) <= 0) return;
    }
  }};
};

// A listening socket that never accepts, its backlog of 0 already taken by one connection: a
// new connection's SYN is dropped, as by a firewall that black-holes the port.
struct NeverAccepts {
  int listen_fd = -1;
  std::vector<int> queued;
  int port = 0;
  NeverAccepts() {
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    port = rse::test::BindTestPort(listen_fd);
    REQUIRE(port != 0);
    REQUIRE(listen(listen_fd, 0) == 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof(a);
    // Fill the queue: one connection completes and waits there unaccepted.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    queued.push_back(fd);
    REQUIRE((connect(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 || errno == EINPROGRESS));
    pollfd p{fd, POLLOUT, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    int err = 0;
    socklen_t elen = sizeof(err);
    REQUIRE(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0);
    REQUIRE(err == 0);
    // A further connection must now hang: otherwise the queue is not full and the test is moot.
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    queued.push_back(probe);
    REQUIRE((connect(probe, reinterpret_cast<sockaddr*>(&a), len) == 0 || errno == EINPROGRESS));
    pollfd q{probe, POLLOUT, 0};
    REQUIRE(poll(&q, 1, 200) == 0);
  }
  ~NeverAccepts() {
    for (int fd : queued) close(fd);
    close(listen_fd);
  }
};

// Counts each address's state changes, and wakes a waiting test on every callback.
struct Watcher : Subscriber::Sink {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, int> ups, downs;  // by port
  std::map<int, Status> last_down;
  int messages = 0;
  void OnState(const Address& address, bool up, const Status& why) override {
    {
      std::lock_guard lock(mu);
      (up ? ups : downs)[address.port]++;
      if (!up) last_down[address.port] = why;
    }
    cv.notify_all();
  }
  void OnMessage(const Address&, const Reply&) override {
    {
      std::lock_guard lock(mu);
      ++messages;
    }
    cv.notify_all();
  }
  template <typename F>
  bool WaitUntil(std::chrono::steady_clock::time_point deadline, F&& condition) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, condition);
  }
};

}  // namespace

TEST_CASE("subscriber: a black-hole Sentinel, retried again and again, never delays another Sentinel's pushes") {
  using namespace std::chrono;
  std::unique_ptr<FakeServer> silent;
  std::unique_ptr<NeverAccepts> never;
  int hole = 0;
  std::string why;
  SUBCASE("accepts and never answers") {
    silent = std::make_unique<FakeServer>(FakeServer::Silent());
    hole = silent->port();
    why = "timed out waiting for the reply";
  }
  SUBCASE("never accepts: its connects hang") {
    never = std::make_unique<NeverAccepts>();
    hole = never->port;
    why = "timed out connecting";
  }
  OnDemandPublisher healthy;
  const int good = healthy.server.port();
  auto watcher = std::make_shared<Watcher>();
  Subscriber::Options o;
  o.connect_timeout = milliseconds(1000);
  o.min_backoff = o.max_backoff = milliseconds(50);  // the black hole is retried at once, again and again
  Subscriber sub;
  sub.Set(&sub, {Local(hole), Local(good)}, o, watcher);
  REQUIRE(watcher->WaitUntil(steady_clock::now() + seconds(10), [&] { return watcher->ups[good] == 1; }));

  // Push after push while the black hole times out three more times: each is delivered far
  // sooner than the connect timeout that a blocking open would make it wait.
  int start_downs = 0;
  {
    std::lock_guard lock(watcher->mu);
    start_downs = watcher->downs[hole];
  }
  const auto until = steady_clock::now() + seconds(20);
  milliseconds slowest{0};
  int pushes = 0;
  for (;;) {
    {
      std::lock_guard lock(watcher->mu);
      if (watcher->downs[hole] >= start_downs + 3) break;
    }
    REQUIRE(steady_clock::now() < until);
    const auto sent = steady_clock::now();
    healthy.wanted = ++pushes;
    REQUIRE(watcher->WaitUntil(sent + seconds(5), [&] { return watcher->messages == pushes; }));
    slowest = std::max(slowest, duration_cast<milliseconds>(steady_clock::now() - sent));
  }
  INFO("pushes: ", pushes, ", slowest delivery: ", slowest.count(), " ms");
  CHECK(slowest < o.connect_timeout / 2);
  std::lock_guard lock(watcher->mu);
  CHECK(watcher->ups[hole] == 0);
  CHECK(watcher->downs[good] == 0);
  CHECK(watcher->last_down[hole].cause == Cause::kTimeout);
  CHECK(watcher->last_down[hole].message == why);
  CHECK(sub.confirmed() == 1);
}

TEST_CASE("subscriber: Remove returns at once while a subscription is still opening, and no callback follows") {
  using namespace std::chrono;
  FakeServer silent(FakeServer::Silent());
  auto watcher = std::make_shared<Watcher>();
  Subscriber::Options o;
  o.connect_timeout = milliseconds(3000);
  Subscriber sub;
  sub.Set(&sub, {Local(silent.port())}, o, watcher);
  // The opening is under way: connected, the subscribe command sent, no answer coming.
  const auto until = steady_clock::now() + seconds(10);
  while (silent.accepted() == 0) {
    REQUIRE(steady_clock::now() < until);
    std::this_thread::sleep_for(milliseconds(5));
  }
  const auto start = steady_clock::now();
  sub.Remove(&sub);
  CHECK(steady_clock::now() - start < o.connect_timeout / 3);
  // Past the opening's deadline, the removed subscription has reported nothing.
  CHECK_FALSE(
      watcher->WaitUntil(start + o.connect_timeout + milliseconds(500), [&] { return !watcher->downs.empty(); }));
  CHECK(sub.confirmed() == 0);
}
