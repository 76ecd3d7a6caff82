// Discovery and fetching (rse::Topology) against scripted fake Sentinels and data nodes:
// what the scrape makes of nodes that are of the wrong kind, lie, or do not know a master;
// and discovery (rse::Discover) through a scripted transport: what it asks of whom.
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <doctest/doctest.h>

#include "collectors/metrics.h"
#include "collectors/registry.h"
#include "exporter/topology.h"
#include "model/health.h"
#include "redis/reply.h"
#include "tests/unit/fake_server.h"

using rse::test::FakeServer;
using namespace std::chrono_literals;

namespace {

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

std::string FlatArray(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) out += Bulk(i);
  return out;
}

// A Sentinel that monitors one master `name` at master_host:master_port with no replicas or peers.
FakeServer::Handler FakeSentinel(const std::string& name, int master_port, const std::string& id,
                                 const std::string& master_host = "127.0.0.1") {
  return FakeServer::Scripted([=](const std::vector<std::string>& argv) -> std::string {
    const std::string master =
        FlatArray({"name", name, "ip", master_host, "port", std::to_string(master_port), "flags", "master",
                   "num-slaves", "0", "num-other-sentinels", "0", "quorum", "1", "config-epoch", "3"});
    if (argv[0] == "INFO") {
      return Bulk("# Server\r\nredis_mode:sentinel\r\n\r\n# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n");
    }
    if (argv[0] != "SENTINEL") return "-ERR unknown command\r\n";
    const std::string& sub = argv[1];
    if (sub == "MYID") return Bulk(id);
    if (sub == "MASTERS") return "*1\r\n" + master;
    if (argv.size() > 2 && argv[2] != name) {
      return "-ERR No such master with that name\r\n";
    }
    if (sub == "MASTER") return master;
    if (sub == "REPLICAS" || sub == "SENTINELS") return "*0\r\n";
    if (sub == "CKQUORUM") return "+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n";
    if (sub == "GET-MASTER-ADDR-BY-NAME") return FlatArray({master_host, std::to_string(master_port)});
    return "-ERR unknown subcommand\r\n";
  });
}

FakeServer::Handler FakeMaster() {
  return FakeServer::Scripted([](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "INFO")
      return Bulk(
          "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n"
          "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
    return "+PONG\r\n";
  });
}

rse::redis::Address Local(int port) { return {"127.0.0.1", static_cast<std::uint16_t>(port)}; }

const rse::collectors::SentinelNode& SentinelAt(const rse::collectors::Snapshot& snap, int port) {
  for (const auto& s : snap.sentinels) {
    if (s.address == Local(port)) return s;
  }
  FAIL("no Sentinel at port " << port);
  throw std::logic_error("unreachable");
}

rse::FetchOptions Options() {
  rse::FetchOptions o;
  o.needs.data_info = rse::collectors::Needs::DataInfo::kFull;
  o.needs.ckquorum = true;
  return o;
}

}  // namespace

TEST_CASE("a fake Sentinel's master is discovered and fetched") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->sentinels.size() == 1);
  CHECK(snap->sentinels[0].up());
  REQUIRE(snap->sentinels[0].masters.size() == 1);
  CHECK(snap->sentinels[0].masters[0].ckquorum->ok);
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].up());
  CHECK(snap->nodes[0].master_name == "m1");
}

TEST_CASE("a reply budget: a fetch's snapshot holds its reply bytes while it lives, a node over it is down") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  auto options = Options();
  options.reply_budget = std::make_shared<rse::redis::Budget>(1 << 20, "the test's reply bytes");
  rse::Topology topo({{Local(sentinel.port())}, {}}, options);
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].up());
  const std::size_t held = options.reply_budget->held();
  CHECK(held > 100);  // the Sentinel's replies and the master's INFO
  CHECK(held < 4096);
  snap.reset();
  CHECK(options.reply_budget->held() == 0);

  // Spent by someone else: nothing more fits, and the nodes say why.
  REQUIRE(options.reply_budget->Take((1 << 20) - 16));
  snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->sentinels.size() == 1);
  CHECK_FALSE(snap->sentinels[0].up());
  CHECK(snap->sentinels[0].error.message == "reply dropped: the test's reply bytes are in use");
  snap.reset();
  CHECK(options.reply_budget->held() == (1 << 20) - 16);
}

TEST_CASE("a snapshot kept for reuse is dropped once older than its reuse, with its reply bytes") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  auto options = Options();
  options.reply_budget = std::make_shared<rse::redis::Budget>(1 << 20, "the test's reply bytes");
  rse::Topology topo({{Local(sentinel.port())}, {}}, options);
  auto page = topo.Fetch(rse::redis::Clock::now() + 2s, 1s);  // a status page's fetch
  auto again = topo.Fetch(rse::redis::Clock::now() + 2s, 1s);
  CHECK(again == page);  // reused
  page.reset();
  again.reset();
  CHECK(options.reply_budget->held() > 0);  // kept for the next view
  topo.DropStaleSnapshot();
  CHECK(options.reply_budget->held() > 0);  // not stale yet
  const auto deadline = rse::redis::Clock::now() + 5s;
  while (options.reply_budget->held() != 0 && rse::redis::Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    topo.DropStaleSnapshot();
  }
  CHECK(options.reply_budget->held() == 0);
}

