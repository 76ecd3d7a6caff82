// The operations scripts (ops/*.sh) run against real local topologies (scripts/topology.sh,
// one per test on free ports), with the launcher's stop-node/start-node as the pluggable node
// action. Every wait is inside the scripts (bounded polls); the tests check the state after.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include <doctest/doctest.h>

#include "tests/support/process.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kSource = RSE_SOURCE_DIR;
const std::string kMaster = "aragora-master";

std::string Script(const std::string& name) { return kSource + "/ops/" + name; }
std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }
bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// A private directory under /tmp, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rse-test-ops-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Shims for redis-cli and the exporter, first on PATH, that log every argument list and
// whether a password came through the environment, then run the real program.
struct ArgvSpy {
  TempDir dir;
  std::string log = dir.path + "/argv.log";
  ArgvSpy() {
    const std::string real_cli = [] {
      auto r = Run({"bash", "-c", "command -v redis-cli"});
      std::string p = r.out;
      while (!p.empty() && p.back() == '\n') p.pop_back();
      return p;
    }();
    Write("redis-cli",
          "port=\"\" prev=\"\"\nfor a in \"$@\"; do [ \"$prev\" = -p ] && port=$a; prev=$a; done\n"
          "printf 'redis-cli port=%s auth=%s argv=%s\\n' \"$port\" \"${REDISCLI_AUTH:+yes}\" \"$*\" >>'" +
              log + "'\nexec '" + real_cli + "' \"$@\"\n");
    Write("redis_sentinel_exporter", "printf 'exporter auth=%s argv=%s\\n' \"${REDIS_PASSWORD:+yes}\" \"$*\" >>'" +
                                         log + "'\nexec '" + std::string(RSE_EXPORTER_BINARY) + "' \"$@\"\n");
  }
  void Write(const std::string& name, const std::string& body) {
    const std::string path = dir.path + "/" + name;
    std::ofstream(path) << "#!/usr/bin/env bash\n" << body;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  }
  std::vector<std::string> Env() const {
    return {"PATH=" + dir.path + ":" + std::getenv("PATH"), "EXPORTER_BIN=" + dir.path + "/redis_sentinel_exporter"};
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    std::stringstream ss(ReadFile(log));
    for (std::string line; std::getline(ss, line);) out.push_back(line);
    return out;
  }
};

// The exporter's variables, as the runbook's users set them; the password only in a file.
std::vector<std::string> OpsEnv(const LocalTopology& topo, std::vector<std::string> extra = {}) {
  std::vector<std::string> env = {"REDIS_SENTINEL_HOSTS=" + topo.sentinel(0),
                                  "REDIS_SENTINEL_MASTER=" + kMaster,
                                  "REDIS_PASSWORD_FILE=" + topo.password_file(),
                                  "REDIS_PASSWORD=",
                                  "REDISCLI_AUTH=",
                                  "EXPORTER_BIN=" + std::string(RSE_EXPORTER_BINARY)};
  env.insert(env.end(), extra.begin(), extra.end());
  return EnvWith(env);
}

