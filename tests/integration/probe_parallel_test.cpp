// Scrapes of different /probe targets run at once: a target whose Sentinel is slow to answer
// holds up its own probe only. The slow Sentinel's discovery reply waits at a gate the test
// opens, so the ordering is asserted, not a duration. The budgets that bound what the targets
// hold (connections, reply bytes) are checked here too.
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/fake_sentinel.h"
#include "tests/support/http.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

// Where the slow Sentinel's reply waits: until the test opens it, or `limit` at the latest,
// so a failing test never hangs.
class Gate {
 public:
  // On the Sentinel's connection thread.
  void Wait(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, limit, [&] { return open_; });
  }
  // Whether a reply reached the gate within `limit`.
  bool Arrived(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return arrived_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;  // Guards arrived_, open_.
  std::condition_variable cv_;
  bool arrived_ = false;
  bool open_ = false;
};

}  // namespace

TEST_CASE("probe: a target whose Sentinel is slow does not hold up the probe of another") {
  auto gate = std::make_shared<Gate>();
  FakeTopology slow("slow-group", [gate](const Command& argv) {
    if (argv.size() >= 2 && argv[0] == "SENTINEL" && argv[1] == "MASTERS") gate->Wait(15s);
  });
  FakeTopology fast("fast-group");
  ExporterProcess exporter({"--redis.timeout=30s"});
  const std::string slow_path = "/probe?target=" + slow.sentinel->addr();
  const std::string fast_path = "/probe?target=" + fast.sentinel->addr();

  // Destroyed in reverse: the gate opens first, then the slow probe's thread is joined (its
  // request ends once the reply is let through), then the exporter and the fakes go.
  auto slow_probe = std::async(std::launch::async, [&] { return exporter.Get(slow_path, {}, 40s); });
  struct OpenOnExit {
    Gate& gate;
    ~OpenOnExit() { gate.Open(); }
  } open_on_exit{*gate};

  REQUIRE(gate->Arrived(10s));  // the slow probe is in flight, held at its Sentinel
  // Shorter than the gate's own limit: were probes collected one at a time, this would fail.
  auto fast_result = exporter.Get(fast_path, {}, 10s);
  CHECK(slow_probe.wait_for(0s) == std::future_status::timeout);  // still held
  CHECK(fast_result.status == 200);
  CHECK(Sample(fast_result.body, "probe_success") == 1);
  CHECK(Sample(fast_result.body, "redis_up", {L("addr", fast.node->addr())}) == 1);

  gate->Open();
  auto slow_result = slow_probe.get();
  CHECK(slow_result.status == 200);
  CHECK(Sample(slow_result.body, "probe_success") == 1);
  CHECK(Sample(slow_result.body, "redis_up", {L("addr", slow.node->addr())}) == 1);
}

// /probe requests have workers of their own: with every one of them (--web.max-requests)
// held by a target that does not answer and more queued behind, a scrape of the configured
// topology is answered at once.
TEST_CASE("probe: requests held on a target that does not answer never hold up /metrics") {
  auto gate = std::make_shared<Gate>();
  FakeTopology held("held-group", [gate](const Command& argv) {
    if (argv.size() >= 2 && argv[0] == "SENTINEL" && argv[1] == "MASTERS") gate->Wait(20s);
  });
  FakeTopology configured("configured-group");
  ExporterProcess exporter(
      {"--sentinel.addr=" + configured.sentinel->addr(), "--redis.timeout=30s", "--web.max-requests=2"});
  const std::string held_path = "/probe?target=" + held.sentinel->addr();

  std::vector<std::future<HttpResponse>> probes;
  for (int i = 0; i < 6; ++i) {  // two run (one fetch, shared), four wait in the queue
    probes.push_back(std::async(std::launch::async, [&] { return exporter.Get(held_path, {}, 40s); }));
  }
  struct OpenOnExit {
    Gate& gate;
    ~OpenOnExit() { gate.Open(); }
  } open_on_exit{*gate};

  REQUIRE(gate->Arrived(10s));  // the probes are in flight, held at their Sentinel
  // Well inside the gate's own limit: were /metrics queued behind the probes, it would fail.
  auto scrape = exporter.Get("/metrics", {}, 5s);
  CHECK(scrape.status == 200);
  CHECK(Sample(scrape.body, "redis_up", {L("addr", configured.node->addr())}) == 1);
  for (auto& p : probes) CHECK(p.wait_for(0s) == std::future_status::timeout);  // still held

  gate->Open();
  for (auto& p : probes) {
    auto r = p.get();
    CHECK(r.status == 200);
    CHECK(Sample(r.body, "probe_success") == 1);
  }
}

// All /probe targets together hold at most --probe.max-connections sockets: here one, which
// the target's Sentinel takes (Sentinels are asked first), so its data node is not connected
// and shows as down with the reason. The configured topology is not counted.
TEST_CASE("probe: the /probe targets' connections stay within --probe.max-connections") {
  FakeTopology probed("probed-group");
  FakeTopology configured("configured-group");
  ExporterProcess exporter(
      {"--sentinel.addr=" + configured.sentinel->addr(), "--probe.max-connections=1", "--no-collector.events"});
  auto r = exporter.Get("/probe?target=" + probed.sentinel->addr(), {}, 10s);
  CHECK(r.status == 200);
  CHECK(Sample(r.body, "probe_success") == 1);
  CHECK(Sample(r.body, "redis_up", {L("addr", probed.node->addr())}) == 0);
  CHECK(probed.node->accepted() == 0);  // never connected
  CHECK(exporter.Log().find("not connected: the 1 connections /probe targets may hold are in use") !=
        std::string::npos);
  auto m = exporter.Get("/metrics", {}, 10s);
  CHECK(Sample(m.body, "redis_up", {L("addr", configured.node->addr())}) == 1);
  // The exporter's own gauges: the Sentinel's connection is kept for the next probe; its
  // replies went with the probe's scrape.
  CHECK(Sample(m.body, "redis_sentinel_exporter_probe_connections") == 1);
  CHECK(Sample(m.body, "redis_sentinel_exporter_probe_reply_bytes") == 0);
}

// The configured topology's replies have a budget of their own (--redis.max-reply-bytes): a
// broken or hostile data node that answers INFO with 2 MiB is cut off at a 1 MiB budget. The
// node shows as down with the reason, its Sentinel stays up, and nothing is held once the
// scrape is over.
TEST_CASE("probe: a data node's reply beyond --redis.max-reply-bytes is refused, and nothing is kept") {
  auto node = std::make_unique<Recording>([](const Command& argv) -> std::string {
    if (argv[0] == "AUTH") return "+OK\r\n";
    if (argv[0] == "INFO") {
      return Bulk("# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\npadding:" + std::string(2 << 20, 'x') +
                  "\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
    }
    return "+PONG\r\n";
  });
  auto sentinel = FakeSentinel("oversized-group", node->port());
  ExporterProcess exporter(
      {"--sentinel.addr=" + sentinel->addr(), "--redis.max-reply-bytes=1048576", "--no-collector.events"});
  auto m = exporter.Get("/metrics", {}, 10s);
  CHECK(m.status == 200);
  CHECK(node->Received("INFO"));
  CHECK(Sample(m.body, "redis_sentinel_up", {L("sentinel", sentinel->addr())}) == 1);
  CHECK(Sample(m.body, "redis_up", {L("addr", node->addr())}) == 0);
  CHECK(exporter.Log().find("the 1048576 reply bytes the configured topology may hold") != std::string::npos);
  CHECK(Sample(m.body, "redis_sentinel_exporter_reply_bytes") == 0);
}