TEST_CASE("a scrape's fetch ends early by the previous scrape's rendering, at most a tenth of the timeout") {
  // So a node that never answers costs the scrape its timeout, not the timeout plus rendering.
  rse::Topology topo({{Local(1)}, {}}, Options());
  const auto start = rse::redis::Clock::now();
  CHECK(topo.ScrapeFetchDeadline(start, 2000ms) == start + 2000ms);  // no scrape rendered yet
  topo.NoteRender(30ms);
  CHECK(topo.ScrapeFetchDeadline(start, 2000ms) == start + 1970ms);
  topo.NoteRender(5s);  // one slow rendering cannot take the nodes' time away
  CHECK(topo.ScrapeFetchDeadline(start, 2000ms) == start + 1800ms);
  topo.NoteRender(0ms);
  CHECK(topo.ScrapeFetchDeadline(start, 2000ms) == start + 2000ms);
}

TEST_CASE("a fetch's snapshot carries its groups, analysed once, as AnalyzeGroups finds them") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->groups);
  const auto again = rse::collectors::AnalyzeGroups(*snap);
  REQUIRE(snap->groups->size() == 1);
  REQUIRE(again.size() == 1);
  const auto& g = (*snap->groups)[0];
  CHECK(g.name == "m1");
  CHECK(g.agreed_master == "127.0.0.1:" + std::to_string(master.port()));
  CHECK(g.agreed_master == again[0].agreed_master);
  CHECK(g.master_up);
  CHECK(g.sentinels_up == again[0].sentinels_up);
}

TEST_CASE("a master address that is really a Sentinel is reported as not a data node") {
  // The Sentinel names another Sentinel as the master: INFO there has no role.
  FakeServer other_sentinel(FakeSentinel("x", 1, "id-x"));
  FakeServer s(FakeSentinel("m1", other_sentinel.port(), "id-1"));
  rse::Topology topo({{Local(s.port())}, {"m1"}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->nodes.size() == 1);
  CHECK_FALSE(snap->nodes[0].up());
  CHECK(snap->nodes[0].error.cause == rse::redis::Cause::kProtocol);
  CHECK(snap->nodes[0].error.message.find("not a Redis data node") != std::string::npos);
}

TEST_CASE("a Sentinel address that is really a data node is reported as not a Sentinel") {
  FakeServer data(FakeMaster());
  rse::Topology topo({{Local(data.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->sentinels.size() == 1);
  CHECK_FALSE(snap->sentinels[0].up());
  CHECK(snap->sentinels[0].error.message.find("not a Sentinel") != std::string::npos);
  CHECK(snap->nodes.empty());
}

TEST_CASE("a configured master name a Sentinel does not know leaves it up, with a note") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(sentinel.port())}, {"m1", "unknown-master"}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->sentinels.size() == 1);
  CHECK(snap->sentinels[0].up());
  REQUIRE(snap->sentinels[0].masters.size() == 1);
  CHECK(snap->sentinels[0].masters[0].name == "m1");
  REQUIRE(snap->notes.size() == 1);
  CHECK(snap->notes[0].second.find("No such master") != std::string::npos);
  CHECK(snap->nodes.size() == 1);
}

TEST_CASE("the same Sentinel under two addresses is asked once (SENTINEL MYID)") {
  FakeServer master(FakeMaster());
  FakeServer a(FakeSentinel("m1", master.port(), "same-id"));
  FakeServer b(FakeSentinel("m1", master.port(), "same-id"));
  rse::Topology topo({{Local(a.port()), Local(b.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  CHECK(snap->sentinels.size() == 1);
}

TEST_CASE("garbage from a configured Sentinel: that Sentinel is down, the other one still answers") {
  FakeServer master(FakeMaster());
  FakeServer good(FakeSentinel("m1", master.port(), "id-1"));
  FakeServer garbage(FakeServer::SendAndClose("SSH-2.0-OpenSSH_9.2\r\n"));
  rse::Topology topo({{Local(garbage.port()), Local(good.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->sentinels.size() == 2);
  CHECK_FALSE(SentinelAt(*snap, garbage.port()).up());
  CHECK(SentinelAt(*snap, garbage.port()).error.cause == rse::redis::Cause::kProtocol);
  CHECK(SentinelAt(*snap, good.port()).up());
  CHECK(snap->nodes.size() == 1);
}

TEST_CASE("concurrent fetches of one topology share a single round of commands") {
  std::atomic<int> infos{0};
  FakeServer master(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "INFO") {
      ++infos;
      std::this_thread::sleep_for(100ms);  // hold the fetch open so the others join it
      return Bulk("role:master\r\nconnected_slaves:0\r\n");
    }
    return "+PONG\r\n";
  }));
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(sentinel.port())}, {"m1"}}, Options());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      auto snap = topo.Fetch(rse::redis::Clock::now() + 3s);
      if (!snap->nodes.empty() && snap->nodes[0].up()) ++ok;
    });
    std::this_thread::sleep_for(5ms);
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 10);
  CHECK(infos < 10);
}

TEST_CASE("a hung Sentinel delays only itself: the data nodes another Sentinel names are still asked") {
  FakeServer master(FakeMaster());
  FakeServer hung(FakeServer::Silent());
  FakeServer good(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(hung.port()), Local(good.port())}, {}}, Options());
  auto start = rse::redis::Clock::now();
  auto snap = topo.Fetch(start + 500ms);
  CHECK(rse::redis::Clock::now() - start < 1s);
  REQUIRE(snap->sentinels.size() == 2);
  CHECK(SentinelAt(*snap, hung.port()).error.cause == rse::redis::Cause::kTimeout);
  CHECK(SentinelAt(*snap, good.port()).up());
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].up());
}

TEST_CASE("fetches in steady state reuse their connections") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  for (int i = 0; i < 5; ++i) REQUIRE(topo.Fetch(rse::redis::Clock::now() + 2s)->nodes.at(0).up());
  CHECK(topo.connects() == 2);  // one Sentinel, one data node
  CHECK(master.accepted() == 1);
}

