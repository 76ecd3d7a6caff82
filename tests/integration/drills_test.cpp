// The runbook's failure drills on the real local topology: what the exporter's derived
// topology metrics show while a failover, a split brain, a Sentinel disagreement, a lost
// quorum or a lagging replica happens. Waits are bounded polls of the exporter's own view.
#include <signal.h>

#include <cmath>
#include <fstream>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kMaster = "aragora-master";
const std::string kGroup = L("master_name", kMaster);

// What a Sentinel restarted without its configuration file is: it monitors nothing, under a
// new run id.
void RestartWithoutConfig(LocalTopology& topo, int port) {
  topo.StopNode(port);
  const std::string conf = topo.dir() + "/topology/node-" + std::to_string(port) + "/sentinel.conf";
  std::string kept, line;
  {
    std::ifstream in(conf);
    REQUIRE(in);
    while (std::getline(in, line)) {
      if (!line.starts_with("sentinel ")) kept += line + "\n";
    }
  }
  std::ofstream(conf, std::ios::trunc) << kept;
  topo.StartNode(port);
}

std::vector<std::string> ExporterArgs(const LocalTopology& topo) {
  return {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=2s"};
}

}  // namespace

TEST_CASE("drill: automatic failover is seen once, the data survives, the old master rejoins as a replica") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const std::string old = topo.data(0);
  std::string m = exporter.Metrics();
  REQUIRE(AgreedMaster(m) == old);
  REQUIRE(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 0);
  REQUIRE(topo.Cli(PortOf(old), {"SET", "drill:marker", "written-before-failover"}) == "OK");
  REQUIRE(topo.Cli(PortOf(old), {"WAIT", "2", "5000"}) == "2");  // both replicas have it

  topo.StopNode(PortOf(old));
  const std::string now = WaitForNewMaster(exporter, kMaster, old, m);
  REQUIRE_MESSAGE(!now.empty(), "no new master agreed within the deadline");
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);
  CHECK(Sample(m, "redis_sentinel_last_failover_timestamp_seconds", {kGroup}) > 0);
  CHECK(Sample(m, "redis_up", {L("addr", old)}) == 0);
  CHECK(Sample(m, "redis_instance_role", {L("addr", now), L("role", "master")}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_config_epoch", {kGroup}) >= 1);
  CHECK(topo.Cli(PortOf(now), {"GET", "drill:marker"}) == "written-before-failover");

  topo.StartNode(PortOf(old));
  bool rejoined = WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_instance_role", {L("addr", old), L("role", "replica")}) == 1 &&
               Sample(m, "redis_master_link_up", {L("addr", old)}) == 1 &&
               Sample(m, "redis_replica_master_info", {L("addr", old), L("master_address", now)}) == 1;
      },
      60s);
  CHECK_MESSAGE(rejoined, "the old master did not rejoin as a linked replica of " << now);
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);  // once, not per scrape
  CHECK(AgreedMaster(m) == now);
}

TEST_CASE("drill: manual failover (SENTINEL FAILOVER) with no node down") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const std::string old = topo.data(0);
  std::string m = exporter.Metrics();
  REQUIRE(AgreedMaster(m) == old);
  REQUIRE(topo.Cli(topo.sentinel_ports()[0], {"SENTINEL", "FAILOVER", kMaster}) == "OK");
  const std::string now = WaitForNewMaster(exporter, kMaster, old, m);
  REQUIRE_MESSAGE(!now.empty(), "no new master agreed within the deadline");
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);
  for (int i = 0; i < 3; ++i) CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 1);
  // The old master is demoted by the Sentinels and follows the new one.
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_instance_role", {L("addr", old), L("role", "replica")}) == 1 &&
               Sample(m, "redis_sentinel_topology_replicas_linked", {kGroup}) == 2;
      },
      30s));
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);
}