CommandResult Ops(const std::string& script, const std::vector<std::string>& args, const std::vector<std::string>& env,
                  std::chrono::seconds timeout = 150s) {
  std::vector<std::string> argv = {"bash", Script(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, env, timeout);
}

// The local launcher as the pluggable node action; NODE_PORT expands when the action runs.
std::string NodeAction(const LocalTopology& topo, const std::string& command) {
  return "bash '" + kSource + "/scripts/topology.sh' " + command + " --dir '" + topo.dir() +
         "/topology' --port \"$NODE_PORT\"";
}

// The master each Sentinel names ("" for no answer).
std::set<std::string> NamedMasters(const LocalTopology& topo) {
  std::set<std::string> out;
  for (int p : topo.sentinel_ports()) {
    std::string r = topo.Cli(p, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", kMaster});
    auto nl = r.find('\n');
    out.insert(nl == std::string::npos ? "" : r.substr(0, nl) + ":" + r.substr(nl + 1));
  }
  return out;
}

std::string ReplicationInfo(const LocalTopology& topo, int port) { return topo.Cli(port, {"INFO", "replication"}); }
bool LinkedReplicaOf(const LocalTopology& topo, int port, const std::string& master) {
  const std::string info = ReplicationInfo(topo, port);
  const auto colon = master.rfind(':');
  const auto line = [&](const std::string& kv) { return std::regex_search(info, std::regex("(^|\n)" + kv + "\r?\n")); };
  return line("role:slave") && line("master_link_status:up") && line("master_host:" + master.substr(0, colon)) &&
         line("master_port:" + master.substr(colon + 1));
}

// A line of a script's report: "  key   value" -> value.
std::string ReportValue(const std::string& out, const std::string& key) {
  std::smatch m;
  if (std::regex_search(out, m, std::regex("\\n  " + key + " +([^\\n]*)"))) return m[1];
  return "";
}

// The argument lists the spy saw: no password anywhere; AUTH (REDISCLI_AUTH) to data nodes only.
// What the topology is comes from `check` (ran_check); redis-cli carries the actions.
void CheckArgvSpy(const ArgvSpy& spy, const LocalTopology& topo, bool ran_check) {
  const auto lines = spy.Lines();
  REQUIRE(!lines.empty());
  int to_sentinels = 0, to_data = 0, checks = 0;
  for (const auto& line : lines) {
    INFO(line);
    CHECK(!Has(line, topo.options().password));
    if (line.rfind("exporter ", 0) == 0) {
      ++checks;
      CHECK(Has(line, "auth=yes"));
      continue;
    }
    bool sentinel = false;
    for (int p : topo.sentinel_ports()) sentinel = sentinel || Has(line, "port=" + std::to_string(p) + " ");
    if (sentinel) {
      ++to_sentinels;
      CHECK(Has(line, "auth= "));
    } else {
      ++to_data;
      CHECK(Has(line, "auth=yes"));
    }
  }
  CHECK(to_sentinels + to_data > 0);
  CHECK((checks > 0) == ran_check);
}

}  // namespace

TEST_CASE("health.sh passes the exporter's check verdict and exit status through") {
  LocalTopology topo;
  auto ok = Ops("health.sh", {}, OpsEnv(topo));
  INFO(ok.out, ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(Has(ok.out, "HEALTHY"));
  CHECK(Has(ok.out, "master " + topo.data(0) + ", named by 3 of 3 answering Sentinels (3 known, a failover needs 2)"));
  auto json = Ops("health.sh", {"--output=json"}, OpsEnv(topo));
  CHECK(json.out.rfind("{\"status\":\"healthy\",\"exit_code\":0,", 0) == 0);

  // Found on PATH when EXPORTER_BIN is not set.
  TempDir bin;
  std::filesystem::create_symlink(RSE_EXPORTER_BINARY, bin.path + "/redis_sentinel_exporter");
  auto on_path = Ops("health.sh", {}, OpsEnv(topo, {"EXPORTER_BIN=", "PATH=" + bin.path + ":" + std::getenv("PATH")}));
  CHECK(on_path.exit_code == 0);

  topo.StopNode(topo.data_ports()[2]);
  auto degraded = Ops("health.sh", {}, OpsEnv(topo));
  INFO(degraded.out, degraded.err);
  CHECK(degraded.exit_code == 1);
  CHECK(Has(degraded.out, "node " + topo.data(2) + " down"));

  auto missing = Ops("health.sh", {}, OpsEnv(topo, {"EXPORTER_BIN=/nonexistent/redis_sentinel_exporter"}));
  CHECK(missing.exit_code == 3);
  CHECK(Has(missing.err, "EXPORTER_BIN"));
}

TEST_CASE("failover-drill.sh: the master goes down, a new one is agreed, the marker survives, the old one rejoins") {
  LocalTopology topo;
  const std::string old = topo.data(0);
  auto r = Ops("failover-drill.sh",
               {"--down-cmd", NodeAction(topo, "stop-node"), "--up-cmd", NodeAction(topo, "start-node"),
                "--failover-timeout", "45", "--rejoin-timeout", "60"},
               OpsEnv(topo));
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReportValue(r.out, "old master") == old);
  const std::string now = ReportValue(r.out, "new master").substr(0, old.size());
  CHECK((now == topo.data(1) || now == topo.data(2)));
  CHECK(Has(r.out, "found on the new master"));
  CHECK(Has(r.out, "new master agreed"));
  CHECK(Has(r.out, "old master rejoined"));
  // The state the drill claims, read directly.
  CHECK(NamedMasters(topo) == std::set<std::string>{now});
  CHECK(LinkedReplicaOf(topo, topo.data_ports()[0], now));
  CHECK(topo.Cli(std::stoi(now.substr(now.rfind(':') + 1)), {"KEYS", "ops:failover-drill:*"}).empty());
}

TEST_CASE("manual-failover.sh moves the master and waits until every replica follows it, no password in argv") {
  LocalTopology topo;
  ArgvSpy spy;
  auto r = Ops("manual-failover.sh", {"--timeout", "45"}, OpsEnv(topo, spy.Env()));
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReportValue(r.out, "old master") == topo.data(0));
  const std::string now = ReportValue(r.out, "new master").substr(0, topo.data(0).size());
  CHECK(now != topo.data(0));
  CHECK(NamedMasters(topo) == std::set<std::string>{now});
  for (int p : topo.data_ports()) {
    if (Addr(p) != now) CHECK(LinkedReplicaOf(topo, p, now));
  }
  CheckArgvSpy(spy, topo, true);
}

