// Collectors: a Snapshot built by hand from recorded replies, every collector run into one
// MetricSink, the text it renders parsed back and checked family by family, series by series.
#include <doctest/doctest.h>
#include <prometheus/check_names.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/datanode.h"
#include "collectors/metrics.h"
#include "collectors/registry.h"
#include "fixtures.h"
#include "model/events.h"
#include "model/health.h"
#include "model/snapshot.h"

namespace {

using rse::collectors::AddressOf;
using rse::collectors::AllCollectors;
using rse::collectors::CollectReachability;
using rse::collectors::DataNode;
using rse::collectors::Desc;
using rse::collectors::FindCollector;
using rse::collectors::MasterView;
using rse::collectors::MetricSink;
using rse::collectors::Needs;
using rse::collectors::SentinelNode;
using rse::collectors::Snapshot;
using rse::test::LocalAddr;

const std::string kMaster = "aragora-master";

// ------------------------------------------------------ text exposition -----

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> label_names;  // in their order on the line
  double value = 0;
};

struct Family {
  std::string name, help, type;
  std::vector<Sample> metric;
};

// Reads the text format: "# HELP name text", "# TYPE name type", then the family's samples.
// Fails the test on a line that does not belong to the family announced before it.
std::vector<Family> ParseExposition(const std::string& text) {
  std::vector<Family> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    REQUIRE_MESSAGE(!line.empty(), "empty line in\n" << text);
    if (line.rfind("# HELP ", 0) == 0) {
      const size_t space = line.find(' ', 7);
      REQUIRE_MESSAGE(space != std::string::npos, "bad HELP line: " << line);
      out.push_back({line.substr(7, space - 7), line.substr(space + 1), "", {}});
      continue;
    }
    REQUIRE_MESSAGE(!out.empty(), "a line before any HELP: " << line);
    Family& family = out.back();
    if (line.rfind("# TYPE ", 0) == 0) {
      REQUIRE_MESSAGE(line.rfind("# TYPE " + family.name + " ", 0) == 0, "TYPE of another family: " << line);
      REQUIRE_MESSAGE(family.type.empty(), "second TYPE line: " << line);
      family.type = line.substr(8 + family.name.size());
      continue;
    }
    REQUIRE_MESSAGE(line.front() != '#', "unexpected comment: " << line);
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        REQUIRE_MESSAGE(eq != std::string::npos, "bad sample line: " << line);
        const std::string key = line.substr(i, eq - i);
        i = eq + 1;
        REQUIRE_MESSAGE(line.at(i) == '"', "bad sample line: " << line);
        ++i;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        REQUIRE_MESSAGE(i < line.size(), "unterminated label value: " << line);
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        REQUIRE_MESSAGE(s.labels.emplace(key, value).second, "label " << key << " twice: " << line);
        s.label_names.push_back(key);
      }
      ++i;  // '}'
    }
    const bool has_value = i < line.size() && line[i] == ' ';
    REQUIRE_MESSAGE(has_value, "bad sample line: " << line);
    std::istringstream value(line.substr(i + 1));
    value >> s.value;
    const bool parsed = !value.fail();
    REQUIRE_MESSAGE(parsed, "bad sample value: " << line);
    const bool summary_part = (family.type == "summary" || family.type == "histogram") &&
                              (s.name == family.name + "_sum" || s.name == family.name + "_count" ||
                               (family.type == "histogram" && s.name == family.name + "_bucket"));
    REQUIRE_MESSAGE((s.name == family.name || summary_part),
                    "sample of another family after " << family.name << ": " << line);
    family.metric.push_back(std::move(s));
  }
  return out;
}

struct Output {
  std::vector<Family> families;
  std::string text;
  std::vector<Sample> samples;
  std::vector<std::string> problems;

  // Samples of NAME whose labels include every pair of WANT.
  std::vector<const Sample*> Find(const std::string& name, const std::map<std::string, std::string>& want) const {
    std::vector<const Sample*> found;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : want) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) found.push_back(&s);
    }
    return found;
  }
  // The one sample of NAME with those labels; fails the test when there is not exactly one.
  double Value(const std::string& name, const std::map<std::string, std::string>& want) const {
    auto found = Find(name, want);
    REQUIRE_MESSAGE(found.size() == 1, name << ": " << found.size() << " matching samples in\n" << text);
    return found[0]->value;
  }
  bool Has(const std::string& name, const std::map<std::string, std::string>& want) const {
    return !Find(name, want).empty();
  }
};

// What the scrape loop does: reachability, then every collector, into one sink.
Output Run(const Snapshot& snapshot) {
  Output out;
  MetricSink sink;
  CollectReachability(snapshot, sink);
  for (const auto& spec : AllCollectors()) {
    auto collector = spec.factory();
    REQUIRE(collector != nullptr);
    collector->Collect(snapshot, sink, out.problems);
  }
  out.text = sink.Take();
  out.families = ParseExposition(out.text);
  for (const auto& f : out.families) out.samples.insert(out.samples.end(), f.metric.begin(), f.metric.end());
  return out;
}

// ------------------------------------------------------------ snapshot ------

struct Topology {
  int p = 0;  // master port; replicas p+1, p+2; Sentinels p+3..p+5 (tests/fixtures/README.md)
  std::string sentinel_up, sentinel_down, master, replica, node_down;
  Snapshot snapshot;
};

MasterView HealthyView() {
  MasterView view;
  view.name = kMaster;
  view.master = rse::test::LoadFieldArrayFixture("sentinel-master.resp");
  view.replicas = rse::test::LoadFieldArraysFixture("sentinel-replicas.resp");
  view.sentinels = rse::test::LoadFieldArraysFixture("sentinel-sentinels.resp");
  auto ck = rse::collectors::ParseCkquorum(rse::test::LoadFixture("sentinel-ckquorum-ok.resp"));
  REQUIRE(ck.ok());
  view.ckquorum = *ck.value;
  return view;
}

// One Sentinel up (P+3) and one down (P+5); the master and a replica up, a replica down.
// The down nodes carry stale INFO on purpose: none of it may reach the output.
Topology BuildTopology() {
  Topology t;
  t.p = rse::test::FixtureMasterPort();
  t.sentinel_up = LocalAddr(t.p + 3);
  t.sentinel_down = LocalAddr(t.p + 5);
  t.master = LocalAddr(t.p);
  t.replica = LocalAddr(t.p + 1);
  t.node_down = LocalAddr(t.p + 2);

  SentinelNode up;
  up.address = {"127.0.0.1", static_cast<std::uint16_t>(t.p + 3)};
  up.info = rse::test::LoadInfoFixture("info-sentinel.resp");
  up.masters.push_back(HealthyView());

  SentinelNode down;
  down.address = {"127.0.0.1", static_cast<std::uint16_t>(t.p + 5)};
  down.error = {rse::redis::Cause::kRefused, "connection refused"};
  down.info = rse::test::LoadInfoFixture("info-sentinel.resp");  // stale

  DataNode master;
  master.master_name = kMaster;
  master.address = {"127.0.0.1", static_cast<std::uint16_t>(t.p)};
  master.info = rse::test::LoadInfoFixture("info-master.resp");

  DataNode replica;
  replica.master_name = kMaster;
  replica.address = {"127.0.0.1", static_cast<std::uint16_t>(t.p + 1)};
  replica.info = rse::test::LoadInfoFixture("info-replica.resp");

  DataNode node_down;
  node_down.master_name = kMaster;
  node_down.address = {"127.0.0.1", static_cast<std::uint16_t>(t.p + 2)};
  node_down.error = {rse::redis::Cause::kTimeout, "timed out"};
  node_down.info = rse::test::LoadInfoFixture("info-replica.resp");  // stale

  t.snapshot.sentinels = {up, down};
  t.snapshot.nodes = {master, replica, node_down};
  return t;
}

}  // namespace

