// `redis_sentinel_exporter check`: the runbook's health-check step, with the exit status
// scripts rely on (0 healthy, 1 degraded, 2 critical).
#include <signal.h>

#include <algorithm>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/exporter.h"
#include "tests/support/fake_sentinel.h"
#include "tests/support/http.h"
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
  CHECK(r.out.find("master " + topo.data(0) + ", named by 3 of 3 answering Sentinels (3 known, a failover needs 2)") !=
        std::string::npos);
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
  CHECK(g["sentinels_known"] == 3);
  CHECK(g["sentinels_needed"] == 2);
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
  CHECK(r.out.find("1 Sentinels answered, fewer than the 2 a failover needs (quorum 2, a majority of 3 Sentinels)") !=
        std::string::npos);
  CHECK(r.out.find("named by 1 of 1 answering Sentinels (3 known, a failover needs 2)") != std::string::npos);
  for (int i : {1, 2}) {
    const std::string down = "127.0.0.1:" + std::to_string(topo.sentinel_ports()[i]);
    CHECK(r.out.find("  sentinel " + down + " ") != std::string::npos);
  }
  CHECK(r.out.find("DOWN (its peers list it)") != std::string::npos);
  auto json = Check(topo, {"--output=json"});
  const auto doc = nlohmann::json::parse(json.out);
  std::vector<std::string> down;
  for (int i : {1, 2}) down.push_back("127.0.0.1:" + std::to_string(topo.sentinel_ports()[i]));
  std::sort(down.begin(), down.end());
  CHECK(doc["groups"][0]["sentinels_down"] == down);
}

TEST_CASE("check: nothing reachable is critical, a usage error is 3, never a verdict") {
  auto r = Run({RSE_EXPORTER_BINARY, "check", "--sentinel.addr=127.0.0.1:" + std::to_string(FreePort())}, EnvWith({}),
               std::chrono::seconds(30));
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("no Sentinel answered") != std::string::npos);
  auto usage = Run({RSE_EXPORTER_BINARY, "check"}, EnvWith({"REDIS_SENTINEL_HOSTS="}), std::chrono::seconds(10));
  CHECK(usage.exit_code == 3);
  CHECK(usage.err.find("--sentinel.addr") != std::string::npos);
}