TEST_CASE("a Sentinel naming its master by host name: resolved, labelled by the name") {
  FakeServer master(FakeMaster());
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1", "localhost"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 3s);
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].label() == "localhost:" + std::to_string(master.port()));
  // "localhost" may resolve to ::1 first; the IPv4 listener is found on the next address.
  CHECK(snap->nodes[0].up());
}

TEST_CASE("a Sentinel naming an IPv6 master: [::1]:port in labels") {
  FakeServer master(FakeMaster(), /*ipv6=*/true);
  if (!master.ok()) return;  // no IPv6 loopback on this machine
  FakeServer sentinel(FakeSentinel("m1", master.port(), "id-1", "::1"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].label() == "[::1]:" + std::to_string(master.port()));
  CHECK(snap->nodes[0].up());
}

TEST_CASE("a master name that does not resolve: that node is down with a resolve error, quickly") {
  FakeServer sentinel(FakeSentinel("m1", 6379, "id-1", "no-such-host.invalid"));
  rse::Topology topo({{Local(sentinel.port())}, {}}, Options());
  auto start = rse::redis::Clock::now();
  auto snap = topo.Fetch(start + 3s);
  REQUIRE(snap->nodes.size() == 1);
  CHECK_FALSE(snap->nodes[0].up());
  CHECK((snap->nodes[0].error.cause == rse::redis::Cause::kResolve ||
         snap->nodes[0].error.cause == rse::redis::Cause::kTimeout));
  CHECK(snap->sentinels.at(0).up());
}

TEST_CASE("RESP errors from a Sentinel: unknown command and NOPERM are that Sentinel's failure, with the text") {
  for (const std::string error : {"-ERR unknown command 'SENTINEL', with args beginning with: 'MASTERS'",
                                  "-NOPERM this user has no permissions to run the 'sentinel|masters' command"}) {
    FakeServer odd(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
      if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:1\r\n");
      if (argv[0] == "SENTINEL" && argv[1] == "MYID") return Bulk("odd-id");
      return error + "\r\n";
    }));
    rse::Topology topo({{Local(odd.port())}, {}}, Options());
    auto snap = topo.Fetch(rse::redis::Clock::now() + 2s);
    REQUIRE(snap->sentinels.size() == 1);
    const auto& s = snap->sentinels[0];
    CHECK_FALSE(s.up());
    CHECK(s.error.message.find(error.substr(1, 20)) != std::string::npos);
    CHECK(s.error.cause == (error[1] == 'N' ? rse::redis::Cause::kAuth : rse::redis::Cause::kProtocol));
  }
}

namespace {

// Answers discovery's requests without sockets, first asked, first served, and records them.
class ScriptedTransport : public rse::Transport {
 public:
  struct Asked {
    Kind kind;
    rse::redis::Address addr;
    std::string group;
    bool authenticate;
    std::vector<std::vector<std::string>> commands;
  };
  using Script = std::function<std::string(const rse::redis::Address&, const std::vector<std::string>&)>;

  explicit ScriptedTransport(Script script) : script_(std::move(script)) {}

  void Ask(Kind kind, const rse::redis::Address& addr, const std::string& group, bool authenticate,
           std::vector<std::vector<std::string>> commands, Callback done) override {
    asked.push_back({kind, addr, group, authenticate, commands});
    queue_.push_back({asked.size() - 1, std::move(done)});
  }
  void Run() override {
    while (!queue_.empty()) {
      auto [index, done] = std::move(lifo ? queue_.back() : queue_.front());
      if (lifo) {
        queue_.pop_back();
      } else {
        queue_.pop_front();
      }
      rse::redis::Request req;
      req.commands = asked[index].commands;
      for (const auto& argv : req.commands) {
        rse::redis::Reply reply;
        REQUIRE(rse::redis::ParseOneReply(script_(asked[index].addr, argv), reply));
        req.replies.push_back(std::move(reply));
      }
      done(req);
    }
  }

  std::vector<Asked> asked;
  bool lifo = false;  // the last asked answers first

 private:
  Script script_;
  std::deque<std::pair<size_t, Callback>> queue_;
};

}  // namespace

TEST_CASE("discovery through a transport: Sentinel rounds to the Sentinel, data commands to each node of the group") {
  const int sentinel_port = 26379, master_port = 6379;
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) {
      const std::string master = FlatArray({"name", "m1", "ip", "127.0.0.1", "port", "6379", "flags", "master",
                                            "num-slaves", "0", "num-other-sentinels", "0", "quorum", "1"});
      if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:1\r\n");
      if (argv[1] == "MYID") return Bulk("id-1");
      if (argv[1] == "MASTERS") return "*1\r\n" + master;
      if (argv[1] == "CKQUORUM") return std::string("+OK 1 usable Sentinels\r\n");
      if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", "6380"});
      return std::string("*0\r\n");
    }
    return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
  });
  rse::Target target{{Local(sentinel_port)}, {}};
  auto snap = rse::Discover(target, Options(), transport);

  using Kind = rse::Transport::Kind;
  using Commands = std::vector<std::vector<std::string>>;
  REQUIRE(transport.asked.size() == 3);
  CHECK(transport.asked[0].kind == Kind::kSentinel);
  CHECK(transport.asked[0].addr == Local(sentinel_port));
  CHECK(transport.asked[0].group.empty());
  CHECK(transport.asked[0].commands == Commands{{"INFO", "sentinel"}, {"SENTINEL", "MYID"}, {"SENTINEL", "MASTERS"}});
  CHECK(transport.asked[1].kind == Kind::kSentinel);
  CHECK(transport.asked[1].addr == Local(sentinel_port));
  CHECK(transport.asked[1].commands == Commands{{"SENTINEL", "REPLICAS", "m1"},
                                                {"SENTINEL", "SENTINELS", "m1"},
                                                {"SENTINEL", "CKQUORUM", "m1"},
                                                {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m1"}});
  CHECK(transport.asked[2].kind == Kind::kData);
  CHECK(transport.asked[2].addr == Local(master_port));
  CHECK(transport.asked[2].group == "m1");
  CHECK(transport.asked[2].commands == Commands{{"INFO"}});

  CHECK(snap->target == "127.0.0.1:26379,");
  REQUIRE(snap->sentinels.size() == 1);
  CHECK(snap->sentinels[0].up());
  REQUIRE(snap->sentinels[0].masters.size() == 1);
  CHECK(snap->sentinels[0].masters[0].ckquorum);
  CHECK(snap->sentinels[0].masters[0].client_master == Local(6380));
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].up());
  CHECK(snap->nodes[0].master_name == "m1");
}