// ------------------------------------------------------------- registry -----

TEST_CASE("collectors: the registry lists every collector, enabled by default, once") {
  const std::vector<std::string> want{"sentinel", "replicas",     "sentinels",    "ckquorum",   "replication",
                                      "info",     "commandstats", "latencystats", "errorstats", "config",
                                      "slowlog",  "topology",     "consistency",  "events"};
  std::vector<std::string> names;
  for (const auto& spec : AllCollectors()) {
    CAPTURE(spec.name);
    names.emplace_back(spec.name);
    CHECK(spec.enabled_by_default);
    CHECK_FALSE(spec.help.empty());
    REQUIRE(static_cast<bool>(spec.factory));
    CHECK(spec.factory() != nullptr);
    CHECK(FindCollector(spec.name) == &spec);
  }
  CHECK(names == want);  // also the order of their families in the output
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(FindCollector("no-such-collector") == nullptr);
  CHECK(FindCollector("") == nullptr);
  CHECK(FindCollector("Sentinel") == nullptr);  // flag names are exact
}

TEST_CASE("collectors: each collector asks the scrape for what it reads") {
  CHECK(FindCollector("ckquorum")->needs.ckquorum);
  CHECK(FindCollector("replication")->needs.data_info == Needs::DataInfo::kReplication);
  CHECK(FindCollector("info")->needs.data_info == Needs::DataInfo::kFull);
  CHECK(FindCollector("sentinel")->needs.data_info == Needs::DataInfo::kNone);
  CHECK_FALSE(FindCollector("sentinel")->needs.ckquorum);

  Needs merged;
  merged.Merge(FindCollector("info")->needs);
  merged.Merge(FindCollector("replication")->needs);  // a smaller need does not shrink it
  merged.Merge(FindCollector("ckquorum")->needs);
  CHECK(merged.data_info == Needs::DataInfo::kFull);
  CHECK(merged.ckquorum);
}

// ---------------------------------------------------------- metric sink -----

TEST_CASE("collectors: MetricSink keeps one family per name whoever adds to it") {
  const Desc a{"test_a", "A."};
  const Desc b{"test_b_total", "B.", prometheus::MetricType::Counter};
  MetricSink sink;
  sink.Add(a, {{"x", "1"}}, 1);
  sink.Add(b, {}, 5);
  sink.Add(a, {{"x", "2"}}, 2);
  sink.AddIf(a, {{"x", "3"}}, std::nullopt);  // missing: no sample
  sink.AddIf(a, {{"x", "4"}}, 0.0);           // zero: a sample
  // Without a plan, in order of first use, each family whole.
  CHECK(sink.Take() ==
        "# HELP test_a A.\n# TYPE test_a gauge\ntest_a{x=\"1\"} 1\ntest_a{x=\"2\"} 2\ntest_a{x=\"4\"} 0\n"
        "# HELP test_b_total B.\n# TYPE test_b_total counter\ntest_b_total 5\n");
  CHECK(sink.Take().empty());  // taken: the next scrape starts empty
}

// ------------------------------------------------------------ collectors ----

