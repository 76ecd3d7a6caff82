// A real Valkey Sentinel topology (valkey-server and valkey-sentinel, built by scripts/valkey.sh;
// Debian 12 has no Valkey package) next to the Redis one the other tests run: what the exporter
// makes of Valkey's own replies, healthy and through a failover.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kMaster = "aragora-master";
const std::string kGroup = L("master_name", kMaster);

}  // namespace

TEST_CASE("valkey: a real Valkey Sentinel topology is exported as Redis' is, healthy and through a failover") {
  std::string version;
  LocalTopology topo(ValkeyOptions(&version));
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=2s"});

  std::string m;
  // Healthy, the event streams subscribed (they open beside the first fetch).
  REQUIRE(WaitFor(
      [&] {
        m = exporter.Metrics();
        for (int i = 0; i < 3; ++i) {
          if (Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(i))}) != 1) return false;
        }
        return true;
      },
      20s));
  const std::string old = topo.data(0);
  CHECK(AgreedMaster(m) == old);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 1);
    CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(i))}) == 1);
    // The real version, beside the frozen redis_version Valkey reports for compatibility.
    CHECK(Sample(m, "redis_instance_info", {L("addr", topo.data(i)), L("valkey_version", version)}) == 1);
    CHECK(Sample(m, "redis_sentinel_master_ok_slaves", {L("sentinel", topo.sentinel(i)), kGroup}) == 2);
  }
  CHECK(Sample(m, "redis_instance_role", {L("addr", old), L("role", "master")}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_master_addresses", {kGroup}) == 1);
  CHECK(Sample(m, "redis_sentinel_topology_replicas_linked", {kGroup}) == 2);
  for (const auto& line : Series(m, "redis_sentinel_role_mismatch")) CHECK_MESSAGE(line.back() == '0', line);
  for (const auto& line : Series(m, "redis_sentinel_exporter_collector_success")) {
    CHECK_MESSAGE(line.back() == '1', line);
  }
  CHECK(Sample(m, "redis_commands_total", {L("addr", old), L("cmd", "info")}) > 0);
  // No warning: nothing Valkey answers is taken for a failure or an unknown field.
  CHECK_MESSAGE(exporter.Log().find("level=warning") == std::string::npos, exporter.Log());

  topo.StopNode(PortOf(old));
  const std::string now = WaitForNewMaster(exporter, kMaster, old, m);
  REQUIRE_MESSAGE(!now.empty(), "no new master agreed within the deadline");
  CHECK(Sample(m, "redis_instance_role", {L("addr", now), L("role", "master")}) == 1);
  // Valkey's Sentinels publish the events Redis' do: one failover, one duration.
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1 &&
               Sample(m, "redis_sentinel_failover_duration_seconds_count", {kGroup}) == 1;
      },
      30s));
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(Sample(m, "redis_sentinel_events_total",
                 {L("sentinel", topo.sentinel(i)), kGroup, L("event", "+switch-master")}) == 1);
  }
  // Every event Valkey's Sentinels published is one Redis' publish too: none counted as "other".
  for (const auto& line : Series(m, "redis_sentinel_events_total")) {
    if (line.find(L("event", "other")) != std::string::npos) CHECK_MESSAGE(line.back() == '0', line);
  }
}