TEST_CASE("a Sentinel that names more data nodes than the fetch may ask: the first are asked, the rest noted") {
  // A hostile Sentinel's reply can name a million replicas; each would be a connection.
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) {
      const std::string master = FlatArray({"name", "m1", "ip", "127.0.0.1", "port", "6379", "flags", "master",
                                            "num-slaves", "10", "num-other-sentinels", "0", "quorum", "1"});
      if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:1\r\n");
      if (argv[1] == "MYID") return Bulk("id-1");
      if (argv[1] == "MASTERS") return "*1\r\n" + master;
      if (argv[1] == "REPLICAS") {
        std::string replicas = "*10\r\n";
        for (int port = 7000; port < 7010; ++port) {
          replicas += FlatArray({"name", "127.0.0.1:" + std::to_string(port), "ip", "127.0.0.1", "port",
                                 std::to_string(port), "flags", "slave"});
        }
        return replicas;
      }
      if (argv[1] == "CKQUORUM") return std::string("+OK 1 usable Sentinels\r\n");
      if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", "6379"});
      return std::string("*0\r\n");
    }
    return Bulk("# Replication\r\nrole:slave\r\n");
  });
  auto options = Options();
  options.max_data_nodes = 4;
  auto snap = rse::Discover(rse::Target{{Local(26379)}, {}}, options, transport);
  REQUIRE(snap->sentinels.size() == 1);
  CHECK(snap->sentinels[0].up());
  int data_asked = 0;
  for (const auto& a : transport.asked) data_asked += a.kind == rse::Transport::Kind::kData;
  CHECK(data_asked == 4);
  CHECK(snap->nodes.size() == 4);
  bool noted = false;
  for (const auto& [subject, message] : snap->notes) {
    noted = noted || message == "the Sentinels name more than 4 data nodes: the rest are left out";
  }
  CHECK(noted);
}

TEST_CASE("discovery with a pin: only the target's Sentinels and nodes inside the pin are asked with AUTH") {
  // The Sentinel names a master inside the pin, a replica and a peer Sentinel outside it.
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379 || addr.port == 26380) {
      const std::string master = FlatArray({"name", "m1", "ip", "127.0.0.1", "port", "6379", "flags", "master",
                                            "num-slaves", "1", "num-other-sentinels", "1", "quorum", "1"});
      if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:1\r\n");
      if (argv[1] == "MYID") return Bulk(addr.port == 26379 ? "id-1" : "id-2");
      if (argv[1] == "MASTERS") return "*1\r\n" + master;
      if (argv[1] == "REPLICAS") {
        return "*1\r\n" + FlatArray({"name", "10.9.9.9:6380", "ip", "10.9.9.9", "port", "6380", "flags", "slave"});
      }
      if (argv[1] == "SENTINELS" && addr.port == 26379) {
        return "*1\r\n" + FlatArray({"name", "id-2", "ip", "10.9.9.9", "port", "26380", "runid", "id-2"});
      }
      if (argv[1] == "CKQUORUM") return std::string("+OK 1 usable Sentinels\r\n");
      if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", "6379"});
      return std::string("*0\r\n");
    }
    return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
  });
  auto options = Options();
  options.redis_credentials = {"", "data-pw"};
  options.sentinel_credentials = {"", "sentinel-pw"};
  std::string error;
  options.allowed_addresses = *rse::ParsePatterns({"127.0.0.0/8"}, "pin", error);
  auto snap = rse::Discover({{Local(26379)}, {}}, options, transport);

  std::map<std::string, bool> authenticated;  // "kind addr" -> authenticate, same for every ask
  for (const auto& a : transport.asked) {
    const std::string key = (a.kind == rse::Transport::Kind::kSentinel ? "sentinel " : "data ") + a.addr.ToString();
    CHECK_MESSAGE((!authenticated.count(key) || authenticated[key] == a.authenticate), key);
    authenticated[key] = a.authenticate;
  }
  CHECK(authenticated == std::map<std::string, bool>{{"sentinel 127.0.0.1:26379", true},
                                                     {"data 127.0.0.1:6379", true},
                                                     {"data 10.9.9.9:6380", false},
                                                     {"sentinel 10.9.9.9:26380", false}});
  // One note per withheld node, for the log; none names a secret.
  int notes = 0;
  for (const auto& [subject, message] : snap->notes) {
    if (message.find("outside the allowed addresses") == std::string::npos) continue;
    ++notes;
    CHECK((subject == "node m1 10.9.9.9:6380" || subject == "sentinel 10.9.9.9:26380"));
    CHECK(message.find("-pw") == std::string::npos);
  }
  CHECK(notes == 2);

  // Without a password to withhold there is nothing to say, and without a pin every node is asked with AUTH.
  ScriptedTransport again = transport;
  again.asked.clear();
  options.allowed_addresses.clear();
  auto open = rse::Discover({{Local(26379)}, {}}, options, again);
  for (const auto& a : again.asked) CHECK(a.authenticate);
  for (const auto& [subject, message] : open->notes) CHECK(message.find("outside") == std::string::npos);
}