// Long: one set-up and a SUBCASE per collector; doctest runs the case once per subcase.
TEST_CASE("collectors: a healthy snapshot from recorded replies") {
  const auto t = BuildTopology();
  const auto out = Run(t.snapshot);
  const std::map<std::string, std::string> sm{{"sentinel", t.sentinel_up}, {"master_name", kMaster}};

  CHECK_MESSAGE(out.problems.empty(), "unexpected problem: " << (out.problems.empty() ? "" : out.problems[0]));

  SUBCASE("reachability") {
    CHECK(out.Value("redis_sentinel_up", {{"sentinel", t.sentinel_up}}) == 1);
    CHECK(out.Value("redis_sentinel_up", {{"sentinel", t.sentinel_down}}) == 0);
    CHECK(out.Value("redis_up", {{"addr", t.master}, {"master_name", kMaster}}) == 1);
    CHECK(out.Value("redis_up", {{"addr", t.replica}}) == 1);
    CHECK(out.Value("redis_up", {{"addr", t.node_down}}) == 0);
  }

  SUBCASE("sentinel: the master as the Sentinel sees it") {
    CHECK(out.Value("redis_sentinel_master_status", sm) == 1);
    CHECK(out.Value("redis_sentinel_master_sdown", sm) == 0);
    CHECK(out.Value("redis_sentinel_master_odown", sm) == 0);
    CHECK(out.Value("redis_sentinel_master_failover_in_progress", sm) == 0);
    CHECK(out.Value("redis_sentinel_master_slaves", sm) == 2);
    CHECK(out.Value("redis_sentinel_master_ok_slaves", sm) == 2);
    CHECK(out.Value("redis_sentinel_master_sentinels", sm) == 3);  // 2 others + itself
    CHECK(out.Value("redis_sentinel_master_ok_sentinels", sm) == 3);
    CHECK(out.Value("redis_sentinel_master_quorum", sm) == 2);
    CHECK(out.Value("redis_sentinel_master_down_after_seconds", sm) == 1);  // 1000 ms
    CHECK(out.Value("redis_sentinel_master_failover_timeout_seconds", sm) == 60);
    CHECK(out.Value("redis_sentinel_master_parallel_syncs", sm) == 1);
    CHECK(out.Value("redis_sentinel_master_config_epoch", sm) >= 0);
    auto info = sm;
    info["master_address"] = t.master;
    CHECK(out.Value("redis_sentinel_master_info", info) == 1);
    CHECK(out.Find("redis_sentinel_master_info", sm).size() == 1);
    CHECK(out.Value("redis_sentinel_tilt", {{"sentinel", t.sentinel_up}}) == 0);
    auto none = sm;
    none["state"] = "none";
    CHECK(out.Value("redis_sentinel_master_failover_state", none) == 1);
    CHECK(out.Find("redis_sentinel_master_failover_state", sm).size() == 7);
    CHECK(out.Value("redis_sentinel_masters", {{"sentinel", t.sentinel_up}}) == 1);
  }

  SUBCASE("ckquorum") {
    CHECK(out.Value("redis_sentinel_master_ckquorum_ok", sm) == 1);
    CHECK(out.Value("redis_sentinel_master_ckquorum_usable_sentinels", sm) == 3);
  }

  SUBCASE("replicas: the Sentinel's view of each replica") {
    for (const auto& addr : {t.replica, t.node_down}) {
      CAPTURE(addr);
      auto l = sm;
      l["addr"] = addr;
      CHECK(out.Value("redis_sentinel_replica_ok", l) == 1);
      CHECK(out.Value("redis_sentinel_replica_sdown", l) == 0);
      CHECK(out.Value("redis_sentinel_replica_disconnected", l) == 0);
      CHECK(out.Value("redis_sentinel_replica_master_link_up", l) == 1);
      CHECK(out.Value("redis_sentinel_replica_master_link_down_seconds", l) == 0);
      CHECK(out.Value("redis_sentinel_replica_priority", l) == 100);
      auto info = l;
      info["master_address"] = t.master;
      CHECK(out.Value("redis_sentinel_replica_info", info) == 1);
    }
    CHECK(out.Find("redis_sentinel_replica_ok", {}).size() == 2);
  }

  SUBCASE("sentinels: the Sentinel's view of its peers") {
    for (const auto& peer : {LocalAddr(t.p + 4), LocalAddr(t.p + 5)}) {
      CAPTURE(peer);
      auto l = sm;
      l["peer"] = peer;
      CHECK(out.Value("redis_sentinel_peer_ok", l) == 1);
      CHECK(out.Value("redis_sentinel_peer_sdown", l) == 0);
      CHECK(out.Value("redis_sentinel_peer_disconnected", l) == 0);
      CHECK(out.Value("redis_sentinel_peer_last_hello_seconds", l) >= 0);
      CHECK(out.Value("redis_sentinel_peer_last_hello_seconds", l) < 60);  // milliseconds converted
    }
  }

  SUBCASE("replication: INFO replication of each data node") {
    CHECK(out.Value("redis_connected_slaves", {{"addr", t.master}}) == 2);
    CHECK(out.Value("redis_connected_slaves", {{"addr", t.replica}}) == 0);
    CHECK(out.Value("redis_master_repl_offset", {{"addr", t.master}}) > 0);
    // The role is a state set: both series for each node, exactly one of them 1.
    for (const auto& [addr, role] : {std::pair{t.master, "master"}, std::pair{t.replica, "replica"}}) {
      const auto& node = addr;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
      CAPTURE(node);
      auto series = out.Find("redis_instance_role", {{"addr", addr}});
      REQUIRE(series.size() == 2);
      std::set<std::string> roles;
      double sum = 0;
      for (const auto* s : series) {
        roles.insert(s->labels.at("role"));
        sum += s->value;
      }
      CHECK(roles == std::set<std::string>{"master", "replica"});
      CHECK(sum == 1);
      CHECK(out.Value("redis_instance_role", {{"addr", addr}, {"role", role}}) == 1);
    }
    CHECK(out.Value("redis_master_link_up", {{"addr", t.replica}}) == 1);
    CHECK(out.Value("redis_master_sync_in_progress", {{"addr", t.replica}}) == 0);
    CHECK(out.Value("redis_slave_repl_offset", {{"addr", t.replica}}) > 0);
    CHECK(out.Value("redis_replica_master_info", {{"addr", t.replica}, {"master_address", t.master}}) == 1);
    CHECK_FALSE(out.Has("redis_master_link_up", {{"addr", t.master}}));  // a master has no master link
    CHECK_FALSE(out.Has("redis_replica_master_info", {{"addr", t.master}}));
    for (int port : {t.p + 1, t.p + 2}) {
      CAPTURE(port);
      const std::map<std::string, std::string> slave{{"addr", t.master},
                                                     {"slave_ip", "127.0.0.1"},
                                                     {"slave_port", std::to_string(port)},
                                                     {"slave_state", "online"}};
      CHECK(out.Value("redis_connected_slave_offset_bytes", slave) >= 0);
      CHECK(out.Value("redis_connected_slave_lag_seconds", slave) >= 0);
    }
    // redis_exporter's labels for the master a replica follows.
    const std::map<std::string, std::string> followed{
        {"addr", t.replica}, {"master_host", "127.0.0.1"}, {"master_port", std::to_string(t.p)}};
    CHECK(out.Value("redis_master_link_up", followed) == 1);
    CHECK(out.Value("redis_slave_info",
                    {{"addr", t.replica}, {"read_only", "1"}, {"master_port", std::to_string(t.p)}}) == 1);
    CHECK_FALSE(out.Has("redis_master_link_down_since_seconds", {{"addr", t.replica}}));  // only while down
  }

  SUBCASE("info: INFO fields of each data node") {
    for (const auto& addr : {t.master, t.replica}) {
      CAPTURE(addr);
      CHECK(out.Value("redis_uptime_in_seconds", {{"addr", addr}}) >= 0);
      CHECK(out.Value("redis_memory_used_bytes", {{"addr", addr}}) > 0);
      CHECK(out.Value("redis_commands_processed_total", {{"addr", addr}}) > 0);
      CHECK(out.Value("redis_rdb_last_bgsave_status", {{"addr", addr}}) == 1);
      CHECK(out.Value("redis_db_keys", {{"addr", addr}, {"db", "db0"}}) == 2);
      CHECK(out.Value("redis_db_keys_expiring", {{"addr", addr}, {"db", "db0"}}) == 1);
      CHECK(out.Value("redis_instance_info", {{"addr", addr}, {"redis_version", "7.0.15"}}) == 1);
    }
  }
}

TEST_CASE("collectors: a down node or Sentinel has nothing but its up series") {
  const auto t = BuildTopology();
  const auto out = Run(t.snapshot);
  int down_node = 0, down_sentinel = 0;
  for (const auto& s : out.samples) {
    auto addr = s.labels.find("addr");
    const bool about_node_down = addr != s.labels.end() && addr->second == t.node_down;
    // The one exception: a replica's lag as its master sees it, which keeps counting while the
    // replica itself does not answer.
    if (about_node_down && s.name != "redis_up" && s.name != "redis_replication_lag_bytes" &&
        s.labels.count("sentinel") == 0) {
      FAIL_CHECK("series for a down data node: " << s.name);
    }
    if (s.name == "redis_up" && about_node_down) ++down_node;
    auto sentinel = s.labels.find("sentinel");
    if (sentinel != s.labels.end() && sentinel->second == t.sentinel_down) {
      if (s.name != "redis_sentinel_up") FAIL_CHECK("series for a down Sentinel: " << s.name);
      ++down_sentinel;
    }
  }
  CHECK(down_node == 1);
  CHECK(down_sentinel == 1);
  // What is still said about the down replica comes from others' views of it: the up
  // Sentinel (SENTINEL REPLICAS) and the master (INFO replication), each labelled as such.
  CHECK(out.Has("redis_sentinel_replica_ok", {{"sentinel", t.sentinel_up}, {"addr", t.node_down}}));
  CHECK(out.Has("redis_connected_slave_offset_bytes", {{"addr", t.master}, {"slave_port", std::to_string(t.p + 2)}}));
}

