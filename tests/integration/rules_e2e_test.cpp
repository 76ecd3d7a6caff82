// The rule pack in a real Prometheus (Debian's `prometheus`), scraping the real exporter on a
// real local topology, through a real failover: the failover alert fires, and no split-brain
// or quorum alert does. Also: every rule evaluates without error on real data, and every
// dashboard query is accepted by Prometheus.
//
// Named "rules: ..." so rules/tests.cmake labels it `rules` as well as `integration`.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/http.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kRoot = RSE_SOURCE_DIR;
const std::string kRuleFile = kRoot + "/rules/redis_sentinel.rules.yml";
const std::string kDashboard = kRoot + "/dashboards/redis-sentinel.json";

// The string value of the first `"key":"..."` in text[from, to); "" when there is none.
std::string JsonField(const std::string& text, const std::string& key, size_t from = 0, size_t to = std::string::npos) {
  const std::string needle = "\"" + key + "\":\"";
  const size_t p = text.find(needle, from);
  if (p == std::string::npos || (to != std::string::npos && p >= to)) return "";
  return JsonStringAt(text, p + needle.size() - 1);
}

struct ActiveAlert {
  std::string name, state, master_name, addr, summary;
};

// The alerts of a /api/v1/alerts answer: objects {"labels":{...},"annotations":{...},
// "state":...}, so each alert's fields lie between its `{"labels":` and the next one (quotes
// inside values are escaped and cannot fake a key).
std::vector<ActiveAlert> ParseAlerts(const std::string& body) {
  std::vector<ActiveAlert> out;
  const std::string start = "{\"labels\":{";
  for (size_t p = body.find(start); p != std::string::npos;) {
    const size_t end = body.find(start, p + 1);
    out.push_back({JsonField(body, "alertname", p, end), JsonField(body, "state", p, end),
                   JsonField(body, "master_name", p, end), JsonField(body, "addr", p, end),
                   JsonField(body, "summary", p, end)});
    p = end;
  }
  return out;
}

// Every "expr" string of the dashboard JSON, with Grafana's variables made plain PromQL.
std::vector<std::string> DashboardExprs() {
  const std::string text = ReadFile(kDashboard);
  std::vector<std::string> out;
  const std::regex var(R"(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)");
  for (size_t p = text.find("\"expr\""); p != std::string::npos; p = text.find("\"expr\"", p + 1)) {
    size_t q = text.find_first_not_of(" \t\r\n:", p + 6);
    if (q == std::string::npos || text[q] != '"') continue;
    std::string e = JsonStringAt(text, q);
    e = std::regex_replace(e, std::regex(R"(\$__rate_interval|\$__interval)"), "1m");
    e = std::regex_replace(e, std::regex(R"(\$__range)"), "1h");
    out.push_back(std::regex_replace(e, var, ".*"));
  }
  return out;
}

std::vector<ActiveAlert> Alerts(const PrometheusProcess& prometheus) {
  return ParseAlerts(prometheus.Api("/api/v1/alerts"));
}

std::string Describe(const std::vector<ActiveAlert>& alerts) {
  std::string out;
  std::set<std::string> distinct;
  for (const auto& a : alerts)
    distinct.insert(a.name + "{" + a.master_name + (a.addr.empty() ? "" : "," + a.addr) + "} " + a.state);
  for (const auto& a : distinct) out += (out.empty() ? "" : "; ") + a;
  return out.empty() ? "none" : out;
}

// Scrapes the exporter and evaluates the rules every second.
std::string PrometheusConfig(int exporter_port) {
  return "global:\n"
         "  scrape_interval: 1s\n"
         "  scrape_timeout: 1s\n"
         "  evaluation_interval: 1s\n"
         "rule_files:\n"
         "  - '" +
         kRuleFile +
         "'\n"
         "scrape_configs:\n"
         "  - job_name: redis_sentinel\n"
         "    static_configs:\n"
         "      - targets: ['127.0.0.1:" +
         std::to_string(exporter_port) + "']\n";
}

}  // namespace

