// `redis_sentinel_exporter check`: the runbook's health-check step, with the exit status
// scripts rely on (0 healthy, 1 degraded, 2 critical).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/topology.h"

using namespace rse::test;

namespace {

CommandResult Check(const LocalTopology& topo, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {RSE_EXPORTER_BINARY, "check", "--redis.timeout=2s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  // Configured as the runbook's clients are: environment variables.
  return Run(argv,
             EnvWith({"REDIS_SENTINEL_HOSTS=" + topo.sentinel(0), "REDIS_SENTINEL_MASTER=aragora-master",
                      "REDIS_PASSWORD=" + topo.options().password}),
             std::chrono::seconds(30));
}

}  // namespace

TEST_CASE("check: a healthy topology exits 0 and shows every node") {
  LocalTopology topo;
  auto r = Check(topo);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("HEALTHY") != std::string::npos);
  CHECK(r.out.find("master " + topo.data(0) + ", named by 3 of 3 Sentinels") != std::string::npos);
  for (int i = 0; i < 3; ++i) {
    CHECK(r.out.find(topo.data(i)) != std::string::npos);
    CHECK(r.out.find(topo.sentinel(i)) != std::string::npos);
  }
  CHECK(r.out.find("ckquorum ok") != std::string::npos);
  CHECK(r.out.find(topo.options().password) == std::string::npos);

  auto json = Check(topo, {"--output=json"});
  CHECK(json.exit_code == 0);
  CHECK(json.out.rfind("{\"status\":\"healthy\",\"exit_code\":0,", 0) == 0);
  // The schema of docs/check-json.md, as the ops scripts read it.
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["schema"] == 1);
  CHECK(doc["critical"].empty());
  CHECK(doc["degraded"].empty());
  CHECK(doc["sentinels"].size() == 3);
  REQUIRE(doc["groups"].size() == 1);
  const auto& g = doc["groups"][0];
  CHECK(g["master_name"] == "aragora-master");
  CHECK(g["master"] == topo.data(0));
  CHECK(g["master_votes"] == 3);
  CHECK(g["master_up"] == true);
  CHECK(g["sentinels_agree"] == true);
  CHECK(g["quorum"] == 2);
  REQUIRE(g["nodes"].size() == 3);
  for (const auto& n : g["nodes"]) {
    INFO(n.dump());
    CHECK(n["up"] == true);
    CHECK(n["cause"].is_null());
    if (n["addr"] == topo.data(0)) {
      CHECK(n["role"] == "master");
      CHECK(n["follows"].is_null());
      CHECK(n["lag_bytes"].is_null());
    } else {
      CHECK(n["role"] == "replica");
      CHECK(n["follows"] == topo.data(0));
      CHECK(n["link_up"] == true);
      REQUIRE(n["lag_bytes"].is_number_integer());
      CHECK(n["lag_bytes"].get<long long>() >= 0);
    }
  }
}

TEST_CASE("check: a replica down is degraded, exit 1") {
  LocalTopology topo;
  topo.StopNode(topo.data_ports()[2]);
  auto r = Check(topo);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("DEGRADED") != std::string::npos);
  CHECK(r.out.find("node " + topo.data(2) + " down (refused)") != std::string::npos);
  CHECK(r.out.find("1 of 2 replicas linked") != std::string::npos);

  auto json = Check(topo, {"--output=json"});
  CHECK(json.exit_code == 1);
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["status"] == "degraded");
  CHECK(doc["critical"].empty());
  CHECK(doc["degraded"].size() >= 2);
  const auto& g = doc["groups"][0];
  CHECK(g["master"] == topo.data(0));
  CHECK(g["replicas_linked"] == 1);
  CHECK(g["replicas_known"] == 2);
  bool seen = false;
  for (const auto& n : g["nodes"]) {
    if (n["addr"] != topo.data(2)) continue;
    seen = true;
    CHECK(n["up"] == false);
    CHECK(n["cause"] == "refused");
    CHECK(n["role"].is_null());
    CHECK(n["lag_bytes"].is_null());
  }
  CHECK(seen);
}

TEST_CASE("check: quorum lost is critical, exit 2") {
  LocalTopology topo;
  topo.StopNode(topo.sentinel_ports()[1]);
  topo.StopNode(topo.sentinel_ports()[2]);
  auto r = Check(topo);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("CRITICAL") != std::string::npos);
  CHECK(r.out.find("fewer than the quorum 2") != std::string::npos);
}

TEST_CASE("check: nothing reachable is critical; a usage error is 3, never a verdict") {
  auto r = Run({RSE_EXPORTER_BINARY, "check", "--sentinel.addr=127.0.0.1:" + std::to_string(FreePort())}, EnvWith({}),
               std::chrono::seconds(30));
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("no Sentinel answered") != std::string::npos);
  auto usage = Run({RSE_EXPORTER_BINARY, "check"}, EnvWith({"REDIS_SENTINEL_HOSTS="}), std::chrono::seconds(10));
  CHECK(usage.exit_code == 3);
  CHECK(usage.err.find("--sentinel.addr") != std::string::npos);
}