TEST_CASE("drill: REPLICAOF NO ONE on a replica is a split brain on the next scrape") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  REQUIRE(Sample(exporter.Metrics(), "redis_sentinel_topology_masters", {kGroup}) == 1);
  REQUIRE(topo.Cli(topo.data_ports()[2], {"REPLICAOF", "NO", "ONE"}) == "OK");
  const std::string m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_topology_masters", {kGroup}) == 2);
  CHECK(Sample(m, "redis_instance_role", {L("addr", topo.data(2)), L("role", "master")}) == 1);
  // The Sentinels still agree on the real master: this is not a disagreement.
  CHECK(Sample(m, "redis_sentinel_topology_master_addresses", {kGroup}) == 1);
  CHECK(AgreedMaster(m) == topo.data(0));
}

TEST_CASE("drill: a Sentinel that names another master for the same name is a disagreement") {
  LocalTopology topo;
  // An extra Sentinel monitoring `aragora-master` at an address where nothing runs.
  char dir[] = "/tmp/rse-extra-sentinel-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const int port = FreePort();
  const int ghost = FreePort();
  const std::string conf = std::string(dir) + "/sentinel.conf";
  std::ofstream(conf) << "port " << port << "\nbind 127.0.0.1\ndir " << dir << "\n"
                      << "sentinel monitor " << kMaster << " 127.0.0.1 " << ghost << " 1\n"
                      << "sentinel down-after-milliseconds " << kMaster << " 600000\n";
  {
    Process extra({"/usr/bin/redis-sentinel", conf}, EnvWith({}), std::string(dir) + "/log");
    REQUIRE(WaitFor([&] { return Run({"redis-cli", "-p", std::to_string(port), "PING"}).out == "PONG\n"; }, 10s));
    ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0) + ",127.0.0.1:" + std::to_string(port),
                              "--redis.password-file=" + topo.password_file()});
    const std::string m = exporter.Metrics();
    CHECK(Sample(m, "redis_sentinel_topology_master_addresses", {kGroup}) == 2);
    CHECK(Sample(m, "redis_sentinel_master_info",
                 {L("sentinel", "127.0.0.1:" + std::to_string(port)),
                  L("master_address", "127.0.0.1:" + std::to_string(ghost))}) == 1);
    // Three Sentinels against one: the agreed master is still the real one.
    CHECK(AgreedMaster(m) == topo.data(0));
  }
  Run({"rm", "-rf", dir});
}

