// The derived topology view (model/health.h) and the `topology` collector, on snapshots
// built from recorded replies and then bent into the failures the drills produce for real.
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include <doctest/doctest.h>

#include "collectors/registry.h"
#include "model/health.h"
#include "tests/unit/fixtures.h"

using namespace rse::collectors;

namespace {

const std::string kGroup = "aragora-master";

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

struct World {
  int p = 0;  // master port of the recording
  Snapshot snap;
};

// Three Sentinels naming the recorded master, the master and its two replicas, all up.
World Healthy() {
  World w;
  w.p = rse::test::FixtureMasterPort();
  for (int i = 0; i < 3; ++i) {
    SentinelNode s;
    s.address = {"127.0.0.1", static_cast<std::uint16_t>(w.p + 3 + i)};
    s.info = rse::test::LoadInfoFixture("info-sentinel.resp");
    MasterView v;
    v.name = kGroup;
    v.master = rse::test::LoadFieldArrayFixture("sentinel-master.resp");
    v.replicas = rse::test::LoadFieldArraysFixture("sentinel-replicas.resp");
    v.sentinels = rse::test::LoadFieldArraysFixture("sentinel-sentinels.resp");
    v.ckquorum = Ckquorum{true, 3};
    s.masters.push_back(v);
    w.snap.sentinels.push_back(s);
  }
  for (int i = 0; i < 3; ++i) {
    DataNode n;
    n.master_name = kGroup;
    n.address = {"127.0.0.1", static_cast<std::uint16_t>(w.p + i)};
    n.info = rse::test::LoadInfoFixture(i == 0 ? "info-master.resp" : "info-replica.resp");
    w.snap.nodes.push_back(n);
  }
  return w;
}

void NameMaster(SentinelNode& s, int port, int epoch) {
  s.masters[0].master["port"] = std::to_string(port);
  s.masters[0].master["config-epoch"] = std::to_string(epoch);
}

std::string Collect(Collector& c, const Snapshot& snap) {
  MetricSink sink;
  std::vector<std::string> problems;
  c.Collect(snap, sink, problems);
  CHECK(problems.empty());
  return sink.Take();
}

double Value(const std::string& text, const std::string& series) {
  auto pos = text.find(series + " ");
  if (pos == std::string::npos) return std::nan("");
  return std::stod(text.substr(pos + series.size() + 1));
}

}  // namespace

TEST_CASE("health: a healthy group") {
  auto w = Healthy();
  auto groups = AnalyzeGroups(w.snap);
  REQUIRE(groups.size() == 1);
  const auto& g = groups[0];
  CHECK(g.name == kGroup);
  CHECK(g.agreed_master == Addr(w.p));
  CHECK(g.agreed_votes == 3);
  CHECK(g.master_addresses.size() == 1);
  CHECK(g.sentinels_up == 3);
  CHECK(g.quorum == 2);
  CHECK(g.sentinels_known == 3);
  CHECK(g.SentinelsNeeded() == 2);
  CHECK(g.EnoughSentinels());
  CHECK(g.replicas_known == 2);
  CHECK(g.masters == 1);
  CHECK(g.replicas_linked == 2);
  int with_lag = 0;
  for (const auto& n : g.nodes) with_lag += n.lag_bytes.has_value();
  CHECK(with_lag == 2);  // both replicas, from the master's INFO
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 0);
  CHECK(v.critical.empty());
  CHECK(v.degraded.empty());
}

TEST_CASE("health: a replica that thinks it is master is a split brain (critical)") {
  auto w = Healthy();
  w.snap.nodes[2].info = rse::test::LoadInfoFixture("info-master.resp");
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].masters == 2);
  CHECK(groups[0].replicas_linked == 1);
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 2);
  CHECK(v.critical.at(0).find("split brain") != std::string::npos);
}

TEST_CASE("health: Sentinels that disagree, the majority names the agreed master") {
  auto w = Healthy();
  NameMaster(w.snap.sentinels[2], w.p + 1, 1);
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].master_addresses.size() == 2);
  CHECK(groups[0].agreed_master == Addr(w.p));
  CHECK(groups[0].agreed_votes == 2);
  CHECK(Judge(w.snap, groups, 1 << 20).status == 2);
}