// The Sentinel on 26379 of the two tests below: one master group m1, its master on 6379.
std::string SentinelOfM1(const std::vector<std::string>& argv) {
  const std::string master = FlatArray({"name", "m1", "ip", "127.0.0.1", "port", "6379", "flags", "master",
                                        "num-slaves", "0", "num-other-sentinels", "0", "quorum", "1"});
  if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:1\r\n");
  if (argv[1] == "MYID") return Bulk("id-1");
  if (argv[1] == "MASTERS") return "*1\r\n" + master;
  if (argv[1] == "CKQUORUM") return "+OK 1 usable Sentinels\r\n";
  if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", "6379"});
  return "*0\r\n";
}

TEST_CASE(
    "the previous fetch's nodes and groups are asked in the Sentinels' first round, a node no Sentinel names is left "
    "out") {
  // 6379 is still m1's master; 6390 was a node of m1 and is no longer named, but answers, with a
  // refusal that would be a note.
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) return SentinelOfM1(argv);
    if (argv[0] == "SLOWLOG") return std::string("-NOPERM no permission\r\n");
    return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
  });
  rse::FetchOptions options = Options();
  options.needs.slowlog = true;
  auto snap = rse::Discover({{Local(26379)}, {}}, options, transport,
                            rse::Found{{{"m1", Local(6379)}, {"m1", Local(6390)}}, {}});

  using Kind = rse::Transport::Kind;
  using Commands = std::vector<std::vector<std::string>>;
  // One round: the Sentinel, asked for m1's group along with MASTERS, and both expected nodes;
  // 6379, named then, is not asked a second time.
  REQUIRE(transport.asked.size() == 3);
  CHECK(transport.asked[0].kind == Kind::kSentinel);
  CHECK(transport.asked[0].commands == Commands{{"INFO", "sentinel"},
                                                {"SENTINEL", "MYID"},
                                                {"SENTINEL", "MASTERS"},
                                                {"SENTINEL", "REPLICAS", "m1"},
                                                {"SENTINEL", "SENTINELS", "m1"},
                                                {"SENTINEL", "CKQUORUM", "m1"},
                                                {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m1"}});
  CHECK(transport.asked[1].kind == Kind::kData);
  CHECK(transport.asked[1].addr == Local(6379));
  CHECK(transport.asked[2].kind == Kind::kData);
  CHECK(transport.asked[2].addr == Local(6390));
  REQUIRE(snap->sentinels.size() == 1);
  REQUIRE(snap->sentinels[0].masters.size() == 1);
  CHECK(snap->sentinels[0].masters[0].ckquorum);
  CHECK(snap->sentinels[0].masters[0].client_master == Local(6379));
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].address == Local(6379));
  CHECK(snap->nodes[0].up());
  for (const auto& [subject, message] : snap->notes) CHECK(subject.find("6390") == std::string::npos);
  CHECK(snap->notes.size() == 1);  // 6379's SLOWLOG refusal

  // Without an answering Sentinel nothing names them: no data node at all, as without expectations.
  ScriptedTransport silent([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) return std::string("-ERR unknown command\r\n");
    return argv[0] == "INFO" ? Bulk("# Replication\r\nrole:master\r\n") : std::string("+OK\r\n");
  });
  auto none = rse::Discover({{Local(26379)}, {}}, options, silent, rse::Found{{{"m1", Local(6379)}}, {}});
  CHECK(none->nodes.empty());
  CHECK_FALSE(none->sentinels.at(0).up());
}

TEST_CASE("an expected data node outside the pin is not asked ahead: only once named, and without AUTH") {
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) {
      if (argv.size() > 1 && argv[1] == "REPLICAS") {
        return "*1\r\n" + FlatArray({"name", "10.9.9.9:6380", "ip", "10.9.9.9", "port", "6380", "flags", "slave"});
      }
      return SentinelOfM1(argv);
    }
    return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:slave\r\n");
  });
  auto options = Options();
  options.redis_credentials = {"", "data-pw"};
  std::string error;
  options.allowed_addresses = *rse::ParsePatterns({"127.0.0.0/8"}, "pin", error);
  auto snap = rse::Discover({{Local(26379)}, {}}, options, transport,
                            rse::Found{{{"m1", Local(6379)}, {"m1", {"10.9.9.9", 6380}}}, {}});
  REQUIRE(transport.asked.size() == 3);
  CHECK(transport.asked[1].addr == Local(6379));  // ahead, inside the pin
  CHECK(transport.asked[1].authenticate);
  CHECK(transport.asked[2].addr == rse::redis::Address{"10.9.9.9", 6380});  // after the Sentinel named it
  CHECK_FALSE(transport.asked[2].authenticate);
  CHECK(snap->nodes.size() == 2);
}