TEST_CASE(
    "drill: a Sentinel, then every Sentinel, that no longer monitors a watched group is reported, and a group removed "
    "on purpose is forgotten") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const auto monitoring = [&](const std::string& m, int i) {
    return Sample(m, "redis_sentinel_topology_sentinel_monitoring", {kGroup, L("sentinel", topo.sentinel(i))});
  };
  std::string m = exporter.Metrics();
  for (int i = 0; i < 3; ++i) CHECK(monitoring(m, i) == 1);

  // What a restart without its configuration file leaves, as SENTINEL REMOVE does.
  REQUIRE(topo.Cli(topo.sentinel_ports()[2], {"SENTINEL", "REMOVE", kMaster}) == "OK");
  m = exporter.Metrics();
  CHECK(monitoring(m, 2) == 0);
  CHECK(monitoring(m, 0) == 1);
  CHECK(monitoring(m, 1) == 1);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(2))}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_sentinels_up", {kGroup}) == 2);
  // Its peers still count it, and CKQUORUM with it: nothing else shows it.
  CHECK(Sample(m, "redis_sentinel_master_sentinels", {kGroup, L("sentinel", topo.sentinel(0))}) == 3);
  CHECK(Sample(m, "redis_sentinel_master_ckquorum_ok", {kGroup, L("sentinel", topo.sentinel(0))}) == 1);
  const auto status = exporter.Get("/status");
  CHECK(status.body.find(topo.sentinel(2) + "</td><td colspan=\"5\">") != std::string::npos);
  CHECK(status.body.find("does not monitor this group") != std::string::npos);

  // check, with the group named (the Sentinel answers SENTINEL MASTER with an error): degraded.
  const auto check = [&](const std::string& name) {
    return Run({RSE_EXPORTER_BINARY, "check", "--redis.timeout=2s", "--output=json"},
               EnvWith({"REDIS_SENTINEL_HOSTS=" + topo.sentinel(0), "REDIS_SENTINEL_MASTER=" + name,
                        "REDIS_PASSWORD=" + topo.options().password}),
               30s);
  };
  auto one = check(kMaster);
  INFO(one.out, one.err);
  CHECK(one.exit_code == 1);
  auto doc = nlohmann::json::parse(one.out);
  CHECK(doc["groups"][0]["sentinels_not_monitoring"] == nlohmann::json::array({topo.sentinel(2)}));
  CHECK(doc["groups"][0]["monitored"] == true);
  CHECK(doc["degraded"].size() == 1);
  // A misspelt name is monitored by no Sentinel: critical, not an empty healthy report.
  auto typo = check("aragora-mastr");
  INFO(typo.out, typo.err);
  CHECK(typo.exit_code == 2);
  doc = nlohmann::json::parse(typo.out);
  CHECK(doc["critical"] == nlohmann::json::array({"aragora-mastr: no Sentinel that answered monitors this group"}));
  CHECK(doc["groups"][0]["sentinels_up"] == 0);
  CHECK(doc["groups"][0]["monitored"] == false);

  // The other two lose the group without a word (restarted without their configuration
  // files): the exporter that watched it says no Sentinel monitors it.
  for (int i : {0, 1}) RestartWithoutConfig(topo, topo.sentinel_ports()[i]);
  m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_topology_sentinels_up", {kGroup}) == 0);
  CHECK(std::isnan(Sample(m, "redis_sentinel_topology_masters", {kGroup})));
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(0))}) == 1);
  // The status page's fetch is reused for a few seconds.
  CHECK(WaitFor(
      [&] {
        return exporter.Get("/status").body.find("No Sentinel that answered monitors this group") != std::string::npos;
      },
      15s));
  auto none = check(kMaster);
  CHECK(none.exit_code == 2);
  CHECK(nlohmann::json::parse(none.out)["critical"] ==
        nlohmann::json::array({kMaster + ": no Sentinel that answered monitors this group"}));

  // Monitored again by one Sentinel, then removed on purpose (SENTINEL REMOVE on each Sentinel
  // that monitors it): once its -monitor arrives, the exporter forgets the group.
  const int s0 = topo.sentinel_ports()[0];
  REQUIRE(WaitFor(
      [&] {
        return Sample(exporter.Metrics(), "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(0))}) == 1;
      },
      30s));
  const std::string master_port = topo.data(0).substr(topo.data(0).rfind(':') + 1);
  REQUIRE(topo.Cli(s0, {"SENTINEL", "MONITOR", kMaster, "127.0.0.1", master_port, "2"}) == "OK");
  CHECK(Sample(exporter.Metrics(), "redis_sentinel_topology_sentinels_up", {kGroup}) == 1);
  REQUIRE(topo.Cli(s0, {"SENTINEL", "REMOVE", kMaster}) == "OK");
  CHECK(WaitFor(
      [&] { return std::isnan(Sample(exporter.Metrics(), "redis_sentinel_topology_sentinels_up", {kGroup})); }, 15s));
}

TEST_CASE("drill: replicas set to replica-priority 0 leave no failover candidate, seen before the master fails") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  CHECK(Sample(exporter.Metrics(), "redis_sentinel_topology_replicas_promotable", {kGroup}) == 2);
  for (int i : {1, 2}) REQUIRE(topo.Cli(topo.data_ports()[i], {"CONFIG", "SET", "replica-priority", "0"}) == "OK");
  const std::string m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_topology_replicas_promotable", {kGroup}) == 0);
  CHECK(Sample(m, "redis_sentinel_topology_replicas_linked", {kGroup}) == 2);
  CHECK(exporter.Get("/status").body.find("2 replicas linked, &#10007; 0 promotable") != std::string::npos);
}