// What a failover's replica-reconfiguration phase looks like: the leader's SENTINEL MASTER
// still names the old master, flagged failover_in_progress, while GET-MASTER-ADDR-BY-NAME on
// every Sentinel (the leader included) already gives clients the promoted replica.
TEST_CASE("health: a failover in its reconfiguration phase is not a disagreement") {
  auto w = Healthy();
  for (auto& s : w.snap.sentinels)
    s.masters[0].client_master = rse::redis::Address{"127.0.0.1", static_cast<std::uint16_t>(w.p + 1)};
  for (int i = 1; i < 3; ++i) NameMaster(w.snap.sentinels[i], w.p + 1, 2);
  auto& leader = w.snap.sentinels[0].masters[0].master;
  leader["flags"] = "master,failover_in_progress";
  leader["failover-state"] = "reconf_slaves";
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].master_addresses == std::vector<std::string>{Addr(w.p + 1)});
  CHECK(groups[0].agreed_master == Addr(w.p + 1));
  CHECK(groups[0].agreed_votes == 3);
  CHECK(groups[0].sentinels[0].failover_state == "reconf_slaves");
  CHECK(groups[0].sentinels[1].failover_state == "none");
  auto v = Judge(w.snap, groups, 1 << 20);
  for (const auto& c : v.critical) CHECK(c.find("disagree") == std::string::npos);
  bool said = false;
  for (const auto& d : v.degraded) said = said || d.find("failover in progress (reconf_slaves)") != std::string::npos;
  CHECK(said);

  SUBCASE("a Sentinel that really names another master still disagrees") {
    w.snap.sentinels[2].masters[0].client_master =
        rse::redis::Address{"127.0.0.1", static_cast<std::uint16_t>(w.p + 2)};
    groups = AnalyzeGroups(w.snap);
    CHECK(groups[0].master_addresses.size() == 2);
    CHECK(Judge(w.snap, groups, 1 << 20).status == 2);
  }
  SUBCASE("peers the leader's hello has not reached yet are behind, not disagreeing") {
    for (int i = 1; i < 3; ++i) {
      NameMaster(w.snap.sentinels[i], w.p, 0);
      w.snap.sentinels[i].masters[0].client_master = rse::redis::Address{"127.0.0.1", static_cast<std::uint16_t>(w.p)};
    }
    groups = AnalyzeGroups(w.snap);
    CHECK(groups[0].master_addresses == std::vector<std::string>{Addr(w.p + 1)});
    CHECK(groups[0].agreed_master == Addr(w.p + 1));
    CHECK(groups[0].sentinels[1].master_address == Addr(w.p));  // each Sentinel's own answer
    // Without the leader in its reconfiguration phase, the same answers are a disagreement.
    leader["failover-state"] = "wait_promotion";
    CHECK(AnalyzeGroups(w.snap)[0].master_addresses.size() == 2);
  }
  SUBCASE("without GET-MASTER-ADDR-BY-NAME's answer, SENTINEL MASTER's address is used") {
    w.snap.sentinels[0].masters[0].client_master.reset();
    groups = AnalyzeGroups(w.snap);
    CHECK(groups[0].master_addresses.size() == 2);
  }
}

TEST_CASE("health: a tie goes to the newer configuration epoch") {
  auto w = Healthy();
  w.snap.sentinels.pop_back();
  NameMaster(w.snap.sentinels[1], w.p + 1, 5);
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].agreed_master == Addr(w.p + 1));
  CHECK(groups[0].config_epoch == 5);
}

TEST_CASE("health: fewer Sentinels than the quorum, or CKQUORUM failing, is critical") {
  auto w = Healthy();
  w.snap.sentinels[1].error = {rse::redis::Cause::kRefused, "connection refused"};
  w.snap.sentinels[1].masters.clear();
  w.snap.sentinels[2].error = {rse::redis::Cause::kRefused, "connection refused"};
  w.snap.sentinels[2].masters.clear();
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].sentinels_up == 1);
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 2);

  auto w2 = Healthy();
  w2.snap.sentinels[0].masters[0].ckquorum = Ckquorum{false, 1};
  CHECK(Judge(w2.snap, AnalyzeGroups(w2.snap), 1 << 20).status == 2);
}