namespace {

// An event of `type` about `node` in the exporter's /events.
bool HasEvent(const ExporterProcess& exporter, const std::string& type, const std::string& node) {
  auto r = exporter.Get("/events");
  if (r.status != 200) return false;
  const auto doc = nlohmann::json::parse(r.body);
  for (const auto& e : doc["events"]) {
    if (e["event"] == type && e["payload"].get<std::string>().find(node) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

// Long: one scenario in order on one topology and exporter (closed port, refusal, no flag,
// then a real +sdown), which take seconds each to start.
TEST_CASE("check: --check.events-url shows a running exporter's recent events, failing to read them is no verdict") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--redis.timeout=2s", "--probe.allowed-targets=" + topo.sentinel(0)});
  const std::string base = "http://127.0.0.1:" + std::to_string(exporter.port());
  const std::string replica = topo.data(2);

  // A closed port: the topology's verdict and exit code, plus one clear line about the events.
  const int closed = FreePort();
  const std::string closed_url = "--check.events-url=http://127.0.0.1:" + std::to_string(closed) + "/events";
  auto r = Check(topo, {closed_url});
  INFO(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("HEALTHY") != std::string::npos);
  CHECK(
      r.out.find("\nRecent events (newest last)\n  WARNING: cannot read the exporter's events: connect to 127.0.0.1:" +
                 std::to_string(closed) + ": Connection refused\n") != std::string::npos);
  auto json = Check(topo, {closed_url, "--output=json"});
  CHECK(json.exit_code == 0);
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["exit_code"] == 0);
  CHECK(doc["events"].is_null());
  CHECK(doc["events_error"] == "connect to 127.0.0.1:" + std::to_string(closed) + ": Connection refused");

  // An exporter that refuses: the status and the reason its body gives.
  json = Check(topo, {"--check.events-url=" + base + "/events?target=127.0.0.1:1", "--output=json"});
  CHECK(json.exit_code == 0);
  doc = nlohmann::json::parse(json.out);
  CHECK(doc["events_error"] == "HTTP 403 from 127.0.0.1:" + std::to_string(exporter.port()) +
                                   ": target 127.0.0.1:1 is not allowed by --probe.allowed-targets");

  // Without the flag: neither the section nor the keys.
  r = Check(topo);
  CHECK(r.out.find("Recent events") == std::string::npos);
  json = Check(topo, {"--output=json"});
  doc = nlohmann::json::parse(json.out);
  CHECK_FALSE(doc.contains("events"));
  CHECK_FALSE(doc.contains("events_error"));

  // Every Sentinel's stream confirmed (a scrape starts them), then a replica paused past
  // down-after-milliseconds: +sdown on the exporter's event stream.
  REQUIRE(WaitFor(
      [&] {
        const std::string m = exporter.Metrics();
        for (int i = 0; i < 3; ++i) {
          if (Sample(m, "redis_sentinel_event_stream_up", {L("sentinel", topo.sentinel(i))}) != 1) return false;
        }
        return true;
      },
      std::chrono::seconds(30)));
  {
    auto paused = topo.Pause(PortOf(replica));
    REQUIRE_MESSAGE(WaitFor([&] { return HasEvent(exporter, "+sdown", replica); }, std::chrono::seconds(30)),
                    exporter.Get("/events").body);
  }
  REQUIRE_MESSAGE(WaitFor([&] { return HasEvent(exporter, "-sdown", replica); }, std::chrono::seconds(30)),
                  exporter.Get("/events").body);

  r = Check(topo, {"--check.events-url=" + base + "/events"});
  INFO(r.out, r.err);
  CHECK((r.exit_code == 0 || r.exit_code == 1));  // the replica may still be catching up
  const auto section = r.out.find("\nRecent events (newest last)\n");
  REQUIRE(section != std::string::npos);
  const std::string events = r.out.substr(section);
  CHECK(events.find("WARNING") == std::string::npos);
  const auto line_at = events.find("+sdown");
  REQUIRE(line_at != std::string::npos);
  const auto line_start = events.rfind('\n', line_at) + 1;
  const std::string line = events.substr(line_start, events.find('\n', line_at) - line_start);
  CHECK(line.find(" ago  127.0.0.1:") != std::string::npos);
  CHECK(line.find("aragora-master") != std::string::npos);
  CHECK(line.find("slave " + replica) != std::string::npos);
  CHECK(events.find("-sdown") > line_at);  // newest last

  json = Check(topo, {"--check.events-url=" + base + "/events", "--output=json"});
  doc = nlohmann::json::parse(json.out);
  CHECK(doc["exit_code"] == json.exit_code);
  CHECK(doc["events_error"].is_null());
  REQUIRE(doc["events"].is_array());
  bool found = false;
  for (const auto& e : doc["events"]) {
    INFO(e.dump());
    CHECK(e["time"].is_number());
    CHECK(e["age_seconds"].get<double>() >= 0);
    CHECK(e["sentinel"].is_string());
    if (e["event"] == "+sdown" && e["payload"].get<std::string>().find(replica) != std::string::npos) {
      found = true;
      CHECK(e["master_name"] == "aragora-master");
      CHECK(e["new_master"].is_null());
      CHECK(e["age_seconds"].get<double>() < 120);
    }
  }
  CHECK(found);
  // The keys before these are the document without the flag, in the same order.
  std::vector<std::string> keys;
  const auto ordered = nlohmann::ordered_json::parse(json.out);
  for (auto it = ordered.begin(); it != ordered.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"status", "exit_code", "schema", "critical", "degraded", "sentinels", "groups",
                                         "events", "events_error"});
}

// A Sentinel that left stays a voter its peers count until SENTINEL RESET. One announced by a
// hello on the master's __sentinel__:hello channel, at a port nothing listens on, is exactly
// that: the majority a failover's leader needs rises from 2 to 3, above the quorum. Sentinel's
// own CKQUORUM says the same once a real Sentinel is down.
TEST_CASE("check: a departed Sentinel its peers still count raises what a failover needs, as CKQUORUM says") {
  LocalTopology topo;
  const int gone = FreePort();
  const std::string hello = "127.0.0.1," + std::to_string(gone) + "," + std::string(40, 'd') +
                            ",0,aragora-master,127.0.0.1," + std::to_string(topo.data_ports()[0]) + ",0";
  nlohmann::json group;
  const bool counted = WaitFor(
      [&] {
        topo.Cli(topo.data_ports()[0], {"PUBLISH", "__sentinel__:hello", hello});
        auto r = Check(topo, {"--output=json"});
        if (r.out.empty()) return false;
        group = nlohmann::json::parse(r.out)["groups"][0];
        return group["sentinels_known"] == 4;
      },
      std::chrono::seconds(30));
  INFO(group.dump());
  REQUIRE(counted);
  CHECK(group["sentinels_needed"] == 3);  // a majority of 4, above the quorum of 2
  CHECK(group["sentinels_up"] == 3);
  CHECK(group["sentinels_down"] == std::vector<std::string>{"127.0.0.1:" + std::to_string(gone)});

  // One real Sentinel down: the quorum of 2 still answers, the 3 a leader needs do not.
  topo.StopNode(topo.sentinel_ports()[2]);
  auto r = Check(topo);
  INFO(r.out, r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("2 Sentinels answered, fewer than the 3 a failover needs (quorum 2, a majority of 4 Sentinels)") !=
        std::string::npos);
  // Sentinel agrees once it has flagged its two peers down (down-after-milliseconds).
  std::string ckquorum;
  CHECK(WaitFor(
      [&] {
        ckquorum = topo.Cli(topo.sentinel_ports()[0], {"SENTINEL", "CKQUORUM", "aragora-master"});
        return ckquorum.find("NOQUORUM") != std::string::npos;
      },
      std::chrono::seconds(20)));
  INFO(ckquorum);
  CHECK(ckquorum.find("majority") != std::string::npos);
}

// Names, addresses and error messages in the text report come from peers. A hostile one's
// escape sequences must not reach the terminal: no clearing the screen, no retitling the
// window, no hiding a line. The JSON keeps the exact text, escaped, for scripts.
TEST_CASE("check: a peer's control bytes are printed as '?', and kept exactly in JSON") {
  const std::string name =
      "evil\x1b[2J\x1b]0;owned\x07\xc2\x9b"
      "31mname";
  FakeTopology fake(name);
  Recording hostile([](const Command&) { return std::string("-ERR \x1b[1A\x1b[2Kline hidden\r\n"); });
  const std::vector<std::string> argv = {RSE_EXPORTER_BINARY, "check", "--redis.timeout=2s",
                                         "--sentinel.addr=" + fake.sentinel->addr() + "," + hostile.addr()};
  auto r = Run(argv, EnvWith({}), std::chrono::seconds(30));
  INFO(r.out, r.err);
  CHECK(r.exit_code == 1);  // the hostile "Sentinel" is down; the fake group is fine
  const auto control = std::count_if(r.out.begin(), r.out.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\n') || u == 0x7f;
  });
  CHECK(control == 0);
  CHECK(r.out.find("\xc2\x9b") == std::string::npos);
  CHECK(r.out.find("Master group evil?[2J?]0;owned??31mname") != std::string::npos);
  CHECK(r.out.find("?[1A?[2Kline hidden") != std::string::npos);

  auto json = Run({argv[0], argv[1], argv[2], argv[3], "--output=json"}, EnvWith({}), std::chrono::seconds(30));
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["groups"][0]["master_name"] == name);
}