TEST_CASE(
    "drill: the configured Sentinel hung, then two of three stopped with it: the others, found before, keep the group "
    "in view, CKQUORUM fails and fewer Sentinels answer than the quorum") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));  // given Sentinel 0 only
  std::string m = exporter.Metrics();
  REQUIRE(Sample(m, "redis_sentinel_topology_sentinels_up", {kGroup}) == 3);
  {
    // Hung: it accepts and never answers. The scrape waits for it until the timeout, and the
    // other two are asked meanwhile.
    auto hung = topo.Pause(topo.sentinel_ports()[0]);
    m = exporter.Metrics();
    CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(0))}) == 0);
    CHECK(Sample(m, "redis_sentinel_topology_sentinels_up", {kGroup}) == 2);
    CHECK(AgreedMaster(m) == topo.data(0));
  }
  topo.StopNode(topo.sentinel_ports()[0]);
  topo.StopNode(topo.sentinel_ports()[1]);
  const bool lost = WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_sentinel_master_ckquorum_ok", {L("sentinel", topo.sentinel(2))}) == 0;
      },
      20s);
  CHECK_MESSAGE(lost, "CKQUORUM on the remaining Sentinel still OK");
  CHECK(Sample(m, "redis_sentinel_topology_sentinels_up", {kGroup}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_quorum", {kGroup}) == 2);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(0))}) == 0);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(1))}) == 0);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(2))}) == 1);
  // The master and its replicas are still seen through the Sentinel that answers.
  CHECK(Sample(m, "redis_sentinel_topology_masters", {kGroup}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_replicas_linked", {kGroup}) == 2);
  CHECK(Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(2))}) == 1);
}

TEST_CASE("drill: a paused replica falls behind in the master's view and catches up when it resumes") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const std::string replica = topo.data(1);
  const auto lag_of = [&](const std::string& m) {
    return Sample(m, "redis_replication_lag_bytes", {kGroup, L("addr", replica)});
  };
  const std::string value(4096, 'x');
  auto paused = topo.Pause(topo.data_ports()[1]);
  topo.Cli(topo.data_ports()[0], {"-r", "100", "SET", "lag:key", value});
  const std::string paused1 = exporter.Metrics();
  topo.Cli(topo.data_ports()[0], {"-r", "100", "SET", "lag:key", value});
  const std::string paused2 = exporter.Metrics();
  paused.Resume();
  CHECK(Sample(paused1, "redis_up", {L("addr", replica)}) == 0);
  CHECK(Sample(paused2, "redis_up", {L("addr", replica)}) == 0);
  CHECK(lag_of(paused1) > 100 * 4096);
  CHECK(lag_of(paused2) > lag_of(paused1) + 100 * 4096);
  std::string m;
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_up", {L("addr", replica)}) == 1 && lag_of(m) < 4096;
      },
      20s));
}

TEST_CASE("drill: Sentinel versus node: role mismatch, ghost replica, configuration drift") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const std::string s0 = L("sentinel", topo.sentinel(0));
  std::string m = exporter.Metrics();
  // Healthy: every check at its healthy value.
  CHECK(Sample(m, "redis_sentinel_role_mismatch", {s0, L("addr", topo.data(1))}) == 0);
  CHECK(Sample(m, "redis_sentinel_ghost_replica", {s0, L("addr", topo.data(1))}) == 0);
  CHECK(Sample(m, "redis_sentinel_config_values", {kGroup, L("setting", "down-after-milliseconds")}) == 1);
  CHECK(Sample(m, "redis_sentinel_count_values", {kGroup, L("count", "sentinels")}) == 1);

  // A replica promoted behind the Sentinels' back: they still list it as a replica.
  REQUIRE(topo.Cli(topo.data_ports()[1], {"REPLICAOF", "NO", "ONE"}) == "OK");
  m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_role_mismatch", {s0, L("addr", topo.data(1))}) == 1);

  // A replica that stops answering stays in every Sentinel's list: a ghost.
  topo.StopNode(topo.data_ports()[2]);
  m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_ghost_replica", {s0, L("addr", topo.data(2))}) == 1);

  // One Sentinel told another down-after than its peers.
  REQUIRE(topo.Cli(topo.sentinel_ports()[1], {"SENTINEL", "SET", kMaster, "down-after-milliseconds", "7777"}) == "OK");
  m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_config_values", {kGroup, L("setting", "down-after-milliseconds")}) == 2);
  CHECK(Sample(m, "redis_sentinel_config_values", {kGroup, L("setting", "quorum")}) == 1);

  // The Sentinels convert the self-promoted replica back: the mismatch clears by itself.
  const bool converged = WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_sentinel_role_mismatch", {s0, L("addr", topo.data(1))}) == 0;
      },
      60s);
  CHECK_MESSAGE(converged, "the Sentinels did not convert " << topo.data(1) << " back to a replica");

  // The ghost forgotten (SENTINEL RESET on each Sentinel): the log says it left, not that it
  // recovered.
  REQUIRE(LogLine(exporter.Log(), {"msg=\"data node unreachable\"", "addr=" + topo.data(2)}));
  for (int port : topo.sentinel_ports()) REQUIRE(topo.Cli(port, {"SENTINEL", "RESET", kMaster}) == "1");
  CHECK(WaitFor(
      [&] {
        exporter.Metrics();
        return LogLine(exporter.Log(), {"msg=\"no longer in the topology\"", topo.data(2)});
      },
      30s));
  CHECK_FALSE(LogLine(exporter.Log(), {"msg=recovered", topo.data(2)}));
}

