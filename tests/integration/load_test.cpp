// The exporter must never become the outage: concurrent scrapes share one collection,
// Prometheus' own scrape timeout bounds a scrape, and memory stays flat.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

// Calls of one command on a node ("slowlog|len"), from its own INFO commandstats.
long Calls(const LocalTopology& topo, int port, const std::string& command) {
  std::stringstream ss(topo.Cli(port, {"INFO", "commandstats"}));
  const std::string prefix = "cmdstat_" + command + ":calls=";
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  }
  return -1;
}

long RssKiB(int pid) {
  std::stringstream ss(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(ss, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

TEST_CASE("load: 50 concurrent scrapes cost the nodes one round of commands, not 50") {
  LocalTopology topo;
  // Enough workers to hold all 50 requests at once (the default, 16, queues the rest).
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--redis.timeout=6s", "--web.max-requests=64"});
  exporter.Metrics();  // connections open
  // A paused replica holds the collection open for the whole timeout, so every request below
  // arrives while it is under way, even on a loaded machine.
  auto paused = topo.Pause(topo.data_ports()[2]);
  // SLOWLOG LEN is sent once per collection by the exporter and by nobody else (Sentinels send
  // INFO and PING too, on their own clock), so it counts the exporter's rounds exactly.
  const long before = Calls(topo, topo.data_ports()[0], "slowlog|len");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      auto r = exporter.Get("/metrics", {}, 20s);
      if (r.status == 200 && Sample(r.body, "redis_up", {L("addr", topo.data(0))}) == 1) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  const long after = Calls(topo, topo.data_ports()[0], "slowlog|len");
  paused.Resume();
  CHECK(ok == 50);
  CHECK(before >= 1);  // the warm-up scrape's
  INFO("the exporter's rounds of commands on the master during 50 scrapes: " << after - before);
  CHECK(after - before == 1);
}

TEST_CASE("load: Prometheus' scrape timeout header bounds the scrape below --redis.timeout, also in a shared fetch") {
  LocalTopology topo;
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=10s"});
  exporter.Metrics();
  auto paused = topo.Pause(topo.data_ports()[1]);
  // 2 s minus the default 0.5 s offset: the answer comes after ~1.5 s, not 10 s.
  auto r = exporter.Get("/metrics", {"X-Prometheus-Scrape-Timeout-Seconds: 2"}, 15s);
  CHECK(r.status == 200);
  CHECK(r.elapsed >= 1400ms);
  CHECK(r.elapsed < 2s);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(1))}) == 0);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(0))}) == 1);

  // The same scrape joining a fetch already under way for a longer deadline (a status page
  // view sends no header, so it has the whole --redis.timeout): the shared fetch ends by the
  // earlier deadline, and the scrape answers in time instead of after 10 s.
  const int master = topo.data_ports()[0];
  const long before = Calls(topo, master, "slowlog|len");
  HttpResponse page;
  std::thread viewer([&] { page = exporter.Get("/status", {}, 15s); });
  // SLOWLOG LEN comes only from the exporter's fetches: the page's fetch is under way, and the
  // paused replica holds it open.
  const bool under_way = WaitFor([&] { return Calls(topo, master, "slowlog|len") > before; }, 5s);
  auto joined = exporter.Get("/metrics", {"X-Prometheus-Scrape-Timeout-Seconds: 2"}, 15s);
  viewer.join();
  REQUIRE(under_way);
  CHECK(joined.status == 200);
  CHECK(joined.elapsed < 2s);
  CHECK(Sample(joined.body, "redis_up", {L("addr", topo.data(1))}) == 0);
  CHECK(Sample(joined.body, "redis_up", {L("addr", topo.data(0))}) == 1);
  CHECK(page.status == 200);
  CHECK(page.elapsed < 5s);                                 // it got the shared fetch's result, not its own 10 s
  CHECK(Calls(topo, master, "slowlog|len") == before + 1);  // one fetch for both
}

TEST_CASE(
    "load: a scrape that arrives during the startup fetch answers by its own scrape timeout, from its own fetch") {
  LocalTopology topo;
  const int master = topo.data_ports()[0];
  // A replica paused before the exporter starts holds its startup fetch open for the whole
  // --redis.timeout (10 s).
  auto paused = topo.Pause(topo.data_ports()[1]);
  const long before = std::max(0L, Calls(topo, master, "slowlog|len"));  // -1: never called yet
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=10s"});
  // SLOWLOG LEN comes only from the exporter: the startup fetch has reached the master.
  REQUIRE(WaitFor([&] { return Calls(topo, master, "slowlog|len") > before; }, 5s));
  CHECK(exporter.Get("/-/ready").status == 503);
  auto r = exporter.Get("/metrics", {"X-Prometheus-Scrape-Timeout-Seconds: 2"}, 15s);
  CHECK(r.status == 200);
  CHECK(r.elapsed < 2s);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(1))}) == 0);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(0))}) == 1);
  // It asked the master itself rather than answer with the startup fetch's data.
  CHECK(Calls(topo, master, "slowlog|len") == before + 2);
  CHECK(exporter.Get("/-/ready").status == 200);
}

TEST_CASE("load: memory stays flat over thousands of scrapes") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  for (int i = 0; i < 300; ++i) REQUIRE(exporter.Get("/metrics").status == 200);
  const long warm = RssKiB(exporter.pid());
  for (int i = 0; i < 3000; ++i) REQUIRE(exporter.Get("/metrics").status == 200);
  const long after = RssKiB(exporter.pid());
  INFO("RSS after warm-up " << warm << " KiB, after 3000 more scrapes " << after << " KiB");
  CHECK(warm > 0);
  CHECK(after - warm < 1024);
}