// Long: two snapshots (healthy, everything flagged) through one list of naming rules.
TEST_CASE("collectors: names, labels and types follow the Prometheus conventions") {
  // Healthy, and with unhealthy flags everywhere: flags must never leak into labels.
  auto t = BuildTopology();
  Output out;
  SUBCASE("healthy") { out = Run(t.snapshot); }
  SUBCASE("everything flagged down") {
    auto& view = t.snapshot.sentinels[0].masters[0];
    view.master["flags"] = "s_down,o_down,master,failover_in_progress";
    for (auto& r : *view.replicas) r["flags"] = "s_down,slave,disconnected";
    view.sentinels = rse::test::LoadFieldArraysFixture("sentinel-sentinels-2-stopped.resp");
    auto ck = rse::collectors::ParseCkquorum(rse::test::LoadFixture("sentinel-ckquorum-noquorum.resp"));
    REQUIRE(ck.ok());
    view.ckquorum = *ck.value;
    out = Run(t.snapshot);
  }
  REQUIRE(out.families.size() > 20);
  // Families under redis_exporter's names, types and labels (docs/parity.md): kept as they are
  // there, so some break the conventions below (counters without _total, gauges with it, the
  // `os` label with spaces, role="slave").
  std::set<std::string> redis_exporter_families;
  for (const char* name : {"info", "commandstats", "latencystats", "errorstats", "config", "slowlog"}) {
    MetricSink sink;
    std::vector<std::string> problems;
    FindCollector(name)->factory()->Collect(t.snapshot, sink, problems);
    for (const auto& f : ParseExposition(sink.Take())) redis_exporter_families.insert(f.name);
  }

  std::set<std::string> names;
  for (const auto& family : out.families) {
    CAPTURE(family.name);
    CHECK(prometheus::CheckMetricName(family.name));
    CHECK(names.insert(family.name).second);  // one family per name
    CHECK_FALSE(family.help.empty());
    CHECK(family.help != family.name);
    CHECK_FALSE(family.metric.empty());  // no empty family
    const bool total = family.name.size() > 6 && family.name.ends_with("_total");
    const bool compatible = redis_exporter_families.count(family.name) > 0;
    if (compatible) {
      CHECK((family.type == "counter" || family.type == "gauge" || family.type == "summary"));
    } else if (family.type == "counter") {
      CHECK(total);
    } else {
      CHECK(family.type == "gauge");
      CHECK_FALSE(total);
    }
    std::set<std::string> first_label_names;
    std::set<std::vector<std::pair<std::string, std::string>>> seen;
    for (size_t i = 0; i < family.metric.size(); ++i) {
      const auto& m = family.metric[i];
      std::set<std::string> label_names;  // no label twice: ParseExposition checks it
      std::vector<std::pair<std::string, std::string>> key;
      for (const auto& [name, value] : m.labels) {
        const auto& label = name;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
        const auto& label_value = value;
        CAPTURE(label);
        CAPTURE(label_value);
        CHECK(prometheus::CheckLabelName(name));
        label_names.insert(name);
        if (compatible) {
          key.emplace_back(name, value);
          continue;
        }
        CHECK_FALSE(value.empty());
        // No free text in label values: no flags string, no message, no space.
        CHECK(value.find(' ') == std::string::npos);
        CHECK(value.find(',') == std::string::npos);
        for (const char* flag : {"s_down", "o_down", "disconnected", "sentinel", "slave", "ok"}) {
          CHECK(value != flag);
        }
        key.emplace_back(name, value);
      }
      std::sort(key.begin(), key.end());
      key.emplace_back("", m.name);  // a summary's _sum and _count share its labels
      CHECK_MESSAGE(seen.insert(key).second, "duplicate series in " << family.name);
      if (family.type == "summary") continue;  // quantile only on the quantile samples
      if (i == 0) {
        first_label_names = label_names;
      } else {
        CHECK(label_names == first_label_names);  // one label set per family
      }
    }
  }

  // In the text: each family's HELP and TYPE exactly once, though collectors added to
  // redis_instance_role (for example) from several nodes in turn.
  for (const auto& name : names) {
    CAPTURE(name);
    size_t type_lines = 0, help_lines = 0, pos = 0;
    while ((pos = out.text.find("# TYPE " + name + " ", pos)) != std::string::npos) ++type_lines, ++pos;
    pos = 0;
    while ((pos = out.text.find("# HELP " + name + " ", pos)) != std::string::npos) ++help_lines, ++pos;
    CHECK(type_lines == 1);
    CHECK(help_lines == 1);
  }
  CHECK(out.Find("redis_instance_role", {}).size() == 4);
  CHECK(out.text.find("NaN") == std::string::npos);
  CHECK(out.text.find("Inf") == std::string::npos);
}

TEST_CASE("collectors: two Sentinels stopped") {
  auto t = BuildTopology();
  auto& view = t.snapshot.sentinels[0].masters[0];
  view.sentinels = rse::test::LoadFieldArraysFixture("sentinel-sentinels-2-stopped.resp");
  auto ck = rse::collectors::ParseCkquorum(rse::test::LoadFixture("sentinel-ckquorum-noquorum.resp"));
  REQUIRE(ck.ok());
  view.ckquorum = *ck.value;
  const auto out = Run(t.snapshot);
  const std::map<std::string, std::string> sm{{"sentinel", t.sentinel_up}, {"master_name", kMaster}};

  CHECK(out.problems.empty());
  CHECK(out.Value("redis_sentinel_master_ckquorum_ok", sm) == 0);
  CHECK(out.Value("redis_sentinel_master_ckquorum_usable_sentinels", sm) == 1);
  CHECK(out.Value("redis_sentinel_master_ok_sentinels", sm) == 1);  // only itself
  CHECK(out.Value("redis_sentinel_master_sentinels", sm) == 3);     // still knows all three
  CHECK(out.Value("redis_sentinel_master_status", sm) == 1);        // the master itself is fine
  for (const auto& peer : {LocalAddr(t.p + 4), LocalAddr(t.p + 5)}) {
    CAPTURE(peer);
    auto l = sm;
    l["peer"] = peer;
    CHECK(out.Value("redis_sentinel_peer_ok", l) == 0);
    CHECK(out.Value("redis_sentinel_peer_sdown", l) == 1);
    CHECK(out.Value("redis_sentinel_peer_disconnected", l) == 1);
  }
}

TEST_CASE("collectors: flags other than the healthy ones turn status and ok series to 0") {
  auto t = BuildTopology();
  auto& view = t.snapshot.sentinels[0].masters[0];
  view.master["flags"] = "s_down,o_down,master";
  (*view.replicas)[0]["flags"] = "s_down,slave,disconnected";
  const auto out = Run(t.snapshot);
  const std::map<std::string, std::string> sm{{"sentinel", t.sentinel_up}, {"master_name", kMaster}};
  CHECK(out.Value("redis_sentinel_master_status", sm) == 0);
  CHECK(out.Value("redis_sentinel_master_sdown", sm) == 1);
  CHECK(out.Value("redis_sentinel_master_odown", sm) == 1);
  CHECK(out.Value("redis_sentinel_master_ok_slaves", sm) == 1);
  auto replica = rse::collectors::AddressOf((*view.replicas)[0]);
  REQUIRE(replica.has_value());
  auto l = sm;
  l["addr"] = replica->ToString();
  CHECK(out.Value("redis_sentinel_replica_ok", l) == 0);
  CHECK(out.Value("redis_sentinel_replica_sdown", l) == 1);
  CHECK(out.Value("redis_sentinel_replica_disconnected", l) == 1);
}

