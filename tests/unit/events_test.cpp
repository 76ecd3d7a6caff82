// model/events.h: Sentinel's event messages, parsed and folded into a target's event state,
// on events recorded from real Sentinels (tests/fixtures/sentinel-events-failover.txt).
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "collectors/registry.h"
#include "model/events.h"
#include "tests/unit/fixtures.h"

using namespace rse::collectors;
using Clock = std::chrono::steady_clock;

namespace {

struct Recorded {
  std::string sentinel, channel, payload;
};

std::vector<Recorded> LoadEvents() {
  std::istringstream in(rse::test::FixtureBytes("sentinel-events-failover.txt"));
  std::vector<Recorded> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto a = line.find('\t'), b = line.find('\t', a + 1);
    REQUIRE(b != std::string::npos);
    out.push_back({"127.0.0.1:" + line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return out;
}

double Count(const EventCounts& c, const std::string& sentinel, const std::string& master, const std::string& event) {
  auto it = c.events.find({sentinel, master, event});
  return it == c.events.end() ? 0 : it->second;
}

double Total(const EventCounts& c, const std::string& event) {
  double n = 0;
  for (const auto& [k, v] : c.events) n += std::get<2>(k) == event ? v : 0;
  return n;
}

const std::string kGroup = "aragora-master";

}  // namespace

TEST_CASE("events: ParseEvent reads each payload format Sentinel publishes") {
  auto slave = ParseEvent("+sdown", "slave 127.0.0.1:23412 127.0.0.1 23412 @ aragora-master 127.0.0.1 23410");
  CHECK(slave.instance_type == "slave");
  CHECK(slave.instance == "127.0.0.1:23412");
  CHECK(slave.address == rse::redis::Address{"127.0.0.1", 23412});
  CHECK(slave.master_name == kGroup);
  CHECK(slave.master_address == rse::redis::Address{"127.0.0.1", 23410});

  auto master = ParseEvent("+odown", "master aragora-master 127.0.0.1 23410 #quorum 3/2");
  CHECK(master.instance_type == "master");
  CHECK(master.master_name == kGroup);
  CHECK(master.master_address == rse::redis::Address{"127.0.0.1", 23410});

  auto sw = ParseEvent("+switch-master", "aragora-master 127.0.0.1 23410 127.0.0.1 23411");
  CHECK(sw.master_name == kGroup);
  CHECK(sw.master_address == rse::redis::Address{"127.0.0.1", 23410});
  CHECK(sw.new_master == rse::redis::Address{"127.0.0.1", 23411});

  CHECK(ParseEvent("+new-epoch", "7").epoch == 7u);
  CHECK(ParseEvent("+vote-for-leader", "8d17d2bb122d7d0b4e99959943e5bace8dd9afb6 12").epoch == 12u);
  auto tilt = ParseEvent("+tilt", "#tilt mode entered");
  CHECK(tilt.master_name.empty());
  CHECK(!tilt.epoch);

  SUBCASE("garbage leaves fields empty; long input is cut") {
    auto junk = ParseEvent(std::string(500, '+'), std::string(100000, 'x'));
    CHECK(junk.type.size() == kMaxEventName);
    CHECK(junk.payload.size() == kMaxEventPayload);
    CHECK(junk.master_name.empty());
    CHECK(ParseEvent("+switch-master", "only two").master_name.empty());
    CHECK(!ParseEvent("+new-epoch", "-1").epoch);
    CHECK(!ParseEvent("+sdown", "slave a b 99999999 @ m h 1").address);
  }
}

TEST_CASE("events: labels are the known names or 'other'") {
  CHECK(EventLabel("+switch-master") == "+switch-master");
  CHECK(EventLabel("-failover-abort-no-good-slave") == "-failover-abort-no-good-slave");
  CHECK(EventLabel("+made-up") == "other");
  CHECK(EventLabel("") == "other");
  CHECK(IsWarningEvent("+switch-master"));
  CHECK(!IsWarningEvent("+slave"));
  CHECK(!IsWarningEvent("+made-up"));
  CHECK(KnownEvents().size() == 45);
  for (auto name : KnownEvents()) CHECK(name != "other");
}

TEST_CASE("events: Pub/Sub pushes") {
  rse::redis::Reply r;
  REQUIRE(rse::redis::ParseOneReply(
      "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$6\r\n+sdown\r\n$37\r\nmaster aragora-master 127.0.0.1 23410\r\n", r));
  auto m = ParsePubSubMessage(r);
  REQUIRE(m);
  CHECK(m->first == "+sdown");
  CHECK(m->second == "master aragora-master 127.0.0.1 23410");
  REQUIRE(rse::redis::ParseOneReply("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n", r));
  CHECK(!ParsePubSubMessage(r));
  REQUIRE(rse::redis::ParseOneReply("*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n:1\r\n$1\r\nx\r\n", r));
  CHECK(!ParsePubSubMessage(r));
}

TEST_CASE("events: a recorded failover, as three Sentinels published it") {
  EventState state;
  auto t = Clock::now();
  for (const auto& e : LoadEvents()) {
    t += std::chrono::milliseconds(100);
    state.Record(e.sentinel, ParseEvent(e.channel, e.payload), 1.7e9, t);
  }
  const auto c = state.Counts();
  CHECK(Total(c, "+switch-master") == 3);  // one per Sentinel
  for (const char* s : {"127.0.0.1:23413", "127.0.0.1:23414", "127.0.0.1:23415"}) {
    CHECK(Count(c, s, kGroup, "+switch-master") == 1);
    // The replica paused 3.5 s between two scrapes: each Sentinel saw it go and come back.
    CHECK(Count(c, s, kGroup, "+sdown") >= 2);
    CHECK(Count(c, s, kGroup, "-sdown") == 1);
    CHECK(Count(c, s, "", "+new-epoch") == 1);
  }
  CHECK(Total(c, "other") == 0);
  REQUIRE(c.failovers.count(kGroup));
  const auto& f = c.failovers.at(kGroup);
  CHECK(f.failovers == 1);  // deduplicated by epoch
  CHECK(f.last_time == 1.7e9);
  CHECK(f.duration_count == 1);  // the leader's, from +try-failover to +switch-master
  // 14 of the leader's events after its +try-failover, 100 ms apart.
  CHECK(f.duration_sum == doctest::Approx(1.4));
  CHECK(state.Recent().size() == LoadEvents().size());
}

TEST_CASE("events: failovers are counted once per epoch, across Sentinels") {
  EventState state;
  auto t = Clock::now();
  auto rec = [&](const std::string& s, const std::string& ch, const std::string& payload) {
    t += std::chrono::seconds(1);
    state.Record(s, ParseEvent(ch, payload), 1.0, t);
  };
  const std::string sw1 = "m 10.0.0.1 6379 10.0.0.2 6379", sw2 = "m 10.0.0.2 6379 10.0.0.1 6379";
  rec("a", "+new-epoch", "5");
  rec("b", "+new-epoch", "5");
  rec("a", "+switch-master", sw1);
  rec("b", "+switch-master", sw1);
  rec("c", "+switch-master", sw1);  // subscribed mid-failover: no epoch known, matched by addresses
  CHECK(state.Counts().failovers.at("m").failovers == 1);
  rec("a", "+new-epoch", "6");
  rec("b", "+new-epoch", "6");
  rec("a", "+switch-master", sw2);
  rec("b", "+switch-master", sw2);
  CHECK(state.Counts().failovers.at("m").failovers == 2);
  rec("a", "+new-epoch", "7");
  rec("a", "+switch-master", sw1);  // back again: a third failover, though the addresses repeat
  CHECK(state.Counts().failovers.at("m").failovers == 3);
  CHECK(state.Counts().failovers.at("m").duration_count == 0);  // no leader seen trying
}

TEST_CASE("events: an aborted failover is counted as such, with no failover and no duration") {
  EventState state;
  auto t = Clock::now();
  for (const char* ch : {"+sdown", "+odown", "+try-failover", "+elected-leader", "+failover-state-select-slave",
                         "-failover-abort-no-good-slave"}) {
    state.Record("s", ParseEvent(ch, "master m 127.0.0.1 6379"), 2.0, t += std::chrono::seconds(1));
  }
  auto c = state.Counts();
  CHECK(Count(c, "s", "m", "-failover-abort-no-good-slave") == 1);
  CHECK(c.failovers.empty());
  // A later switch by the same Sentinel is not timed from the aborted attempt.
  state.Record("s", ParseEvent("+switch-master", "m 127.0.0.1 6379 127.0.0.1 6380"), 3.0, t);
  CHECK(state.Counts().failovers.at("m").duration_count == 0);
}

TEST_CASE("events: hostile input keeps the label set and memory bounded") {
  EventState state;
  auto t = Clock::now();
  for (int i = 0; i < 5000; ++i) {
    const std::string n = std::to_string(i);
    state.Record("s", ParseEvent("+invented-" + n, "master group-" + n + " 127.0.0.1 6379 " + std::string(2000, 'x')),
                 1.0, t);
    state.Record("s", ParseEvent("+switch-master", "group-" + n + " 127.0.0.1 6379 127.0.0.1 6380"), 1.0, t);
  }
  auto c = state.Counts();
  std::set<std::string> groups, events;
  for (const auto& [k, v] : c.events) {
    groups.insert(std::get<1>(k));
    events.insert(std::get<2>(k));
  }
  CHECK(groups.size() <= EventState::kMaxGroups + 1);  // plus "" for the rest
  CHECK(events == std::set<std::string>{"other", "+switch-master"});
  CHECK(c.failovers.size() <= EventState::kMaxGroups);
  auto recent = state.Recent();
  CHECK(recent.size() == EventState::kMaxRecent);
  for (const auto& r : recent) CHECK(r.event.payload.size() <= kMaxEventPayload);
}

TEST_CASE("events: Sentinels no longer subscribed have no stream state, and a rotating crowd stays bounded") {
  EventState state;
  auto t = Clock::now();
  state.SetSubscribed({"a", "b"});
  state.SetStreamUp("a", true);
  state.SetStreamUp("b", true);
  state.Record("b", ParseEvent("+sdown", "slave r 127.0.0.1 6380 @ g 127.0.0.1 6379"), 1.0, t);
  // b leaves the topology: not watched any more, so not "up"; its counters stay.
  state.SetSubscribed({"a"});
  auto c = state.Counts();
  CHECK(c.stream_up == std::map<std::string, bool>{{"a", true}});
  CHECK(c.events.size() == 1);
  CHECK(c.last_event.count("b") == 1);

  // A hostile Sentinel naming new peers every scrape: the state keeps what is subscribed now,
  // and at most kMaxSentinels others.
  for (int scrape = 0; scrape < 100; ++scrape) {
    std::vector<std::string> peers{"a"};
    for (int i = 0; i < 10; ++i) peers.push_back("peer-" + std::to_string(scrape) + "-" + std::to_string(i));
    state.SetSubscribed(peers);
    for (const auto& p : peers) {
      state.SetStreamUp(p, true);
      state.Record(p, ParseEvent("+tilt", "#tilt"), 1.0, t);
    }
  }
  c = state.Counts();
  CHECK(c.stream_up.size() == 11);
  CHECK(c.last_event.size() <= EventState::kMaxSentinels + 11);
  std::set<std::string> with_events;
  for (const auto& [key, n] : c.events) with_events.insert(std::get<0>(key));
  CHECK(with_events.size() <= EventState::kMaxSentinels + 11);
  CHECK(with_events.count("a") == 1);
  CHECK(c.events.at({"a", "", "+tilt"}) == 100);  // a subscribed Sentinel's counters never reset
}

TEST_CASE("events: group names beyond kMaxGroups are not tracked for failovers") {
  EventState state;
  auto t = Clock::now();
  for (int round = 0; round < 3; ++round) {
    std::vector<AgreedMaster> groups;
    for (int i = 0; i < 1000; ++i) {
      groups.push_back({"group-" + std::to_string(round) + "-" + std::to_string(i), "127.0.0.1:6379", 0, {}});
    }
    state.ObserveAgreedMasters(groups, 1.0, t);
  }
  auto c = state.Counts();
  CHECK(c.failovers.size() == EventState::kMaxGroups);
  CHECK(c.agreed.size() == EventState::kMaxGroups);
}

TEST_CASE("events: a group no Sentinel reports stays, until every Sentinel that reported it published -monitor") {
  EventState state;
  const auto t = Clock::now();
  const std::string s1 = "127.0.0.1:26379", s2 = "127.0.0.1:26380", s3 = "127.0.0.1:26381";
  const auto seen = [&](std::vector<std::string> sentinels) {
    state.ObserveAgreedMasters({AgreedMaster{kGroup, "127.0.0.1:6379", 1, std::move(sentinels)}}, 1.0, t);
  };
  const auto absent = [&] { state.ObserveAgreedMasters({}, 1.0, t); };
  const auto removed = [&](const std::string& sentinel) {
    state.Record(sentinel, ParseEvent("-monitor", "master " + kGroup + " 127.0.0.1 6379"), 1.0, t);
  };
  const auto known = [&] { return state.Counts().agreed.count(kGroup) == 1; };

  seen({s1, s2, s3});
  // Every Sentinel lost it without a word (restarted without configuration): still told.
  absent();
  absent();
  CHECK(known());
  // SENTINEL REMOVE on two of them, and a -monitor from a Sentinel that did not report it.
  removed(s1);
  removed(s2);
  removed("127.0.0.1:26999");
  absent();
  CHECK(known());
  // Reported again meanwhile: the removals before count no more.
  seen({s3});
  removed(s1);
  removed(s2);
  absent();
  CHECK(known());
  removed(s3);  // the one that reported it last
  CHECK(known());
  absent();
  CHECK_FALSE(known());
  CHECK(state.Counts().failovers.count(kGroup) == 1);  // its failover history stays for a return

  // A named group (present in every scrape, with no Sentinel) is never forgotten.
  seen({s1});
  removed(s1);
  state.ObserveAgreedMasters({AgreedMaster{kGroup, "", std::nullopt, {}}}, 1.0, t);
  CHECK(known());
}

TEST_CASE("events: the events collector renders counters, stream state and the duration histogram") {
  EventState state;
  auto t = Clock::now();
  state.SetStreamUp("127.0.0.1:26379", true);
  state.SetStreamUp("127.0.0.1:26380", false);
  state.Record("127.0.0.1:26379", ParseEvent("+try-failover", "master m 127.0.0.1 6379"), 5.0, t);
  state.Record("127.0.0.1:26379", ParseEvent("+elected-leader", "master m 127.0.0.1 6379"), 5.0, t);
  state.Record("127.0.0.1:26379", ParseEvent("+switch-master", "m 127.0.0.1 6379 127.0.0.1 6380"), 7.0,
               t + std::chrono::milliseconds(3000));
  Snapshot snap;
  snap.events = std::make_shared<EventCounts>(state.Counts());
  auto collector = FindCollector("events")->factory();
  MetricSink sink;
  std::vector<std::string> problems;
  collector->Collect(snap, sink, problems);
  const std::string text = sink.Take();
  CHECK(problems.empty());
  CHECK(text.find("redis_sentinel_event_stream_up{sentinel=\"127.0.0.1:26379\"} 1\n") != std::string::npos);
  CHECK(text.find("redis_sentinel_event_stream_up{sentinel=\"127.0.0.1:26380\"} 0\n") != std::string::npos);
  CHECK(
      text.find(
          "redis_sentinel_events_total{sentinel=\"127.0.0.1:26379\",master_name=\"m\",event=\"+switch-master\"} 1\n") !=
      std::string::npos);
  CHECK(text.find("failovers_total") == std::string::npos);  // the topology collector's
  CHECK(text.find("# TYPE redis_sentinel_failover_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("redis_sentinel_failover_duration_seconds_bucket{master_name=\"m\",le=\"2.5\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("redis_sentinel_failover_duration_seconds_bucket{master_name=\"m\",le=\"5\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("redis_sentinel_failover_duration_seconds_bucket{master_name=\"m\",le=\"+Inf\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("redis_sentinel_failover_duration_seconds_sum{master_name=\"m\"} 3\n") != std::string::npos);
  CHECK(text.find("redis_sentinel_failover_duration_seconds_count{master_name=\"m\"} 1\n") != std::string::npos);

  SUBCASE("no event state, no series") {
    MetricSink empty;
    collector->Collect(Snapshot{}, empty, problems);
    CHECK(empty.Take().empty());
  }
}