TEST_CASE("manual-failover.sh refuses when a replica is down, says why, and changes nothing") {
  LocalTopology topo;
  topo.StopNode(topo.data_ports()[2]);
  auto r = Ops("manual-failover.sh", {"--timeout", "20"}, OpsEnv(topo));
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(Has(r.err, "REFUSED: the topology is not healthy (check exit 1, degraded)"));
  CHECK(Has(r.err, "node " + topo.data(2) + " down"));
  CHECK(!Has(r.err, "SENTINEL FAILOVER"));
  CHECK(NamedMasters(topo) == std::set<std::string>{topo.data(0)});
  CHECK(Has(ReplicationInfo(topo, topo.data_ports()[0]), "role:master"));
}

TEST_CASE("rolling-restart.sh restarts the replicas, fails over, restarts the old master, then each Sentinel") {
  LocalTopology topo;
  std::map<int, int> pids;
  for (int p : topo.data_ports()) pids[p] = topo.Pid(p);
  for (int p : topo.sentinel_ports()) pids[p] = topo.Pid(p);
  const std::string restart = NodeAction(topo, "stop-node") + " && " + NodeAction(topo, "start-node");
  auto r = Ops("rolling-restart.sh", {"--restart-cmd", restart, "--step-timeout", "45"}, OpsEnv(topo), 170s);
  INFO(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Has(r.out, "done, 7 steps"));
  // Replicas first, then the failover, the old master, the Sentinels.
  const std::vector<std::string> order = {"step 1/7: restart replica",
                                          "step 2/7: restart replica",
                                          "step 3/7: manual failover away from " + topo.data(0),
                                          "step 4/7: restart the old master " + topo.data(0),
                                          "step 5/7: restart Sentinel",
                                          "step 6/7: restart Sentinel",
                                          "step 7/7: restart Sentinel"};
  size_t pos = 0;
  for (const auto& s : order) {
    INFO(s);
    auto at = r.err.find(s, pos);
    CHECK(at != std::string::npos);
    if (at != std::string::npos) pos = at;
  }
  for (const auto& [port, pid] : pids) {
    INFO("port ", port);
    CHECK(topo.Pid(port) > 0);
    CHECK(topo.Pid(port) != pid);  // every node was restarted
  }
  const std::string now = ReportValue(r.out, "master after");
  CHECK(now != topo.data(0));
  CHECK(NamedMasters(topo) == std::set<std::string>{now});
  for (int p : topo.data_ports()) {
    if (Addr(p) != now) CHECK(LinkedReplicaOf(topo, p, now));
  }
  auto health = Ops("health.sh", {}, OpsEnv(topo));
  CHECK(health.exit_code == 0);
}