TEST_CASE("collectors: master_info follows the address the Sentinel gives clients, with the failover state") {
  auto t = BuildTopology();
  auto& view = t.snapshot.sentinels[0].masters[0];
  view.master["flags"] = "master,failover_in_progress";
  view.master["failover-state"] = "reconf_slaves";
  auto promoted = rse::redis::MakeAddress("127.0.0.1", "16999");
  REQUIRE(promoted);
  view.client_master = *promoted;
  const auto out = Run(t.snapshot);
  const std::map<std::string, std::string> sm{{"sentinel", t.sentinel_up}, {"master_name", kMaster}};
  auto info = sm;
  info["master_address"] = promoted->ToString();
  CHECK(out.Value("redis_sentinel_master_info", info) == 1);
  CHECK(out.Find("redis_sentinel_master_info", sm).size() == 1);
  CHECK(out.Value("redis_sentinel_master_failover_in_progress", sm) == 1);
  double sum = 0;
  for (const auto* s : out.Find("redis_sentinel_master_failover_state", sm)) {
    sum += s->value;
    CHECK(s->value == (s->labels.at("state") == "reconf_slaves" ? 1 : 0));
  }
  CHECK(sum == 1);
  CHECK(out.Value("redis_sentinel_topology_master_info",
                  {{"master_name", kMaster}, {"master_address", promoted->ToString()}}) == 1);
}

// Long: a SUBCASE per field that can be garbage, each on a fresh snapshot.
TEST_CASE("collectors: a non-numeric field is a problem and no sample, a missing one is silent") {
  const std::map<std::string, std::string> labels_of_up{{"master_name", kMaster}};

  SUBCASE("quorum \"abc\" on SENTINEL MASTER") {
    auto t = BuildTopology();
    t.snapshot.sentinels[0].masters[0].master["quorum"] = "abc";
    const auto out = Run(t.snapshot);
    REQUIRE(out.problems.size() == 1);
    CHECK(out.problems[0].find("quorum") != std::string::npos);
    CHECK(out.problems[0].find("abc") != std::string::npos);
    CHECK(out.problems[0].find(t.sentinel_up) != std::string::npos);                       // says where
    CHECK_FALSE(out.Has("redis_sentinel_master_quorum", {}));                              // missing, not 0
    CHECK(out.Value("redis_sentinel_master_slaves", {{"sentinel", t.sentinel_up}}) == 2);  // the rest goes on
  }
  SUBCASE("quorum missing from SENTINEL MASTER") {
    auto t = BuildTopology();
    t.snapshot.sentinels[0].masters[0].master.erase("quorum");
    const auto out = Run(t.snapshot);
    CHECK(out.problems.empty());
    CHECK_FALSE(out.Has("redis_sentinel_master_quorum", {}));
  }
  SUBCASE("connected_clients \"lots\" in a node's INFO") {
    auto t = BuildTopology();
    t.snapshot.nodes[0].info["connected_clients"] = "lots";
    const auto out = Run(t.snapshot);
    REQUIRE(out.problems.size() == 1);
    CHECK(out.problems[0].find("connected_clients") != std::string::npos);
    CHECK(out.problems[0].find(t.master) != std::string::npos);
    CHECK_FALSE(out.Has("redis_connected_clients", {{"addr", t.master}}));
    CHECK(out.Has("redis_connected_clients", {{"addr", t.replica}}));
  }
  SUBCASE("num-other-sentinels \"?\": no Sentinel count rather than a count of 1") {
    auto t = BuildTopology();
    t.snapshot.sentinels[0].masters[0].master["num-other-sentinels"] = "?";
    const auto out = Run(t.snapshot);
    REQUIRE(out.problems.size() == 1);
    CHECK(out.problems[0].find("num-other-sentinels") != std::string::npos);
    CHECK_FALSE(out.Has("redis_sentinel_master_sentinels", {}));
  }
  SUBCASE("down-after-milliseconds \"\" on SENTINEL MASTER") {
    auto t = BuildTopology();
    t.snapshot.sentinels[0].masters[0].master["down-after-milliseconds"] = "";
    const auto out = Run(t.snapshot);
    REQUIRE(out.problems.size() == 1);
    CHECK_FALSE(out.Has("redis_sentinel_master_down_after_seconds", {}));
  }
  SUBCASE("an unknown CKQUORUM count stays missing") {
    auto t = BuildTopology();
    t.snapshot.sentinels[0].masters[0].ckquorum->usable_sentinels.reset();
    const auto out = Run(t.snapshot);
    CHECK(out.Value("redis_sentinel_master_ckquorum_ok", {{"sentinel", t.sentinel_up}}) == 1);
    CHECK_FALSE(out.Has("redis_sentinel_master_ckquorum_usable_sentinels", {}));
  }
  SUBCASE("a replica or peer without a valid address is a problem and no series, the others go on") {
    auto t = BuildTopology();
    auto& view = t.snapshot.sentinels[0].masters[0];
    REQUIRE(view.replicas->size() == 2);
    REQUIRE(view.sentinels->size() == 2);
    const std::string kept_replica = AddressOf((*view.replicas)[1])->ToString();
    const std::string kept_peer = AddressOf((*view.sentinels)[1])->ToString();
    (*view.replicas)[0].erase("ip");
    (*view.sentinels)[0]["port"] = "x";
    const auto out = Run(t.snapshot);
    const std::string where = "sentinel " + t.sentinel_up + " master " + kMaster + ": ";
    CHECK(std::count(out.problems.begin(), out.problems.end(), where + "replica without a valid ip/port") == 1);
    CHECK(std::count(out.problems.begin(), out.problems.end(), where + "peer without a valid ip/port") == 1);
    CHECK(out.Find("redis_sentinel_replica_ok", {}).size() == 1);
    CHECK(out.Value("redis_sentinel_replica_ok", {{"addr", kept_replica}}) == 1);
    CHECK(out.Find("redis_sentinel_peer_ok", {}).size() == 1);
    CHECK(out.Value("redis_sentinel_peer_ok", {{"peer", kept_peer}, {"sentinel", t.sentinel_up}}) == 1);
  }
  SUBCASE("unanswered REPLICAS, SENTINELS and CKQUORUM leave their series out") {
    auto t = BuildTopology();
    auto& view = t.snapshot.sentinels[0].masters[0];
    view.replicas.reset();
    view.sentinels.reset();
    view.ckquorum.reset();
    const auto out = Run(t.snapshot);
    CHECK(out.problems.empty());
    for (const char* name :
         {"redis_sentinel_master_ok_slaves", "redis_sentinel_master_ok_sentinels", "redis_sentinel_master_ckquorum_ok",
          "redis_sentinel_replica_ok", "redis_sentinel_peer_ok"}) {
      CAPTURE(name);
      CHECK_FALSE(out.Has(name, {}));
    }
    CHECK(out.Value("redis_sentinel_master_slaves", {{"sentinel", t.sentinel_up}}) == 2);  // from MASTER
  }
}

TEST_CASE("collectors: an empty snapshot yields no series") {
  const auto out = Run(Snapshot{});
  CHECK(out.families.empty());
  CHECK(out.problems.empty());
}

// ------------------------------------------------- redis_exporter parity ----