// A failover whose replica reconfiguration stays open: the replica not chosen is paused, so
// the leader's REPLICAOF to it goes unanswered until Sentinel gives up on it (10 s,
// SENTINEL_SLAVE_RECONF_TIMEOUT). All that time the leader's SENTINEL MASTER names the old
// master with failover_in_progress, while every Sentinel gives clients the promoted replica.
// down-after is long, so the paused replica is not SDOWN (which would end the phase early).
TEST_CASE("drill: a slow replica reconfiguration is not a disagreement") {
  TopologyOptions options;
  options.down_after_ms = 30000;
  options.failover_timeout_ms = 60000;
  LocalTopology topo(options);
  const std::string old = topo.data(0), promoted = topo.data(1), slow = topo.data(2);
  // The slow replica is the less preferred candidate, so data(1) is promoted.
  REQUIRE(topo.SetReplicaPriority({PortOf(slow)}, 200));
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=1s"});
  std::string m = exporter.Metrics();
  REQUIRE(AgreedMaster(m) == old);
  REQUIRE(topo.SentinelsReportPriority({PortOf(slow)}, 200));

  auto paused = topo.Pause(PortOf(slow));
  REQUIRE(topo.Cli(topo.sentinel_ports()[0], {"SENTINEL", "FAILOVER", kMaster}) == "OK");

  const auto start = std::chrono::steady_clock::now();
  int scrapes = 0, reconfiguring = 0, all_name_promoted = 0;
  bool disagreed = false;
  // Scrape until the leader leaves the reconfiguration phase (or a generous deadline).
  WaitFor(
      [&] {
        m = exporter.Metrics();
        ++scrapes;
        if (Sample(m, "redis_sentinel_topology_master_addresses", {kGroup}) != 1) disagreed = true;
        const bool in_reconf = Sample(m, "redis_sentinel_master_failover_state",
                                      {L("sentinel", topo.sentinel(0)), kGroup, L("state", "reconf_slaves")}) == 1;
        if (in_reconf) {
          ++reconfiguring;
          // Peers switch when the leader's next hello reaches them (every 2 s); the topology
          // already counts them for the new master.
          bool all = true;
          for (int i = 0; i < 3; ++i) {
            all = all && Sample(m, "redis_sentinel_master_info",
                                {L("sentinel", topo.sentinel(i)), kGroup, L("master_address", promoted)}) == 1;
          }
          all_name_promoted += all;
          CHECK(AgreedMaster(m) == promoted);
        }
        return reconfiguring > 0 && !in_reconf;
      },
      60s);
  const auto phase = std::chrono::steady_clock::now() - start;
  CHECK_MESSAGE(!disagreed, "topology_master_addresses left 1 during the failover");
  CHECK_MESSAGE(reconfiguring >= 3, reconfiguring << " of " << scrapes << " scrapes saw the leader in reconf_slaves");
  CHECK_MESSAGE(all_name_promoted >= 3, all_name_promoted << " scrapes with every Sentinel naming the new master");
  CHECK(phase >= 10s);
  paused.Resume();
  CHECK(WaitForNewMaster(exporter, kMaster, old, m) == promoted);
}
