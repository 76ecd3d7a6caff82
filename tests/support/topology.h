#pragma once

// A real local Sentinel topology for a test, started and stopped through scripts/topology.sh
// (the same launcher the demo and the benchmarks use). Stopped by the destructor.

#include <map>
#include <string>
#include <vector>

#include "tests/support/ports.h"

namespace rse::test {

struct TopologyOptions {
  int groups = 1;
  std::string master_name = "aragora-master";
  std::string password = "test-pw-7f3a";  // empty: no auth
  // Short enough for quick drills; at 1000 ms a Sentinel occasionally flags a just-promoted
  // master down and fails over a second time (seen about 1 run in 15 on 2 busy cores).
  int down_after_ms = 2500;
  int failover_timeout_ms = 10000;
  // The servers (scripts/topology.sh --server-bin, --sentinel-bin); empty: Redis' own.
  std::string server_bin{};
  std::string sentinel_bin{};
};

// A node SIGSTOPped for a test: its socket still accepts and nothing answers, the nastiest
// failure for a scraper. Resumed by Resume() or by the destructor, so a failed check never
// leaves a node stopped.
class PausedNode {
 public:
  explicit PausedNode(int pid);  // fails the test if the node cannot be stopped
  ~PausedNode() { Resume(); }
  PausedNode(const PausedNode&) = delete;
  PausedNode& operator=(const PausedNode&) = delete;
  void Resume();  // SIGCONT; once

 private:
  int pid_;
};

// Options for a Valkey topology (tests labelled "valkey"): valkey-server from $RSE_VALKEY_BIN
// (scripts/test.sh sets it to what scripts/valkey.sh builds), and valkey-sentinel beside it.
// Fails the test, saying what to do, when that server does not run; `version` gets its
// version ("8.1.1").
TopologyOptions ValkeyOptions(std::string* version = nullptr);

class LocalTopology {
 public:
  explicit LocalTopology(TopologyOptions options = {});
  ~LocalTopology();
  LocalTopology(const LocalTopology&) = delete;
  LocalTopology& operator=(const LocalTopology&) = delete;

  const TopologyOptions& options() const { return options_; }
  const std::string& dir() const { return dir_; }
  const std::string& password_file() const { return password_file_; }
  std::string Env(const std::string& key) const;  // a topology.env value
  std::vector<int> data_ports() const;
  std::vector<int> sentinel_ports() const;
  std::string sentinel(int i) const;  // "127.0.0.1:port" of the i-th Sentinel
  std::string data(int i) const;      // "127.0.0.1:port" of the i-th data node

  int Pid(int port) const;  // from the node's pidfile
  PausedNode Pause(int port) const { return PausedNode(Pid(port)); }
  // redis-cli against a node; the data nodes' password goes through REDISCLI_AUTH, never argv.
  // Returns trimmed stdout.
  std::string Cli(int port, const std::vector<std::string>& args) const;
  // CONFIG SET replica-priority on data nodes; false if any refuses.
  bool SetReplicaPriority(const std::vector<int>& ports, int priority) const;
  // Waits until every Sentinel of `master` (default: the one group's) reports `priority` for
  // each of `ports`; false after 25 s. Sentinel chooses the replica to promote by the priority
  // it last read from the replica's INFO, which it asks every 10 s: a failover started before
  // that can promote a replica the test meant to rule out. Set early, wait just before.
  bool SentinelsReportPriority(const std::vector<int>& ports, int priority, const std::string& master = "") const;
  void StopNode(int port);
  void StartNode(int port);
  void Stop();

 private:
  void Script(const std::vector<std::string>& args);

  TopologyOptions options_;
  std::string dir_;
  std::string password_file_;
  std::map<std::string, std::string> env_;
  bool running_ = false;
};

}  // namespace rse::test