namespace {

// A master and a replica as a full scrape fetches them: INFO with commandstats and
// latencystats, CONFIG GET and the slowlog, recorded from Redis 7.0.15.
Snapshot FullSnapshot() {
  Snapshot snap;
  DataNode master;
  master.master_name = kMaster;
  master.address = {"127.0.0.1", 23791};
  master.info = rse::test::LoadInfoFixture("info-full-master.resp");
  master.config = rse::test::LoadFieldArrayFixture("config-get.resp");
  auto slowlog = rse::collectors::ParseSlowlog(rse::test::LoadFixture("slowlog-len.resp"),
                                               rse::test::LoadFixture("slowlog-get.resp"));
  REQUIRE_MESSAGE(slowlog.ok(), slowlog.error);
  master.slowlog = *slowlog.value;
  DataNode replica = master;
  replica.address.port = 23792;
  replica.info = rse::test::LoadInfoFixture("info-full-replica.resp");
  snap.nodes = {master, replica};
  return snap;
}

}  // namespace

TEST_CASE("collectors: redis_exporter's per-node families, names, types and labels") {
  const auto out = Run(FullSnapshot());
  CHECK(out.problems.empty());
  std::map<std::string, std::string> types;
  for (const auto& f : out.families) types[f.name] = f.type;
  // A sample of each kind: INFO fields, ok-statuses, computed ones, per command, CONFIG, SLOWLOG.
  const std::map<std::string, std::string> want{
      {"redis_commands_total", "counter"},
      {"redis_commands_duration_seconds_total", "counter"},
      {"redis_commands_rejected_calls_total", "counter"},
      {"redis_commands_failed_calls_total", "counter"},
      {"redis_latency_percentiles_usec", "summary"},
      {"redis_errors_total", "counter"},
      {"redis_cpu_sys_seconds_total", "counter"},
      {"redis_mem_fragmentation_ratio", "gauge"},
      {"redis_replica_resyncs_full", "gauge"},
      {"redis_aof_last_write_status", "gauge"},
      {"redis_loading_dump_file", "gauge"},
      {"redis_config_maxclients", "gauge"},
      {"redis_slowlog_length", "gauge"},
      {"redis_slowlog_last_id", "gauge"},
      {"redis_last_slow_execution_duration_seconds", "gauge"},
      {"redis_db_avg_ttl_seconds", "gauge"},
      {"redis_start_time_seconds", "gauge"},
      {"redis_slave_info", "gauge"},
      {"redis_latest_fork_seconds", "gauge"},
  };
  for (const auto& [name, type] : want) {
    const auto& family = name;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
    CAPTURE(family);
    CHECK(types[name] == type);
  }
  const std::string m = "127.0.0.1:23791", r = "127.0.0.1:23792";
  CHECK(out.Value("redis_commands_total", {{"addr", m}, {"cmd", "set"}}) == 2);
  CHECK(out.Value("redis_commands_duration_seconds_total", {{"addr", m}, {"cmd", "set"}}) == doctest::Approx(24e-6));
  CHECK(out.Value("redis_commands_total", {{"addr", m}, {"cmd", "config|get"}}) == 2);
  CHECK(out.Value("redis_latency_percentiles_usec", {{"addr", m}, {"cmd", "set"}, {"quantile", "99.9"}}) ==
        doctest::Approx(12.031));
  CHECK(out.Value("redis_latency_percentiles_usec_sum", {{"addr", m}, {"cmd", "set"}}) == 24);
  CHECK(out.Value("redis_latency_percentiles_usec_count", {{"addr", m}, {"cmd", "set"}}) == 2);
  CHECK(out.Value("redis_errors_total", {{"addr", m}, {"err", "ERR"}}) == 1);
  CHECK(out.Value("redis_config_maxclients", {{"addr", m}}) == 10000);
  CHECK(out.Value("redis_config_io_threads", {{"addr", m}}) == 1);
  CHECK(out.Value("redis_slowlog_length", {{"addr", m}}) == 2);
  CHECK(out.Value("redis_slowlog_last_id", {{"addr", m}}) == 1);
  CHECK(out.Value("redis_last_slow_execution_duration_seconds", {{"addr", m}}) == doctest::Approx(60e-6));
  CHECK(out.Value("redis_start_time_seconds", {{"addr", m}}) == 1796120474.0 - 310);
  CHECK(out.Value("redis_db_avg_ttl_seconds", {{"addr", m}, {"db", "db0"}}) == doctest::Approx(695.899));
  // Empty databases below `databases` are 0, as redis_exporter reports them.
  CHECK(out.Value("redis_db_keys", {{"addr", m}, {"db", "db15"}}) == 0);
  CHECK(out.Find("redis_db_keys", {{"addr", m}}).size() == 16);
  CHECK(out.Value("redis_aof_last_write_status", {{"addr", m}}) == 1);
  CHECK(out.Value("redis_instance_info", {{"addr", m},
                                          {"role", "master"},
                                          {"redis_version", "7.0.15"},
                                          {"redis_mode", "standalone"},
                                          {"maxmemory_policy", "noeviction"},
                                          {"tcp_port", "23791"}}) == 1);
  CHECK(out.Value("redis_instance_info", {{"addr", r}, {"role", "slave"}}) == 1);
  CHECK(out.Value("redis_slave_info", {{"addr", r}, {"master_host", "127.0.0.1"}, {"master_port", "23791"}}) == 1);
  CHECK_FALSE(out.Has("redis_slave_info", {{"addr", m}}));
  // Every series of a data node carries master_name and addr.
  for (const auto& s : out.samples) {
    CAPTURE(s.name);
    CHECK(s.labels.count("master_name") == 1);
    CHECK(s.labels.count("addr") == 1);
  }
}

TEST_CASE("collectors: per-command and per-error breakdowns are collectors of their own") {
  const auto snap = FullSnapshot();
  for (const char* name : {"commandstats", "latencystats", "errorstats", "config", "slowlog"}) {
    CAPTURE(name);
    const auto* spec = FindCollector(name);
    REQUIRE(spec != nullptr);
    MetricSink sink;
    std::vector<std::string> problems;
    spec->factory()->Collect(snap, sink, problems);
    const auto families = ParseExposition(sink.Take());
    CHECK_FALSE(families.empty());
    for (const auto& f : families) {
      // No other collector adds these families: switching this one off removes them.
      CHECK((f.name.find("redis_commands_") == 0 || f.name.find("redis_latency_") == 0 ||
             f.name.find("redis_errors_") == 0 || f.name.find("redis_config_") == 0 ||
             f.name.find("redis_slowlog_") == 0 || f.name == "redis_last_slow_execution_duration_seconds"));
    }
  }
  const auto* info = FindCollector("info");
  MetricSink sink;
  std::vector<std::string> problems;
  info->factory()->Collect(snap, sink, problems);
  const auto text = sink.Take();
  CHECK(text.find("redis_commands_total") == std::string::npos);
  CHECK(text.find("redis_config_") == std::string::npos);
}