// Long: one scenario in order (healthy, master killed, failover, settled) against one real
// Prometheus and topology, which take seconds each to start.
TEST_CASE("rules: in a real Prometheus, a clean failover fires the failover alert and no split-brain or quorum alert") {
  LocalTopology topo({.down_after_ms = 1000});
  // Scrapes every second with a 1 s timeout: the exporter gets 800 ms of it (not 500, the
  // default offset) so a Sentinel slowed by a busy machine is less likely to miss the deadline.
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--scrape.timeout-offset=200ms"});
  PrometheusProcess prometheus(PrometheusConfig(exporter.port()));
  INFO("prometheus log:\n", prometheus.Log());

  // Scraped, and the recording rules joined the three Sentinels' views (peers' addresses
  // match the exporter's `sentinel` labels).
  REQUIRE(WaitFor([&] { return prometheus.Value("count(redis_sentinel:member:info)") == 3; }, 30s));
  // Every rule evaluated, none with an error (a many-to-many match, say) on real data.
  std::string rules;
  REQUIRE(WaitFor(
      [&] {
        rules = prometheus.Api("/api/v1/rules");
        return !rules.empty() && rules.find("\"health\":\"unknown\"") == std::string::npos;
      },
      30s));
  CHECK_MESSAGE(rules.find("\"health\":\"err\"") == std::string::npos, rules);
  CHECK(rules.find("\"lastError\":\"") == std::string::npos);
  // Every dashboard query runs.
  for (const auto& e : DashboardExprs()) {
    const std::string body = prometheus.Query(e);
    CHECK_MESSAGE(body.find("\"status\":\"success\"") != std::string::npos, e << "\n" << body);
  }
  // A healthy topology raises nothing, not even a pending alert.
  const auto healthy = Alerts(prometheus);
  CHECK_MESSAGE(healthy.empty(), Describe(healthy));
  CHECK(prometheus.Value("redis_sentinel_failovers_total") == 0);

  // Kill the master: down-after 1 s, then the Sentinels fail over to a replica.
  const auto stopped_at = std::chrono::steady_clock::now();
  topo.StopNode(topo.data_ports()[0]);

  // Split brain and quorum alerts. In a clean failover their expressions stay false, with
  // two exceptions that are not faults of the rules, and that must not last:
  // - a scrape in which a Sentinel misses the exporter's deadline (during the switch every
  //   Sentinel rewrites and fsyncs its config; on a busy machine that can take longer than the
  //   deadline) makes the quorum expressions true for that one evaluation: `for: 1m` is there
  //   to absorb it, so these alerts may blip but never stay active 5 s in a row;
  // - with down-after-milliseconds 1000 (Sentinel's PING period), a Sentinel that has just
  //   switched to the new master can flag it down before its first PING reply there and start a
  //   second failover, leaving two real masters for a second or two (about one run in fifteen).
  //   A timeout can only lower the count of masters, so a split brain needs that second
  //   failover to explain it.
  const std::set<std::string> forbidden = {"RedisSplitBrain", "RedisSentinelQuorumLost", "RedisSentinelCkquorumFailed"};
  std::map<std::string, std::chrono::steady_clock::time_point> active_since;
  std::chrono::milliseconds longest{0};
  std::string longest_alert;
  std::vector<ActiveAlert> seen_forbidden;
  ActiveAlert changed;
  auto poll = [&] {
    const auto now = std::chrono::steady_clock::now();
    std::set<std::string> active;
    for (const auto& a : Alerts(prometheus)) {
      if (forbidden.count(a.name)) {
        seen_forbidden.push_back(a);
        active.insert(Describe({a}));
      }
      if (a.name == "RedisMasterChanged" && a.state == "firing" && changed.name.empty()) changed = a;
    }
    std::erase_if(active_since, [&](const auto& kv) { return !active.count(kv.first); });
    for (const auto& key : active) {
      const auto since = active_since.emplace(key, now).first->second;
      const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
      if (lasted > longest) {
        longest = lasted;
        longest_alert = key;
      }
    }
    return !changed.name.empty();
  };
  const bool fired = WaitFor(poll, 60s);
  const auto fired_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - stopped_at);
  REQUIRE_MESSAGE(fired, "RedisMasterChanged did not fire; alerts: " << Describe(Alerts(prometheus)));
  MESSAGE("RedisMasterChanged firing " << fired_after.count() << " ms after the master was stopped");
  CHECK(changed.master_name == topo.options().master_name);
  const std::string prefix = "Master group " + topo.options().master_name + " failed over; the master is now ";
  CHECK_MESSAGE((changed.summary == prefix + topo.data(1) || changed.summary == prefix + topo.data(2)),
                changed.summary);

  // Long enough after the failover for a lasting problem to show as one.
  WaitFor(
      [&] {
        poll();
        return false;
      },
      6s);
  const std::string failovers = "max_over_time(redis_sentinel_failovers_total[1m])";
  if (seen_forbidden.empty()) {
    CHECK(prometheus.Value(failovers) == 1);
    return;
  }
  MESSAGE("seen: " << Describe(seen_forbidden) << "; longest active " << longest.count() << " ms (" << longest_alert
                   << ")\nSentinels answering in the last 30 s: "
                   << prometheus.Query("redis_sentinel_topology_sentinels_up[30s]")
                   << "\nscrape durations: " << prometheus.Query("scrape_duration_seconds[30s]"));
  bool split_brain = false;
  for (const auto& a : seen_forbidden) split_brain = split_brain || a.name == "RedisSplitBrain";
  if (split_brain) {
    CHECK_MESSAGE(WaitFor([&] { return prometheus.Value(failovers) >= 2; }, 30s),
                  "two masters without a second failover");
  } else {
    CHECK_MESSAGE(longest < 5s, longest_alert << " active for " << longest.count() << " ms");
    CHECK(prometheus.Value(failovers) == 1);
  }
  // Whatever it was, it clears without firing.
  const bool cleared = WaitFor(
      [&] {
        for (const auto& a : Alerts(prometheus)) {
          if (!forbidden.count(a.name)) continue;
          CHECK_MESSAGE(a.state == "pending", Describe({a}));
          return false;
        }
        return true;
      },
      40s);
  CHECK_MESSAGE(cleared, Describe(Alerts(prometheus)));
}

