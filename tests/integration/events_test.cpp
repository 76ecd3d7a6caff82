// The Sentinel event stream on the real local topology: what the exporter counts while a
// master is killed, a replica flaps between two scrapes, a failover is aborted, and a Sentinel
// restarts. Waits are bounded polls of the exporter's own view.
#include <signal.h>

#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kMaster = "aragora-master";
std::string L(const std::string& name, const std::string& value) { return name + "=\"" + value + "\""; }
const std::string kGroup = L("master_name", kMaster);
int PortOf(const std::string& addr) { return std::stoi(addr.substr(addr.rfind(':') + 1)); }

std::vector<std::string> Args(const LocalTopology& topo) {
  return {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=2s"};
}

double Events(const std::string& m, const std::string& sentinel, const std::string& event,
              const std::string& group = kGroup) {
  return Sample(m, "redis_sentinel_events_total", {L("sentinel", sentinel), group, L("event", event)});
}

// Every Sentinel's stream confirmed.
bool AllStreamsUp(const ExporterProcess& exporter, const LocalTopology& topo, std::string& m) {
  return WaitFor(
      [&] {
        m = exporter.Metrics();
        for (int i = 0; i < 3; ++i) {
          if (Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(i))}) != 1) return false;
        }
        return true;
      },
      30s);
}

}  // namespace

TEST_CASE("events: a killed master is one failover, one +switch-master per Sentinel, one duration") {
  LocalTopology topo;
  ExporterProcess exporter(Args(topo));
  std::string m;
  REQUIRE(AllStreamsUp(exporter, topo, m));
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 0);
  CHECK(Sample(m, "redis_sentinel_failover_duration_seconds_count", {kGroup}) == 0);
  const std::string old = topo.data(0);

  topo.StopNode(PortOf(old));
  // One scrape after the leader's +switch-master (the last of the failover's events).
  bool done = WaitFor(
      [&] {
        m = exporter.Metrics();
        double switches = 0;
        for (int i = 0; i < 3; ++i) switches += Events(m, topo.sentinel(i), "+switch-master");
        return switches == 3 && Sample(m, "redis_sentinel_failover_duration_seconds_count", {kGroup}) == 1;
      },
      60s);
  REQUIRE_MESSAGE(done, m);
  for (int i = 0; i < 3; ++i) CHECK(Events(m, topo.sentinel(i), "+switch-master") == 1);
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);
  CHECK(Sample(m, "redis_sentinel_failover_duration_seconds_count", {kGroup}) == 1);
  // From +try-failover (after down-after and the ODOWN vote) to the leader's switch: above 0,
  // below the failover timeout (10 s in the test topology).
  const double took = Sample(m, "redis_sentinel_failover_duration_seconds_sum", {kGroup});
  CHECK(took > 0);
  CHECK(took < topo.options().failover_timeout_ms / 1000.0);
  auto events = exporter.Get("/events");
  CHECK(events.status == 200);
  CHECK(events.body.find("\"event\":\"+switch-master\"") != std::string::npos);
  // Nothing is counted twice on later scrapes.
  m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 1);
  CHECK(exporter.Log().find("sentinel event") != std::string::npos);
}

TEST_CASE("events: a replica paused 3 s between two scrapes 10 s apart is counted down and back") {
  LocalTopology topo;
  ExporterProcess exporter(Args(topo));
  std::string before;
  REQUIRE(AllStreamsUp(exporter, topo, before));
  const std::string replica = topo.data(2);
  const int pid = topo.Pid(PortOf(replica));
  REQUIRE(pid > 0);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(kill(pid, SIGSTOP) == 0);
  // down-after is 2.5 s: 3.5 s paused is SDOWN on every Sentinel.
  std::this_thread::sleep_for(3500ms);
  kill(pid, SIGCONT);
  std::this_thread::sleep_until(start + 10s);
  std::string after;
  bool counted = WaitFor(
      [&] {
        after = exporter.Metrics();
        for (int i = 0; i < 3; ++i) {
          if (Events(after, topo.sentinel(i), "-sdown") < 1) return false;
        }
        return true;
      },
      10s);
  CHECK_MESSAGE(counted, after);
  for (int i = 0; i < 3; ++i) {
    CHECK(Events(after, topo.sentinel(i), "+sdown") >= 1);
    CHECK(Events(after, topo.sentinel(i), "-sdown") >= 1);
  }
  CHECK(Sample(after, "redis_up", {L("addr", replica)}) == 1);  // the scrapes themselves saw nothing
}

TEST_CASE("events: with no replica eligible the failover aborts, and is counted") {
  LocalTopology topo;
  for (int i = 1; i < 3; ++i)
    REQUIRE(topo.Cli(topo.data_ports()[i], {"CONFIG", "SET", "replica-priority", "0"}) == "OK");
  ExporterProcess exporter(Args(topo));
  std::string m;
  REQUIRE(AllStreamsUp(exporter, topo, m));
  topo.StopNode(topo.data_ports()[0]);
  bool aborted = WaitFor(
      [&] {
        m = exporter.Metrics();
        double n = 0;
        for (int i = 0; i < 3; ++i) n += Events(m, topo.sentinel(i), "-failover-abort-no-good-slave");
        return n >= 1;
      },
      60s);
  CHECK_MESSAGE(aborted, m);
  CHECK(Sample(m, "redis_sentinel_failovers_total", {kGroup}) == 0);
  CHECK(Sample(m, "redis_sentinel_failover_duration_seconds_count", {kGroup}) == 0);
}

TEST_CASE("events: a restarted Sentinel's stream reconnects and counters only go up") {
  LocalTopology topo;
  ExporterProcess exporter(Args(topo));
  std::string m;
  REQUIRE(AllStreamsUp(exporter, topo, m));
  const std::string s2 = topo.sentinel(2);
  // Something to count first: a replica's SDOWN and back, seen by every Sentinel.
  // (Paused twice the down-after, so a busy machine cannot make it too short to count.)
  const int pid = topo.Pid(topo.data_ports()[2]);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  std::this_thread::sleep_for(5000ms);
  kill(pid, SIGCONT);
  REQUIRE(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Events(m, s2, "-sdown") >= 1;
      },
      15s));
  const double before = Events(m, s2, "+sdown");

  topo.StopNode(topo.sentinel_ports()[2]);
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", s2)}) == 0;
      },
      30s));
  topo.StartNode(topo.sentinel_ports()[2]);
  CHECK(WaitFor(
      [&] {
        m = exporter.Metrics();
        return Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", s2)}) == 1;
      },
      60s));
  CHECK(Events(m, s2, "+sdown") >= before);
  CHECK(exporter.Log().find("event stream down") != std::string::npos);
}