TEST_CASE("collectors: the INFO a scrape sends names the sections the enabled collectors read") {
  using Cmds = std::vector<std::vector<std::string>>;
  Needs none;
  CHECK(rse::collectors::DataNodeCommands(none) == Cmds{{"PING"}});
  Needs replication;
  replication.data_info = Needs::DataInfo::kReplication;
  CHECK(rse::collectors::DataNodeCommands(replication) == Cmds{{"INFO", "replication"}});
  Needs all;
  for (const auto& spec : AllCollectors()) all.Merge(spec.needs);
  CHECK(rse::collectors::DataNodeCommands(all) ==
        Cmds{{"INFO", "default", "commandstats", "latencystats"},
             {"CONFIG", "GET", "maxmemory", "maxclients", "io-threads", "databases"},
             {"SLOWLOG", "LEN"},
             {"SLOWLOG", "GET", "1"}});
  Needs info_only = FindCollector("info")->needs;
  CHECK(rse::collectors::DataNodeCommands(info_only) == Cmds{{"INFO"}});
}

TEST_CASE("collectors: a node whose ACL refuses CONFIG and SLOWLOG is up, without those series, and noted") {
  Needs all;
  for (const auto& spec : AllCollectors()) all.Merge(spec.needs);
  std::vector<rse::redis::Reply> replies(4);
  replies[0] = rse::test::LoadFixture("info-full-master.resp");
  replies[1] = rse::test::LoadFixture("config-get-noperm.resp");
  replies[2] = rse::test::LoadFixture("slowlog-len-noperm.resp");
  replies[3] = rse::test::LoadFixture("slowlog-len-noperm.resp");
  Snapshot snap = FullSnapshot();
  snap.nodes.resize(1);
  DataNode& node = snap.nodes[0];
  node.config.clear();
  node.slowlog.reset();
  std::vector<std::pair<std::string, std::string>> notes;
  rse::collectors::ReadOptionalReplies(all, replies, node, notes);
  CHECK(node.config.empty());
  CHECK_FALSE(node.slowlog.has_value());
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].first.find("CONFIG GET") != std::string::npos);
  CHECK(notes[0].second.find("NOPERM") != std::string::npos);
  CHECK(notes[1].first.find("SLOWLOG") != std::string::npos);
  const auto out = Run(snap);
  CHECK(out.problems.empty());
  CHECK_FALSE(out.Has("redis_config_maxclients", {}));
  CHECK_FALSE(out.Has("redis_slowlog_length", {}));
  CHECK(out.Find("redis_db_keys", {}).size() == 16);  // redis_exporter's default when CONFIG is refused
  // Answered, the same replies fill the node.
  replies[1] = rse::test::LoadFixture("config-get.resp");
  replies[2] = rse::test::LoadFixture("slowlog-len.resp");
  replies[3] = rse::test::LoadFixture("slowlog-get.resp");
  notes.clear();
  rse::collectors::ReadOptionalReplies(all, replies, node, notes);
  CHECK(notes.empty());
  CHECK(rse::collectors::Field(node.config, "maxclients") == std::optional<std::string_view>("10000"));
  REQUIRE(node.slowlog.has_value());
  CHECK(node.slowlog->length == 2);
}

TEST_CASE("collectors: Valkey 8 INFO (server_name, valkey_version, server_mode)") {
  Snapshot snap;
  DataNode node;
  node.master_name = kMaster;
  node.address = {"127.0.0.1", 6379};
  node.info = rse::test::LoadInfoFixture("valkey-info-doc.resp");
  snap.nodes = {node};
  const auto out = Run(snap);
  CHECK(out.problems.empty());
  // redis_version stays what Valkey reports (the Redis it is compatible with); valkey_version is the real one.
  CHECK(out.Value("redis_instance_info", {{"redis_version", "7.2.4"},
                                          {"valkey_version", "255.255.255"},
                                          {"redis_mode", "standalone"},
                                          {"role", "master"}}) == 1);
  CHECK(out.Value("redis_instance_role", {{"role", "master"}}) == 1);
  CHECK(out.Value("redis_errors_total", {{"err", "ERR"}}) == 55);
  CHECK(out.Value("redis_memory_used_bytes", {}) == 4757704);
  CHECK(rse::collectors::ServerMode(node.info) == std::optional<std::string_view>("standalone"));
  CHECK(rse::collectors::ServerVersion(node.info) == std::optional<std::string_view>("255.255.255"));
  CHECK(rse::collectors::IsPrimaryRole("primary"));
  CHECK(rse::collectors::IsPrimaryRole("master"));
  CHECK_FALSE(rse::collectors::IsPrimaryRole("slave"));
  CHECK_FALSE(rse::collectors::IsPrimaryRole("replica"));
  CHECK(rse::collectors::IsReplicaRole("replica"));
  CHECK(rse::collectors::IsReplicaRole("slave"));
  CHECK_FALSE(rse::collectors::IsReplicaRole("slave,s_down"));  // flags: only exactly a replica
}

// ------------------------------------------------ Sentinel versus node ------

TEST_CASE("collectors: consistency: healthy, then role mismatch, ghost replica, drift and count disagreement") {
  auto t = BuildTopology();
  // Two answering Sentinels with the same view of a healthy group.
  SentinelNode second = t.snapshot.sentinels[0];
  second.address.port = static_cast<std::uint16_t>(t.p + 4);
  t.snapshot.sentinels[1] = second;
  const std::string s1 = t.sentinel_up, s2 = second.label();

  SUBCASE("healthy: every check at its healthy value, except the replica that is down") {
    const auto out = Run(t.snapshot);
    for (const auto& s : {s1, s2}) {
      CAPTURE(s);
      CHECK(out.Value("redis_sentinel_role_mismatch", {{"sentinel", s}, {"addr", t.master}}) == 0);
      CHECK(out.Value("redis_sentinel_role_mismatch", {{"sentinel", s}, {"addr", t.replica}}) == 0);
      CHECK(out.Value("redis_sentinel_ghost_replica", {{"sentinel", s}, {"addr", t.replica}}) == 0);
      // The recorded topology has the replica on P+2 down here: unreachable, so a ghost.
      CHECK(out.Value("redis_sentinel_ghost_replica", {{"sentinel", s}, {"addr", t.node_down}}) == 1);
    }
    for (const char* setting : {"quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"}) {
      CAPTURE(setting);
      CHECK(out.Value("redis_sentinel_config_values", {{"master_name", kMaster}, {"setting", setting}}) == 1);
    }
    CHECK(out.Value("redis_sentinel_count_values", {{"master_name", kMaster}, {"count", "replicas"}}) == 1);
    CHECK(out.Value("redis_sentinel_count_values", {{"master_name", kMaster}, {"count", "sentinels"}}) == 1);
  }

  SUBCASE("a replica that calls itself master, and one that follows another master") {
    t.snapshot.nodes[1].info.insert_or_assign("role", "master");
    t.snapshot.nodes[2].error = {};  // the P+2 replica answers, following some other master
    t.snapshot.nodes[2].info.insert_or_assign("master_port", "1");
    const auto out = Run(t.snapshot);
    CHECK(out.Value("redis_sentinel_role_mismatch", {{"sentinel", s1}, {"addr", t.replica}}) == 1);
    CHECK(out.Value("redis_sentinel_ghost_replica", {{"sentinel", s1}, {"addr", t.replica}}) == 0);
    CHECK(out.Value("redis_sentinel_ghost_replica", {{"sentinel", s1}, {"addr", t.node_down}}) == 1);
    CHECK(out.Value("redis_sentinel_role_mismatch", {{"sentinel", s1}, {"addr", t.node_down}}) == 0);
  }

  SUBCASE("the master calls itself a replica") {
    t.snapshot.nodes[0].info.insert_or_assign("role", "slave");
    const auto out = Run(t.snapshot);
    CHECK(out.Value("redis_sentinel_role_mismatch", {{"sentinel", s1}, {"addr", t.master}}) == 1);
  }

  SUBCASE("Sentinels with different failover settings and counts") {
    auto& view = t.snapshot.sentinels[1].masters[0];
    view.master.insert_or_assign("down-after-milliseconds", "30000");
    view.master.insert_or_assign("num-slaves", "5");
    view.master.insert_or_assign("num-other-sentinels", "7");
    const auto out = Run(t.snapshot);
    CHECK(out.Value("redis_sentinel_config_values",
                    {{"master_name", kMaster}, {"setting", "down-after-milliseconds"}}) == 2);
    CHECK(out.Value("redis_sentinel_config_values", {{"master_name", kMaster}, {"setting", "quorum"}}) == 1);
    CHECK(out.Value("redis_sentinel_count_values", {{"master_name", kMaster}, {"count", "replicas"}}) == 2);
    CHECK(out.Value("redis_sentinel_count_values", {{"master_name", kMaster}, {"count", "sentinels"}}) == 2);
  }
}