TEST_CASE("a group new since the previous fetch costs a second round, a group gone is dropped with its replies") {
  // The Sentinel now monitors m1 and m2; the previous fetch knew m1 and gone.
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port != 26379) return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
    auto master = [](const std::string& name, int port) {
      return FlatArray({"name", name, "ip", "127.0.0.1", "port", std::to_string(port), "flags", "master", "num-slaves",
                        "0", "num-other-sentinels", "0", "quorum", "1"});
    };
    if (argv[0] == "INFO") return Bulk("# Sentinel\r\nsentinel_masters:2\r\n");
    if (argv[1] == "MYID") return Bulk("id-1");
    if (argv[1] == "MASTERS") return "*2\r\n" + master("m1", 6379) + master("m2", 6479);
    if (argv[2] == "gone") return std::string("-ERR No such master with that name\r\n");
    if (argv[1] == "CKQUORUM") return std::string("+OK 1 usable Sentinels\r\n");
    if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", argv[2] == "m1" ? "6379" : "6479"});
    return std::string("*0\r\n");
  });
  auto snap = rse::Discover({{Local(26379)}, {}}, Options(), transport,
                            rse::Found{{{"m1", Local(6379)}, {"gone", Local(7000)}}, {}});

  using Kind = rse::Transport::Kind;
  using Commands = std::vector<std::vector<std::string>>;
  REQUIRE(transport.asked.size() == 5);
  CHECK(transport.asked[0].commands.size() == 3 + 2 * 4);  // m1's and gone's group commands along
  CHECK(transport.asked[1].addr == Local(6379));
  CHECK(transport.asked[2].addr == Local(7000));
  CHECK(transport.asked[3].kind == Kind::kSentinel);  // the second round: m2 only
  CHECK(transport.asked[3].commands == Commands{{"SENTINEL", "REPLICAS", "m2"},
                                                {"SENTINEL", "SENTINELS", "m2"},
                                                {"SENTINEL", "CKQUORUM", "m2"},
                                                {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m2"}});
  CHECK(transport.asked[4].addr == Local(6479));
  REQUIRE(snap->sentinels.size() == 1);
  const auto& masters = snap->sentinels[0].masters;
  REQUIRE(masters.size() == 2);
  for (const auto& view : masters) {
    CAPTURE(view.name);
    CHECK(view.ckquorum);
    CHECK(view.client_master == Local(view.name == "m1" ? 6379 : 6479));
  }
  REQUIRE(snap->nodes.size() == 2);
  CHECK(snap->nodes[0].address == Local(6379));
  CHECK(snap->nodes[1].address == Local(6479));
}

namespace {

// A Sentinel group of m1 (master 6379) on ports 26379-26381, each naming the other two as
// peers; `state` per port: "up", "down" (every command refused), "empty" (answers, monitors
// nothing: restarted without its configuration), "foreign" (monitors an m1 of another
// topology: master 7777, peer 27000) or "self" (names itself as its one peer, as no Sentinel
// does).
struct ThreeSentinels {
  std::map<int, std::string> state = {{26379, "up"}, {26380, "up"}, {26381, "up"}};

  std::string Reply(const rse::redis::Address& addr, const std::vector<std::string>& argv) const {
    if (addr.port < 26379) return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
    const auto it = state.find(addr.port);
    const std::string what = it == state.end() ? "down" : it->second;
    if (what == "down") return "-ERR connection refused by the script\r\n";
    const bool foreign = what == "foreign";
    const std::string master_port = foreign ? "7777" : "6379";
    const std::string master = FlatArray({"name", "m1", "ip", "127.0.0.1", "port", master_port, "flags", "master",
                                          "num-slaves", "0", "num-other-sentinels", "2", "quorum", "2"});
    if (argv[0] == "INFO")
      return Bulk("# Sentinel\r\nsentinel_masters:" + std::string(what == "empty" ? "0" : "1") + "\r\n");
    if (argv[1] == "MYID") return Bulk("id-" + std::to_string(addr.port));
    if (what == "empty") return argv[1] == "MASTERS" ? std::string("*0\r\n") : "-ERR No such master with that name\r\n";
    if (argv[1] == "MASTERS") return "*1\r\n" + master;
    if (argv[1] == "MASTER") return master;
    if (argv[1] == "SENTINELS") {
      std::vector<int> peers;
      if (foreign) peers = {27000};
      if (what == "self") peers = {addr.port};
      for (int port = 26379; !foreign && what != "self" && port <= 26381; ++port) {
        if (port != addr.port) peers.push_back(port);
      }
      std::string out = "*" + std::to_string(peers.size()) + "\r\n";
      for (int port : peers) {
        out += FlatArray({"name", "127.0.0.1:" + std::to_string(port), "ip", "127.0.0.1", "port", std::to_string(port),
                          "runid", "id-" + std::to_string(port), "flags", "sentinel"});
      }
      return out;
    }
    if (argv[1] == "CKQUORUM") return std::string("+OK 3 usable Sentinels\r\n");
    if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", master_port});
    return std::string("*0\r\n");
  }
};

std::vector<int> SentinelPorts(const rse::collectors::Snapshot& snap) {
  std::vector<int> ports;
  for (const auto& s : snap.sentinels) ports.push_back(s.address.port);
  return ports;
}

}  // namespace

TEST_CASE("the one configured Sentinel down: the Sentinels of the previous fetch keep the topology in view") {
  ThreeSentinels topo;
  ScriptedTransport first([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  const rse::Target target{{Local(26379)}, {}};
  auto found = rse::FoundIn(*rse::Discover(target, Options(), first));
  REQUIRE(found.sentinels.size() == 3);
  CHECK(found.sentinels[1].run_id == "id-26380");

  // Steady: the peers are asked in the configured Sentinel's round trip, not after its reply.
  ScriptedTransport steady([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  auto snap = rse::Discover(target, Options(), steady, found);
  REQUIRE(steady.asked.size() >= 4);
  CHECK(steady.asked[0].addr == Local(26379));
  CHECK(steady.asked[1].addr == Local(26380));
  CHECK(steady.asked[2].addr == Local(26381));
  CHECK(steady.asked[3].addr == Local(6379));
  CHECK(steady.asked.size() == 4);  // one round trip each
  CHECK(SentinelPorts(*snap) == std::vector<int>{26379, 26380, 26381});

  topo.state[26379] = "down";
  ScriptedTransport down([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  snap = rse::Discover(target, Options(), down, rse::FoundIn(*snap));
  REQUIRE(SentinelPorts(*snap) == std::vector<int>{26379, 26380, 26381});
  CHECK_FALSE(snap->sentinels[0].up());
  CHECK(snap->sentinels[1].up());
  CHECK(snap->sentinels[2].up());
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].up());
  const auto groups = rse::collectors::AnalyzeGroups(*snap);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].sentinels_up == 2);
  CHECK(groups[0].agreed_master == "127.0.0.1:6379");

  // And the fetch after, from what this one found.
  ScriptedTransport still([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  CHECK(SentinelPorts(*rse::Discover(target, Options(), still, rse::FoundIn(*snap))) ==
        std::vector<int>{26379, 26380, 26381});

  // Without a previous fetch (a restart meanwhile) nothing names them.
  ScriptedTransport fresh([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  snap = rse::Discover(target, Options(), fresh);
  CHECK(SentinelPorts(*snap) == std::vector<int>{26379});
  CHECK(snap->nodes.empty());
}

TEST_CASE("the configured Sentinel restarted without its configuration: its peers name it, it does not monitor") {
  ThreeSentinels topo;
  ScriptedTransport first([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  for (const bool named : {false, true}) {
    CAPTURE(named);
    const rse::Target target{{Local(26379)}, named ? std::vector<std::string>{"m1"} : std::vector<std::string>{}};
    topo.state[26379] = "up";
    auto found = rse::FoundIn(*rse::Discover(target, Options(), first));
    topo.state[26379] = "empty";
    ScriptedTransport transport([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
    auto snap = rse::Discover(target, Options(), transport, found);
    REQUIRE(SentinelPorts(*snap) == std::vector<int>{26379, 26380, 26381});
    CHECK(snap->sentinels[0].up());
    CHECK(snap->sentinels[0].masters.empty());
    const auto groups = rse::collectors::AnalyzeGroups(*snap);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].sentinels_up == 2);
    CHECK(groups[0].sentinels_not_monitoring == std::vector<std::string>{"127.0.0.1:26379"});
    CHECK(snap->nodes.size() == 1);
  }
}

TEST_CASE("the same Sentinel behind a configured address and found before: the configured address names it") {
  // A Service name in front of the Sentinels, whose connection now reaches the Sentinel the
  // previous fetch found at 127.0.0.1:26380: whichever answers first, the label stays.
  for (const bool lifo : {false, true}) {
    CAPTURE(lifo);
    ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
      if (addr.port == 6379) return Bulk("# Server\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n");
      return SentinelOfM1(argv);
    });
    transport.lifo = lifo;
    const rse::redis::Address service{"sentinel.svc", 26379};
    rse::Found found;
    found.sentinels = {{service, "id-0"}, {Local(26380), "id-1"}};
    found.nodes = {{"m1", Local(6379)}};
    auto snap = rse::Discover({{service}, {}}, Options(), transport, found);
    REQUIRE(transport.asked.size() == 3);
    CHECK(transport.asked[1].addr == Local(26380));  // asked, and answered first with lifo
    REQUIRE(snap->sentinels.size() == 1);
    CHECK(snap->sentinels[0].address == service);
    CHECK(snap->sentinels[0].run_id == "id-1");
    CHECK(snap->nodes.size() == 1);
  }
}

TEST_CASE("a Sentinel of the previous fetch that left the topology is dropped, and what it names is not asked") {
  ThreeSentinels topo;
  const rse::Target target{{Local(26379)}, {}};
  rse::Found found;
  found.sentinels = {{Local(26379), "id-26379"}, {Local(26380), "id-26380"}, {Local(26381), "id-26381"},
                     {Local(26390), "id-26390"}, {Local(26391), "id-26391"}, {Local(26392), "id-26392"}};
  // 26390 now watches an m1 of another topology; 26391 monitors nothing; 26392 names only
  // itself. None is named.
  topo.state[26390] = "foreign";
  topo.state[26391] = "empty";
  topo.state[26392] = "self";
  ScriptedTransport transport([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  auto snap = rse::Discover(target, Options(), transport, found);
  CHECK(SentinelPorts(*snap) == std::vector<int>{26379, 26380, 26381});
  REQUIRE(snap->nodes.size() == 1);
  CHECK(snap->nodes[0].address == Local(6379));
  for (const auto& asked : transport.asked) {
    CAPTURE(asked.addr.ToString());
    CHECK(asked.addr.port != 27000);  // the foreign peer
    CHECK(asked.addr.port != 7777);   // the foreign master
  }
  // Even with the configured Sentinel down, the one that left stays out.
  topo.state[26379] = "down";
  ScriptedTransport down([&](const auto& addr, const auto& argv) { return topo.Reply(addr, argv); });
  snap = rse::Discover(target, Options(), down, found);
  CHECK(SentinelPorts(*snap) == std::vector<int>{26379, 26380, 26381});
  CHECK(snap->nodes.size() == 1);
}

TEST_CASE("a data node that refuses INFO with several sections (Redis before 7) is asked INFO all, and is up") {
  // Redis 6.2 answers INFO with more than one argument with a syntax error.
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) return SentinelOfM1(argv);
    if (argv[0] == "INFO" && argv.size() > 2) return std::string("-ERR syntax error\r\n");
    if (argv == std::vector<std::string>{"INFO", "all"}) {
      return Bulk(
          "# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\n\r\n"
          "# Commandstats\r\ncmdstat_get:calls=7,usec=14,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n");
    }
    return std::string("-ERR unknown command\r\n");
  });
  rse::FetchOptions options = Options();
  options.needs.commandstats = true;
  options.needs.latencystats = true;
  rse::Target target{{Local(26379)}, {}};
  for (int fetch = 0; fetch < 2; ++fetch) {
    transport.asked.clear();
    auto snap = rse::Discover(target, options, transport);
    REQUIRE(snap->nodes.size() == 1);
    CHECK(snap->nodes[0].up());
    CHECK(snap->nodes[0].error.ok());
    CHECK(rse::collectors::Field(snap->nodes[0].info, "cmdstat_get") ==
          std::optional<std::string_view>("calls=7,usec=14,usec_per_call=2.00,rejected_calls=0,failed_calls=0"));
    REQUIRE(transport.asked.size() == 4);
    CHECK(transport.asked[2].commands[0] ==
          std::vector<std::string>{"INFO", "default", "commandstats", "latencystats"});
    CHECK(transport.asked[3].commands[0] == std::vector<std::string>{"INFO", "all"});
    REQUIRE(snap->notes.size() == 1);
    CHECK(snap->notes[0].second.find("INFO all") != std::string::npos);
  }
}

// The names of the families every collector makes of `snap`, as a scrape would.
std::set<std::string> FamilyNames(const rse::collectors::Snapshot& snap) {
  rse::collectors::MetricSink sink;
  std::vector<std::string> problems;
  rse::collectors::CollectReachability(snap, sink);
  for (const auto& spec : rse::collectors::AllCollectors()) spec.factory()->Collect(snap, sink, problems);
  std::set<std::string> names;
  std::istringstream text(sink.Take());
  for (std::string line; std::getline(text, line);) {
    if (line.starts_with("# TYPE ")) names.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

TEST_CASE("a data node before Redis 7 refuses INFO with several sections once per connection, then is asked INFO all") {
  std::mutex mu;
  std::vector<std::vector<std::string>> infos;  // the INFO commands the node received; guarded by mu
  std::atomic<bool> upgraded{false};            // answers as Redis 7 does
  std::atomic<bool> hang_up{false};             // closes the connection at the next command, as a restart does
  FakeServer node(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] != "INFO") return "-ERR unknown command\r\n";
    {
      std::lock_guard lock(mu);
      infos.push_back(argv);
    }
    if (hang_up.exchange(false)) return "";
    if (argv.size() > 2 && !upgraded) return "-ERR syntax error\r\n";
    return Bulk(std::string("# Server\r\nredis_version:") + (upgraded ? "7.2.4" : "6.2.14") +
                "\r\nredis_mode:standalone\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n"
                "# Commandstats\r\ncmdstat_get:calls=7,usec=14,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n");
  }));
  FakeServer sentinel(FakeSentinel("m1", node.port(), "id-1"));
  rse::FetchOptions options = Options();
  options.needs.commandstats = true;
  options.needs.latencystats = true;
  rse::Topology topo({{Local(sentinel.port())}, {}}, options);
  auto fetch = [&] {
    {
      std::lock_guard lock(mu);
      infos.clear();
    }
    return topo.Fetch(rse::redis::Clock::now() + 2s);
  };
  auto received = [&] {
    std::lock_guard lock(mu);
    return infos;
  };
  using Commands = std::vector<std::vector<std::string>>;
  const std::vector<std::string> several{"INFO", "default", "commandstats", "latencystats"};
  const std::vector<std::string> all{"INFO", "all"};

  auto first = fetch();
  CHECK(received() == Commands{several, all});
  REQUIRE(first->nodes.size() == 1);
  CHECK(first->nodes[0].up());
  REQUIRE(first->notes.size() == 1);
  CHECK(first->notes[0].second.find("INFO all") != std::string::npos);

  // Known on this connection: one INFO, no refusal, the same families and the same note (logged once).
  auto second = fetch();
  CHECK(received() == Commands{all});
  REQUIRE(second->nodes.size() == 1);
  CHECK(second->nodes[0].up());
  CHECK(second->notes == first->notes);
  const auto families = FamilyNames(*second);
  CHECK(families.count("redis_commands_total") == 1);
  CHECK(families == FamilyNames(*first));

  // Upgraded in place: the restart closes the connection (that fetch makes of it what it can),
  // and the new connection is asked several sections again.
  upgraded = true;
  hang_up = true;
  fetch();
  auto after = fetch();
  CHECK(received() == Commands{several});
  REQUIRE(after->nodes.size() == 1);
  CHECK(after->nodes[0].up());
  CHECK(after->notes.empty());
  CHECK(FamilyNames(*after) == families);
}

TEST_CASE("a data node that refuses INFO for want of permission is down with the refusal, not asked again") {
  ScriptedTransport transport([](const rse::redis::Address& addr, const std::vector<std::string>& argv) {
    if (addr.port == 26379) return SentinelOfM1(argv);
    return std::string("-NOPERM this user has no permissions to run the 'info' command\r\n");
  });
  rse::FetchOptions options = Options();
  options.needs.commandstats = true;
  auto snap = rse::Discover({{Local(26379)}, {}}, options, transport);
  REQUIRE(snap->nodes.size() == 1);
  CHECK_FALSE(snap->nodes[0].up());
  CHECK(snap->nodes[0].error.message.find("NOPERM") != std::string::npos);
  CHECK(transport.asked.size() == 3);
}