TEST_CASE("rolling-restart.sh stops at the first replica that does not come back, and says where") {
  LocalTopology topo;
  std::map<int, int> pids;
  for (int p : topo.data_ports()) pids[p] = topo.Pid(p);
  TempDir scratch;
  const std::string hook_env = scratch.path + "/hook.env";
  // A restart command that stops the node but never starts it again (and records its environment).
  // The password comes as REDIS_PASSWORD this time: the command must not inherit it.
  auto r = Ops("rolling-restart.sh",
               {"--restart-cmd", "env >'" + hook_env + "' && " + NodeAction(topo, "stop-node"), "--step-timeout", "5"},
               OpsEnv(topo, {"REDIS_PASSWORD_FILE=", "REDIS_PASSWORD=" + topo.options().password}));
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  std::smatch m;
  REQUIRE(
      std::regex_search(r.err, m, std::regex("STOPPED at step 1 of 7 \\(restart replica 127\\.0\\.0\\.1:([0-9]+)\\)")));
  const int stopped = std::stoi(m[1]);
  CHECK(Has(r.err, "answering again"));
  CHECK(Has(r.err, "Connection refused"));
  CHECK(Has(r.err, "steps 1-7 not completed"));
  CHECK(!Has(r.err, "step 2/7"));
  // Nothing after the failed step ran: the master and the other replica are untouched.
  CHECK(NamedMasters(topo) == std::set<std::string>{topo.data(0)});
  for (int p : topo.data_ports()) {
    if (p != stopped) CHECK(topo.Pid(p) == pids[p]);
  }
  CHECK(topo.Cli(stopped, {"PING"}) != "PONG");
  const std::string env = ReadFile(hook_env);
  CHECK(Has(env, "NODE_ADDR=" + Addr(stopped) + "\n"));
  CHECK(Has(env, "NODE_PORT=" + std::to_string(stopped) + "\n"));
  CHECK(Has(env, "NODE_ROLE=replica\n"));
  CHECK(Has(env, "MASTER_NAME=" + kMaster + "\n"));
  CHECK(!Has(env, topo.options().password));
}

TEST_CASE("rolling-restart.sh stops when the Sentinels stop monitoring the group mid-step, and says so") {
  LocalTopology topo;
  // The restart command restarts the replica, and meanwhile every Sentinel forgets the group
  // (an operator's SENTINEL REMOVE, or Sentinels restarted without their configuration).
  std::string forget;
  for (int p : topo.sentinel_ports()) {
    forget += " && redis-cli -h 127.0.0.1 -p " + std::to_string(p) + " SENTINEL REMOVE " + kMaster + " >/dev/null";
  }
  auto r = Ops("rolling-restart.sh",
               {"--restart-cmd", NodeAction(topo, "stop-node") + forget + " && " + NodeAction(topo, "start-node"),
                "--step-timeout", "5"},
               OpsEnv(topo));
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(std::regex_search(r.err, std::regex("STOPPED at step 1 of 7 \\(restart replica 127\\.0\\.0\\.1:[0-9]+\\), "
                                            "while waiting for: 127\\.0\\.0\\.1:[0-9]+ a linked, caught-up replica")));
  CHECK(Has(r.err, "no answering Sentinel monitors a master named '" + kMaster + "'"));
  CHECK(!Has(r.err, "step 2/7"));
  // Nothing after the failed step ran: the master is where it was.
  CHECK(topo.Cli(topo.data_ports()[0], {"ROLE"}).rfind("master", 0) == 0);
}