TEST_CASE("collectors: the topology collector reads the groups the fetch analysed, when the snapshot has them") {
  auto t = BuildTopology();
  const auto analysed = rse::collectors::AnalyzeGroups(t.snapshot);
  REQUIRE(analysed.size() == 1);
  const std::string name = analysed[0].name;
  const auto without = Run(t.snapshot);
  CHECK(without.Has("redis_sentinel_topology_master_info", {{"master_name", name}, {"master_address", t.master}}));

  // The same analysis passed along: the same metrics.
  t.snapshot.groups = std::make_shared<const std::vector<rse::collectors::GroupHealth>>(analysed);
  CHECK(Run(t.snapshot).text == without.text);

  // An analysis that differs from the replies is what it reports: it is not analysed again.
  auto changed = analysed;
  changed[0].agreed_master = "192.0.2.1:6379";
  t.snapshot.groups = std::make_shared<const std::vector<rse::collectors::GroupHealth>>(changed);
  const auto out = Run(t.snapshot);
  CHECK(out.Has("redis_sentinel_topology_master_info", {{"master_name", name}, {"master_address", "192.0.2.1:6379"}}));
  CHECK_FALSE(out.Has("redis_sentinel_topology_master_info", {{"master_name", name}, {"master_address", t.master}}));
}

// ------------------------------------------------- families per collector ----

namespace {

// Every kind of reply a scrape records: Sentinels with their views (masters, replicas, peers,
// CKQUORUM), data nodes with full INFO, CONFIG and SLOWLOG, and the event stream's counts.
Snapshot EverythingSnapshot() {
  Snapshot snap = BuildTopology().snapshot;
  for (auto& node : FullSnapshot().nodes) snap.nodes.push_back(std::move(node));
  for (auto& node : snap.nodes) node.master_name = kMaster;
  rse::collectors::EventState state;
  const auto t = std::chrono::steady_clock::now();
  const std::string sentinel = snap.sentinels.front().label();
  state.SetStreamUp(sentinel, true);
  state.Record(sentinel, rse::collectors::ParseEvent("+sdown", "master " + kMaster + " 127.0.0.1 6379"), 5.0, t);
  state.Record(sentinel, rse::collectors::ParseEvent("+switch-master", kMaster + " 127.0.0.1 6379 127.0.0.1 6380"), 7.0,
               t + std::chrono::seconds(2));
  snap.events = std::make_shared<rse::collectors::EventCounts>(state.Counts());
  return snap;
}

}  // namespace

// A scrape sends each collector's families on as soon as it has run (MetricSink::Flush): a
// family that two collectors wrote would be cut in two, which the text format forbids.
TEST_CASE("collectors: no two collectors write a family of the same name") {
  const Snapshot snap = EverythingSnapshot();
  std::map<std::string, std::string> writer;  // family -> collector
  auto record = [&](const std::string& who, MetricSink& sink) {
    const auto families = ParseExposition(sink.Take());
    CHECK_MESSAGE(!families.empty(), who << " wrote nothing: the snapshot does not exercise it");
    for (const auto& f : families) {
      // No structured binding: clang 14 cannot capture one in CHECK_MESSAGE's lambda.
      const auto inserted = writer.emplace(f.name, who);
      const std::string& earlier = inserted.first->second;
      CHECK_MESSAGE(inserted.second, f.name << " is written by " << earlier << " and by " << who);
    }
  };
  MetricSink reachability;
  CollectReachability(snap, reachability);
  record("reachability", reachability);
  for (const auto& spec : AllCollectors()) {
    MetricSink sink;
    std::vector<std::string> problems;
    spec.factory()->Collect(snap, sink, problems);
    CHECK_MESSAGE(problems.empty(), spec.name << ": " << (problems.empty() ? "" : problems.front()));
    record(std::string(spec.name), sink);
  }
  CHECK(writer.size() > 150);  // the snapshot reaches most families
}

namespace {

// Adds to a family whose name another collector's Desc has, then to one of its own.
class TrespassingCollector : public rse::collectors::Collector {
 public:
  void Collect(const Snapshot&, MetricSink& sink, std::vector<std::string>&) override {
    static const Desc kUp{"redis_up", "Copied."};
    static const Desc kOwn{"test_own", "Own."};
    sink.Add(kUp, {{"addr", "127.0.0.1:1"}}, 1);
    sink.Add(kOwn, {}, 2);
    sink.Add(kUp, {{"addr", "127.0.0.1:2"}}, 1);
  }
};

}  // namespace

TEST_CASE("collectors: samples for a family an earlier collector flushed are dropped, and a problem") {
  const auto t = BuildTopology();
  std::string streamed;
  MetricSink sink(nullptr, MetricSink::Mode::kRender, [&](std::string_view text) { streamed += text; });
  CollectReachability(t.snapshot, sink);
  std::vector<std::string> problems;
  rse::collectors::FlushCollector(sink, problems);
  CHECK(problems.empty());
  TrespassingCollector trespasser;
  trespasser.Collect(t.snapshot, sink, problems);
  rse::collectors::FlushCollector(sink, problems);
  REQUIRE(problems.size() == 1);  // one per family, however many samples
  CHECK(problems[0].find("redis_up") != std::string::npos);
  // The next collector starts without it.
  problems.clear();
  rse::collectors::FlushCollector(sink, problems);
  CHECK(problems.empty());
  CHECK(sink.Take().empty());                       // everything went to the output
  const auto families = ParseExposition(streamed);  // fails on a family cut in two
  std::map<std::string, const Family*> by_name;
  for (const auto& f : families) CHECK_MESSAGE(by_name.emplace(f.name, &f).second, f.name << " twice");
  REQUIRE(by_name.count("redis_up") == 1);
  CHECK(by_name["redis_up"]->metric.size() == 3);  // the reachability collector's own
  CHECK(streamed.find("127.0.0.1:1\"") == std::string::npos);
  CHECK(by_name.count("test_own") == 1);
}