TEST_CASE("health: a failover needs the quorum and a majority of the Sentinels their peers count") {
  auto w = Healthy();                                                                 // quorum 2
  for (auto& s : w.snap.sentinels) s.masters[0].master["num-other-sentinels"] = "4";  // five counted
  w.snap.sentinels[2].error = {rse::redis::Cause::kTimeout, "timed out"};
  w.snap.sentinels[2].masters.clear();
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].sentinels_up == 2);
  CHECK(groups[0].sentinels_down == std::vector<std::string>{w.snap.sentinels[2].label()});  // its peers list it
  CHECK(groups[0].sentinels_known == 5);
  CHECK(groups[0].SentinelsNeeded() == 3);  // the quorum of 2 is there, the leader's majority is not
  CHECK(!groups[0].EnoughSentinels());
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 2);
  bool said = false;
  for (const auto& c : v.critical) said |= c.find("2 Sentinels answered, fewer than the 3 a failover needs") != c.npos;
  CHECK(said);

  // A quorum above the majority is what is needed.
  for (auto& s : w.snap.sentinels) {
    if (!s.masters.empty()) s.masters[0].master["quorum"] = "4";
  }
  CHECK(AnalyzeGroups(w.snap)[0].SentinelsNeeded() == 4);

  // One Sentinel of three down leaves the two a failover needs: not critical for that.
  auto w3 = Healthy();
  w3.snap.sentinels[2].error = {rse::redis::Cause::kTimeout, "timed out"};
  w3.snap.sentinels[2].masters.clear();
  CHECK(Judge(w3.snap, AnalyzeGroups(w3.snap), 1 << 20).status == 1);
}

TEST_CASE("health: a replica down, a link down or a lag over the bound is degraded") {
  auto w = Healthy();
  w.snap.nodes[2].error = {rse::redis::Cause::kRefused, "connection refused"};
  w.snap.nodes[2].info.clear();
  auto v = Judge(w.snap, AnalyzeGroups(w.snap), 1 << 20);
  CHECK(v.status == 1);

  auto w2 = Healthy();
  w2.snap.nodes[1].info["master_link_status"] = "down";
  auto groups = AnalyzeGroups(w2.snap);
  CHECK(groups[0].replicas_linked == 1);
  CHECK(Judge(w2.snap, groups, 1 << 20).status == 1);

  auto w3 = Healthy();
  w3.snap.nodes[0].info["master_repl_offset"] = "999999999";
  CHECK(Judge(w3.snap, AnalyzeGroups(w3.snap), 1 << 20).status == 1);
}

TEST_CASE("health: replicas none of which Sentinel could promote are critical before the master fails") {
  auto w = Healthy();
  CHECK(AnalyzeGroups(w.snap)[0].replicas_promotable == 2);
  w.snap.nodes[1].info["slave_priority"] = "0";
  CHECK(AnalyzeGroups(w.snap)[0].replicas_promotable == 1);
  CHECK(Judge(w.snap, AnalyzeGroups(w.snap), 1 << 20).status == 0);  // one candidate is enough
  w.snap.nodes[2].info["replica_announced"] = "0";
  auto groups = AnalyzeGroups(w.snap);
  CHECK(groups[0].replicas_linked == 2);
  CHECK(groups[0].replicas_promotable == 0);
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 2);  // as quorum lost: a master failure would not be recovered from
  CHECK(v.critical == std::vector<std::string>{kGroup + ": no replica can be promoted (none linked with "
                                                        "replica-priority above 0): a master failure would not "
                                                        "be failed over"});
  auto c = NewTopologyCollector();
  CHECK(Value(Collect(*c, w.snap), "redis_sentinel_topology_replicas_promotable{master_name=\"" + kGroup + "\"}") == 0);
}

TEST_CASE("health: the agreed master down is critical even with the replicas fine") {
  auto w = Healthy();
  w.snap.nodes[0].error = {rse::redis::Cause::kRefused, "connection refused"};
  w.snap.nodes[0].info.clear();
  auto v = Judge(w.snap, AnalyzeGroups(w.snap), 1 << 20);
  CHECK(v.status == 2);
}