TEST_CASE("backup.sh saves on the master or a replica, verifies the file and keeps the last N") {
  LocalTopology topo;
  ArgvSpy spy;
  TempDir out;
  const int master = topo.data_ports()[0];
  REQUIRE(topo.Cli(master, {"MSET", "k1", "v1", "k2", "v2", "k3", "v3"}) == "OK");
  REQUIRE(topo.Cli(master, {"WAIT", "2", "5000"}) == "2");
  const std::string lastsave_before = topo.Cli(master, {"LASTSAVE"});
  const std::string dir = out.path + "/backups";
  // A master name no Sentinel monitors (check's `monitored`): refused, with the reason, nothing saved.
  auto typo = Ops("backup.sh", {"--dir", dir}, OpsEnv(topo, {"REDIS_SENTINEL_MASTER=aragora-mastr"}));
  INFO(typo.out, typo.err);
  CHECK(typo.exit_code == 2);
  CHECK(Has(typo.err, "REFUSED: no answering Sentinel monitors a master named 'aragora-mastr'"));
  CHECK(topo.Cli(master, {"LASTSAVE"}) == lastsave_before);
  std::vector<std::string> files;
  for (const char* from : {"master", "master", "replica"}) {
    auto r = Ops("backup.sh", {"--dir", dir, "--keep", "2", "--from", from}, OpsEnv(topo, spy.Env()));
    INFO(from, r.out, r.err);
    REQUIRE(r.exit_code == 0);
    const std::string file = ReportValue(r.out, "file");
    CHECK(std::regex_match(file, std::regex(dir + "/aragora-master-[0-9]{8}T[0-9]{6}Z\\.rdb")));
    CHECK(Has(ReportValue(r.out, "saved on"), std::string("(") + from + ")"));
    CHECK(Has(r.out, "3 keys (redis-check-rdb: RDB looks OK)"));
    files.push_back(file);
  }
  CHECK(std::stol(topo.Cli(master, {"LASTSAVE"})) > std::stol(lastsave_before));
  // --keep 2: the oldest is gone, the two newest stay and are valid RDB files.
  std::set<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir)) left.insert(e.path().string());
  CHECK(left == std::set<std::string>{files[1], files[2]});
  for (const auto& f : left) {
    auto check = Run({"redis-check-rdb", f});
    CHECK(check.exit_code == 0);
    CHECK(Has(check.out, "3 keys read"));
  }
  CheckArgvSpy(spy, topo, true);  // the agreed master comes from check's JSON
}

TEST_CASE("every script: --help, usage errors (exit 3), no Sentinel reachable (exit 2)") {
  for (const char* s : {"health.sh", "failover-drill.sh", "manual-failover.sh", "rolling-restart.sh", "backup.sh"}) {
    auto help = Ops(s, {"--help"}, EnvWith({"EXPORTER_BIN=" + std::string(RSE_EXPORTER_BINARY)}), 20s);
    INFO(s, help.out, help.err);
    CHECK(help.exit_code == 0);
    CHECK(Has(help.out, "Usage: " + std::string(s)));
    CHECK(Has(help.out, "REDIS_SENTINEL_HOSTS"));
  }
  const std::vector<std::string> no_config = EnvWith({"REDIS_SENTINEL_HOSTS=", "REDIS_SENTINEL_MASTER="});
  auto none = Ops("manual-failover.sh", {}, no_config, 20s);
  CHECK(none.exit_code == 3);
  CHECK(Has(none.err, "REDIS_SENTINEL_HOSTS"));
  auto unknown = Ops("rolling-restart.sh", {"--sentinel.addr=127.0.0.1:1", "--sentinel.master-name=m", "--bogus=1"},
                     no_config, 20s);
  CHECK(unknown.exit_code == 3);
  CHECK(Has(unknown.err, "unknown option --bogus"));
  auto keep = Ops("backup.sh", {"--sentinel.addr=127.0.0.1:1", "--sentinel.master-name=m", "--dir=/tmp", "--keep=0"},
                  no_config, 20s);
  CHECK(keep.exit_code == 3);
  CHECK(Has(keep.err, "--keep"));
  // Messages carry text from elsewhere (here an argument; elsewhere a peer's error reply): its
  // control bytes are printed as '?', so it cannot drive the terminal.
  auto from = Ops("backup.sh",
                  {"--sentinel.addr=127.0.0.1:1", "--sentinel.master-name=m", "--dir=/tmp", "--from=\x1b]0;owned\x07"},
                  no_config, 20s);
  CHECK(from.exit_code == 3);
  CHECK(Has(from.err, "got '?]0;owned?'"));
  CHECK(!Has(from.err, "\x1b"));
  TempDir out;
  auto unreachable =
      Ops("backup.sh",
          {"--sentinel.addr=127.0.0.1:" + std::to_string(FreePort()), "--sentinel.master-name=m", "--dir=" + out.path},
          no_config, 30s);
  CHECK(unreachable.exit_code == 2);
  CHECK(Has(unreachable.err, "no Sentinel answered"));
}
