#pragma once

// Fake Sentinels and data nodes on 127.0.0.1 for tests that drive the real exporter: each
// records every command it receives and answers from a script, so a test can check what
// reached whom (credentials, commands) and hold a reply back (a slow Sentinel).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/fake_server.h"

namespace rse::test {

using Command = std::vector<std::string>;

inline std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

inline std::string FlatArray(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) out += Bulk(i);
  return out;
}

// A fake peer that records every command it receives.
class Recording {
 public:
  using Answer = std::function<std::string(const Command&)>;
  explicit Recording(Answer answer)
      : log_(std::make_shared<Log>()), server_(FakeServer::Scripted([log = log_, answer](const Command& argv) {
          {
            std::lock_guard lock(log->mu);
            log->commands.push_back(argv);
          }
          return answer(argv);
        })) {
    REQUIRE(server_.ok());
  }

  int port() const { return server_.port(); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port()); }
  int accepted() const { return server_.accepted(); }
  std::vector<Command> Commands() const {
    std::lock_guard lock(log_->mu);
    return log_->commands;
  }
  std::vector<Command> Auths() const {
    std::vector<Command> out;
    for (const auto& c : Commands()) {
      if (!c.empty() && (c[0] == "AUTH" || c[0] == "auth")) out.push_back(c);
    }
    return out;
  }
  bool Received(const std::string& name) const {
    for (const auto& c : Commands()) {
      if (!c.empty() && c[0] == name) return true;
    }
    return false;
  }

 private:
  struct Log {
    std::mutex mu;  // Guards commands: every connection's handler thread appends.
    std::vector<Command> commands;
  };
  // Declared before the server: its handler threads hold the log until the server is joined.
  std::shared_ptr<Log> log_;
  FakeServer server_;
};

// A data node that answers everything, password or not (as an attacker's would).
inline std::unique_ptr<Recording> FakeNode() {
  return std::make_unique<Recording>([](const Command& argv) -> std::string {
    if (argv[0] == "AUTH") return "+OK\r\n";
    if (argv[0] == "INFO") {
      return Bulk(
          "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n"
          "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
    }
    return "+PONG\r\n";
  });
}

// A Sentinel monitoring one master group `name` whose master is the node at `node_port`, and
// naming the Sentinels on `peer_ports` as its peers. It accepts the event subscription.
// `before_reply`, when given, runs on the connection's thread before each command is answered
// (a test holds a reply back with it).
inline std::unique_ptr<Recording> FakeSentinel(const std::string& name, int node_port,
                                               std::function<void(const Command&)> before_reply = {},
                                               const std::vector<int>& peer_ports = {}) {
  static std::atomic<int> sentinels{0};
  const std::string id = std::string(39, 'a') + static_cast<char>('a' + sentinels++ % 26);  // MYID: unique
  std::string peers = "*" + std::to_string(peer_ports.size()) + "\r\n";
  for (int port : peer_ports) {
    const std::string peer_id = std::string(39, 'p') + std::to_string(port % 10);
    peers += FlatArray(
        {"name", peer_id, "ip", "127.0.0.1", "port", std::to_string(port), "runid", peer_id, "flags", "sentinel"});
  }
  return std::make_unique<Recording>([=](const Command& argv) -> std::string {
    if (before_reply) before_reply(argv);
    const std::string master = FlatArray({"name", name, "ip", "127.0.0.1", "port", std::to_string(node_port), "flags",
                                          "master", "num-slaves", "0", "num-other-sentinels", "0", "quorum", "1"});
    if (argv[0] == "AUTH") return "+OK\r\n";
    if (argv[0] == "INFO") return Bulk("# Server\r\nredis_mode:sentinel\r\n\r\n# Sentinel\r\nsentinel_masters:1\r\n");
    if (argv[0] == "PSUBSCRIBE" && argv.size() == 2) return "*3\r\n" + Bulk("psubscribe") + Bulk(argv[1]) + ":1\r\n";
    if (argv[0] != "SENTINEL" || argv.size() < 2) return "-ERR unknown command\r\n";
    if (argv[1] == "MYID") return Bulk(id);
    if (argv[1] == "MASTERS") return "*1\r\n" + master;
    if (argv.size() > 2 && argv[2] != name) return "-ERR No such master with that name\r\n";
    if (argv[1] == "MASTER") return master;
    if (argv[1] == "CKQUORUM") return "+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n";
    if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", std::to_string(node_port)});
    if (argv[1] == "SENTINELS") return peers;
    return "*0\r\n";
  });
}

// A Sentinel and the data node it names, as one (fake) topology.
struct FakeTopology {
  explicit FakeTopology(const std::string& name, std::function<void(const Command&)> before_reply = {})
      : node(FakeNode()), sentinel(FakeSentinel(name, node->port(), std::move(before_reply))) {}
  std::unique_ptr<Recording> node;
  std::unique_ptr<Recording> sentinel;
};

}  // namespace rse::test