TEST_CASE("health: a Sentinel its peers list that answers without the group does not monitor it (degraded)") {
  auto w = Healthy();
  const auto healthy = AnalyzeGroups(w.snap);
  CHECK(healthy[0].sentinels_not_monitoring.empty());
  CHECK(Judge(w.snap, healthy, 1 << 20).status == 0);
  // The recorded peer list names the third Sentinel.
  std::optional<rse::redis::Address> peer_addr;
  std::string peer_id;
  for (const auto& peer : *w.snap.sentinels[0].masters[0].sentinels) {
    if (AddressOf(peer) != w.snap.sentinels[2].address) continue;
    peer_addr = AddressOf(peer);
    peer_id = std::string(Field(peer, "runid").value_or(""));
  }
  REQUIRE(peer_addr);
  REQUIRE(!peer_id.empty());

  // Restarted without its configuration at the address its peers list: a new run id, no group.
  auto lost = w;
  lost.snap.sentinels[2].run_id = "a new run id";
  lost.snap.sentinels[2].masters.clear();
  auto groups = AnalyzeGroups(lost.snap);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].sentinels_not_monitoring == std::vector<std::string>{peer_addr->ToString()});
  CHECK(groups[0].sentinels_up == 2);
  auto v = Judge(lost.snap, groups, 1 << 20);
  CHECK(v.status == 1);
  REQUIRE(v.degraded.size() == 1);
  CHECK(v.degraded[0].find(peer_addr->ToString() + " answers but does not monitor the group") != std::string::npos);
  auto c = NewTopologyCollector();
  const std::string text = Collect(*c, lost.snap);
  const std::string series = "redis_sentinel_topology_sentinel_monitoring{master_name=\"" + kGroup + "\",sentinel=\"";
  CHECK(Value(text, series + peer_addr->ToString() + "\"}") == 0);
  CHECK(Value(text, series + w.snap.sentinels[0].label() + "\"}") == 1);

  // Reached under another address than its peers list (a hostname, say): matched by run id.
  auto renamed = lost;
  renamed.snap.sentinels[2].address = {"sentinel-c.example", 26379};
  renamed.snap.sentinels[2].run_id = peer_id;
  CHECK(AnalyzeGroups(renamed.snap)[0].sentinels_not_monitoring ==
        std::vector<std::string>{"sentinel-c.example:26379"});

  // A Sentinel no peer lists that monitors other groups only is none of this group's business.
  auto other = lost;
  other.snap.sentinels[2].address = {"127.0.0.1", 1};
  groups = AnalyzeGroups(other.snap);
  CHECK(groups[0].sentinels_not_monitoring.empty());
  CHECK(Judge(other.snap, groups, 1 << 20).status == 0);
  // Nor is one that does not answer: that is a Sentinel down, listed as such; one no peer lists
  // is not.
  auto down = lost;
  down.snap.sentinels[2].error = {rse::redis::Cause::kRefused, "connection refused"};
  CHECK(AnalyzeGroups(down.snap)[0].sentinels_not_monitoring.empty());
  CHECK(AnalyzeGroups(down.snap)[0].sentinels_down == std::vector<std::string>{peer_addr->ToString()});
  CHECK(healthy[0].sentinels_down.empty());
  auto unlisted = down;
  unlisted.snap.sentinels[2].address = {"127.0.0.1", 1};
  CHECK(AnalyzeGroups(unlisted.snap)[0].sentinels_down.empty());
}

TEST_CASE("health: a named group no answering Sentinel monitors is critical, and only that is said of it") {
  auto w = Healthy();
  w.snap.master_names = {kGroup, "aragora-mastr"};
  auto groups = AnalyzeGroups(w.snap);
  REQUIRE(groups.size() == 2);
  const auto& typo = groups[1];
  CHECK(typo.name == "aragora-mastr");
  CHECK(typo.sentinels_up == 0);
  CHECK(typo.agreed_master.empty());
  CHECK(groups[0].sentinels_up == 3);
  auto v = Judge(w.snap, groups, 1 << 20);
  CHECK(v.status == 2);
  CHECK(v.critical == std::vector<std::string>{"aragora-mastr: no Sentinel that answered monitors this group"});
  CHECK(v.degraded.empty());
  auto c = NewTopologyCollector();
  const std::string text = Collect(*c, w.snap);
  CHECK(Value(text, "redis_sentinel_topology_sentinels_up{master_name=\"aragora-mastr\"}") == 0);
  CHECK(std::isnan(Value(text, "redis_sentinel_topology_masters{master_name=\"aragora-mastr\"}")));
  CHECK(Value(text, "redis_sentinel_topology_masters{master_name=\"" + kGroup + "\"}") == 1);

  // Every Sentinel down: that is the finding, not a group nobody monitors.
  for (auto& s : w.snap.sentinels) s.error = {rse::redis::Cause::kRefused, "connection refused"};
  v = Judge(w.snap, AnalyzeGroups(w.snap), 1 << 20);
  CHECK(v.critical == std::vector<std::string>{"no Sentinel answered"});
}