// The replica-reconfiguration phase held open (the replica not promoted is paused, see the
// drill of the same name): the leader's SENTINEL MASTER keeps the old master all along, but the
// disagreement alert is never even pending, because every Sentinel gives clients the new one.
TEST_CASE("rules: in a real Prometheus, a slow replica reconfiguration raises no disagreement") {
  LocalTopology topo({.down_after_ms = 30000, .failover_timeout_ms = 60000});
  const int slow = topo.data_ports()[2];
  REQUIRE(topo.SetReplicaPriority({slow}, 200));
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--scrape.timeout-offset=200ms", "--redis.timeout=1s"});
  PrometheusProcess prometheus(PrometheusConfig(exporter.port()));
  INFO("prometheus log:\n", prometheus.Log());
  REQUIRE(WaitFor([&] { return prometheus.Value("count(redis_sentinel:member:info)") == 3; }, 30s));
  REQUIRE(topo.SentinelsReportPriority({slow}, 200));
  auto paused = topo.Pause(slow);
  REQUIRE(topo.Cli(topo.sentinel_ports()[0], {"SENTINEL", "FAILOVER", topo.options().master_name}) == "OK");

  const std::string reconf = "max(redis_sentinel_master_failover_state{state=\"reconf_slaves\"})";
  bool disagreement = false, in_reconf = false;
  int reconf_evaluations = 0;
  WaitFor(
      [&] {
        for (const auto& a : Alerts(prometheus))
          disagreement = disagreement || a.name == "RedisSentinelsDisagreeOnMaster";
        in_reconf = prometheus.Value(reconf) == 1;
        reconf_evaluations += in_reconf;
        return reconf_evaluations > 0 && !in_reconf;
      },
      45s);
  // On failure, whether Prometheus' scrapes succeeded meanwhile, and what the exporter logged.
  CHECK_MESSAGE(reconf_evaluations >= 5, "the reconfiguration phase was seen "
                                             << reconf_evaluations << " times; "
                                             << prometheus.Value("sum_over_time(up[1m])") << " of "
                                             << prometheus.Value("count_over_time(up[1m])")
                                             << " scrapes in the last minute succeeded; exporter log:\n"
                                             << exporter.Log());
  CHECK(!disagreement);
  CHECK(prometheus.Value("max_over_time(redis_sentinel_topology_master_addresses[2m])") == 1);
}

// Every replica at replica-priority 0: the Sentinels try, find no replica to promote, and abort.
TEST_CASE("rules: in a real Prometheus, an aborted failover fires RedisFailoverAborted") {
  LocalTopology topo({.down_after_ms = 1000});
  const std::vector<int> replicas = {topo.data_ports()[1], topo.data_ports()[2]};
  REQUIRE(topo.SetReplicaPriority(replicas, 0));
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(),
                            "--scrape.timeout-offset=200ms"});
  PrometheusProcess prometheus(PrometheusConfig(exporter.port()));
  INFO("prometheus log:\n", prometheus.Log());
  // The event counters exist (at 0) before anything happens, so the first abort is an increase.
  REQUIRE(WaitFor(
      [&] {
        return prometheus.Value("count(redis_sentinel_events_total{event=\"-failover-abort-no-good-slave\"})") == 3;
      },
      30s));
  REQUIRE(topo.SentinelsReportPriority(replicas, 0));
  topo.StopNode(topo.data_ports()[0]);
  ActiveAlert aborted;
  const bool fired = WaitFor(
      [&] {
        for (const auto& a : Alerts(prometheus)) {
          if (a.name == "RedisFailoverAborted" && a.state == "firing") aborted = a;
        }
        return !aborted.name.empty();
      },
      60s);
  REQUIRE_MESSAGE(fired, Describe(Alerts(prometheus)));
  CHECK(aborted.master_name == topo.options().master_name);
  CHECK(prometheus.Value("sum(redis_sentinel_failovers_total)") == 0);
}
