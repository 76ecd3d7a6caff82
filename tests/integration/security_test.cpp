// Secrets and least privilege: per-group passwords, ACL users with the minimal command set,
// and no secret in argv, logs or metrics.
#include <fstream>
#include <sstream>

#include <thread>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;

namespace {

std::string WriteSecret(const LocalTopology& topo, const std::string& name, const std::string& secret) {
  const std::string path = topo.dir() + "/" + name;
  std::ofstream(path) << secret << "\n";
  return path;
}

// The commands the exporter needs, and nothing else (README, "Least privilege").
const std::string kDataNodeAcl = "-@all +info +ping +config|get +slowlog|len +slowlog|get";
const std::string kSentinelAcl =
    "-@all +info +ping +sentinel|masters +sentinel|master +sentinel|replicas +sentinel|sentinels "
    "+sentinel|ckquorum +sentinel|myid +sentinel|get-master-addr-by-name +psubscribe &*";

void SetUser(const LocalTopology& topo, int port, const std::string& user, const std::string& password,
             const std::string& rules) {
  std::vector<std::string> args = {"ACL", "SETUSER", user, "on", ">" + password};
  std::stringstream ss(rules);
  std::string rule;
  while (ss >> rule) args.push_back(rule);
  REQUIRE(topo.Cli(port, args) == "OK");
}

}  // namespace

TEST_CASE("security: groups with different passwords, through per-group password files") {
  LocalTopology a;
  LocalTopology b({.master_name = "other-master", .password = "other-group-pw-3e1"});
  const std::vector<std::string> both = {"--sentinel.addr=" + a.sentinel(0) + "," + b.sentinel(0),
                                         "--redis.password-file=" + a.password_file()};
  {
    ExporterProcess without(both);
    const std::string m = without.Metrics();
    CHECK(Sample(m, "redis_up", {L("master_name", "aragora-master"), L("addr", a.data(0))}) == 1);
    CHECK(Sample(m, "redis_up", {L("master_name", "other-master"), L("addr", b.data(0))}) == 0);
  }
  auto args = both;
  args.push_back("--redis.master-password-file=other-master=" + b.password_file());
  ExporterProcess with(args);
  const std::string m = with.Metrics();
  for (int i = 0; i < 3; ++i) {
    CHECK(Sample(m, "redis_up", {L("master_name", "aragora-master"), L("addr", a.data(i))}) == 1);
    CHECK(Sample(m, "redis_up", {L("master_name", "other-master"), L("addr", b.data(i))}) == 1);
  }
}