// What the target's Topology does after each fetch: the agreed masters into its event state,
// whose counts travel with the snapshot to the (stateless) collector.
std::string Scrape(Collector& c, EventState& state, Snapshot snap) {
  state.ObserveAgreedMasters(AgreedMasters(AnalyzeGroups(snap)), 1.8e9, std::chrono::steady_clock::now());
  snap.events = std::make_shared<EventCounts>(state.Counts());
  return Collect(c, snap);
}

TEST_CASE("topology collector: a failover is counted once, per target") {
  auto c = NewTopologyCollector();
  EventState a;
  auto w = Healthy();
  const std::string group = "{master_name=\"" + kGroup + "\"}";
  auto first = Scrape(*c, a, w.snap);
  CHECK(Value(first, "redis_sentinel_failovers_total" + group) == 0);
  CHECK(first.find("redis_sentinel_last_failover_timestamp_seconds") == std::string::npos);
  CHECK(Value(first, "redis_sentinel_topology_master_addresses" + group) == 1);
  CHECK(Value(first, "redis_sentinel_topology_masters" + group) == 1);

  for (auto& s : w.snap.sentinels) NameMaster(s, w.p + 1, 1);
  auto second = Scrape(*c, a, w.snap);
  CHECK(Value(second, "redis_sentinel_failovers_total" + group) == 1);
  CHECK(Value(second, "redis_sentinel_last_failover_timestamp_seconds" + group) == 1.8e9);
  CHECK(Value(second, "redis_sentinel_topology_config_epoch" + group) == 1);
  auto third = Scrape(*c, a, w.snap);
  CHECK(Value(third, "redis_sentinel_failovers_total" + group) == 1);

  // No Sentinel answering is not a failover, and the next answer naming the same master neither.
  // Meanwhile the group is still there, with no Sentinel up and its counter unchanged.
  auto silent = Scrape(*c, a, Snapshot{});
  CHECK(Value(silent, "redis_sentinel_topology_sentinels_up" + group) == 0);
  CHECK(Value(silent, "redis_sentinel_failovers_total" + group) == 1);
  CHECK(Value(Scrape(*c, a, w.snap), "redis_sentinel_failovers_total" + group) == 1);

  // The event stream's +switch-master of the same failover (epoch 1) is not counted again.
  a.Record("127.0.0.1:1", ParseEvent("+new-epoch", "1"), 1.8e9, std::chrono::steady_clock::now());
  a.Record("127.0.0.1:1",
           ParseEvent("+switch-master",
                      kGroup + " 127.0.0.1 " + std::to_string(w.p) + " 127.0.0.1 " + std::to_string(w.p + 1)),
           1.8e9, std::chrono::steady_clock::now());
  CHECK(Value(Scrape(*c, a, w.snap), "redis_sentinel_failovers_total" + group) == 1);

  // Another target (a /probe topology with the same group name) has its own state.
  EventState b;
  CHECK(Value(Scrape(*c, b, w.snap), "redis_sentinel_failovers_total" + group) == 0);
}

TEST_CASE("health: groups an earlier fetch saw that no Sentinel reports now are added unmonitored, in name order") {
  std::vector<GroupHealth> groups(2);
  groups[0].name = "b";
  groups[0].sentinels_up = 3;
  groups[1].name = "d";
  groups[1].sentinels_up = 2;
  EventCounts counts;
  for (const char* name : {"a", "b", "c", "e"}) counts.agreed[name] = "127.0.0.1:6379";
  AddGroupsSeenBefore(counts, groups);
  REQUIRE(groups.size() == 5);
  const char* order[] = {"a", "b", "c", "d", "e"};
  for (size_t i = 0; i < groups.size(); ++i) CHECK(groups[i].name == order[i]);
  CHECK(groups[1].sentinels_up == 3);  // a reported group keeps what it is
  CHECK(groups[3].sentinels_up == 2);
  for (size_t i : {0, 2, 4}) CHECK_FALSE(groups[i].Monitored());

  // The topology collector, from a snapshot that carries no analysis, says the same.
  Snapshot snap;
  snap.events = std::make_shared<const EventCounts>(counts);
  const std::string text = Collect(*FindCollector("topology")->factory(), snap);
  for (const char* name : {"a", "b", "c", "e"}) {
    CAPTURE(name);
    CHECK(text.find("redis_sentinel_topology_sentinels_up{master_name=\"" + std::string(name) + "\"} 0\n") !=
          std::string::npos);
  }
}