TEST_CASE("security: ACL users with exactly the documented commands are enough, and nothing leaks") {
  LocalTopology topo;
  const std::string data_pw = "acl-data-secret-51f";
  const std::string sentinel_pw = "acl-sentinel-secret-9d0";
  for (int port : topo.data_ports()) SetUser(topo, port, "exporter", data_pw, kDataNodeAcl);
  for (int port : topo.sentinel_ports()) SetUser(topo, port, "exporter", sentinel_pw, kSentinelAcl);
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.user=exporter", "--sentinel.user=exporter",
                            "--sentinel.password-file=" + WriteSecret(topo, "sentinel-pw", sentinel_pw)},
                           {"REDIS_PASSWORD=" + data_pw});
  const std::string m = exporter.Metrics();
  for (int i = 0; i < 3; ++i) {
    CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 1);
    CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(i))}) == 1);
  }
  for (const char* c :
       {"sentinel", "replicas", "sentinels", "ckquorum", "replication", "info", "topology", "config", "slowlog"}) {
    CHECK(Sample(m, "redis_sentinel_exporter_collector_success", {L("collector", c)}) == 1);
  }
  CHECK(Series(m, "redis_config_maxclients").size() == 3);
  CHECK(Series(m, "redis_slowlog_length").size() == 3);
  CHECK(Sample(m, "redis_sentinel_master_ckquorum_ok", {L("sentinel", topo.sentinel(0))}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_masters", {L("master_name", "aragora-master")}) == 1);
  CHECK(Series(m, "redis_memory_used_bytes").size() == 3);
  const std::string log = exporter.Log();
  CHECK(log.find("NOPERM") == std::string::npos);

  // No secret anywhere: not in the output, the log, or the process's argument list.
  const std::string cmdline = ReadFile("/proc/" + std::to_string(exporter.pid()) + "/cmdline");
  REQUIRE_FALSE(cmdline.empty());
  for (const auto& secret : {data_pw, sentinel_pw, topo.options().password}) {
    CHECK(m.find(secret) == std::string::npos);
    CHECK(log.find(secret) == std::string::npos);
    CHECK(cmdline.find(secret) == std::string::npos);
  }
}

TEST_CASE("security: an ACL user missing a command is reported as a permission error") {
  LocalTopology topo;
  const std::string pw = "too-narrow-acl-pw";
  for (int port : topo.data_ports()) SetUser(topo, port, "narrow", pw, "-@all +ping");
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.user=narrow"}, {"REDIS_PASSWORD=" + pw});
  const std::string m = exporter.Metrics();
  CHECK(Sample(m, "redis_up", {L("addr", topo.data(0))}) == 0);
  const std::string log = exporter.Log();
  CHECK(log.find("cause=auth") != std::string::npos);
  CHECK(log.find("NOPERM") != std::string::npos);
  CHECK(log.find(pw) == std::string::npos);
}

TEST_CASE("security: without CONFIG and SLOWLOG in the ACL the nodes are up, those series left out, logged once") {
  LocalTopology topo;
  const std::string pw = "no-admin-acl-pw";
  for (int port : topo.data_ports()) SetUser(topo, port, "monitor", pw, "-@all +info +ping");
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.user=monitor"}, {"REDIS_PASSWORD=" + pw});
  std::string m = exporter.Metrics();
  m = exporter.Metrics();  // a second scrape: the refusals are not logged again
  for (int i = 0; i < 3; ++i) CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 1);
  CHECK(Series(m, "redis_config_maxclients").empty());
  CHECK(Series(m, "redis_slowlog_length").empty());
  CHECK(Series(m, "redis_memory_used_bytes").size() == 3);
  CHECK(Sample(m, "redis_sentinel_exporter_collector_success", {L("collector", "config")}) == 1);
  const std::string log = exporter.Log();
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = log.find(what); p != std::string::npos; p = log.find(what, p + 1)) ++n;
    return n;
  };
  CHECK(count("CONFIG GET not answered") == 3);  // once per node, not per scrape
  CHECK(count("SLOWLOG not answered") == 3);
  CHECK(log.find(pw) == std::string::npos);
}

TEST_CASE("security: a Sentinel that refuses the event subscription is still polled, and says why once") {
  LocalTopology topo;
  const std::string sentinel_pw = "acl-sentinel-secret-2b7";
  std::string without_subscribe = kSentinelAcl.substr(0, kSentinelAcl.find(" +psubscribe"));
  for (int port : topo.sentinel_ports()) SetUser(topo, port, "exporter", sentinel_pw, without_subscribe);
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--sentinel.user=exporter",
                            "--sentinel.password-file=" + WriteSecret(topo, "sentinel-pw", sentinel_pw)});
  std::string m;
  // Retried with backoff meanwhile: several scrapes, still one line per Sentinel.
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        for (int i = 0; i < 3; ++i) {
          if (Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(i))}) != 0) return false;
        }
        return true;
      },
      std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  m = exporter.Metrics();
  for (int i = 0; i < 3; ++i) {
    CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(i))}) == 1);
    CHECK(Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(i))}) == 0);
  }
  const std::string log = exporter.Log();
  size_t lines = 0;
  for (size_t p = log.find("event stream down"); p != std::string::npos; p = log.find("event stream down", p + 1))
    ++lines;
  CHECK(lines == 3);
  CHECK(log.find("subscription refused: NOPERM") != std::string::npos);
  CHECK(log.find(sentinel_pw) == std::string::npos);
}
