#include "model/health.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <map>
#include <set>
#include <string_view>

namespace rse::collectors {
namespace {

std::optional<double> Max(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

std::optional<double> Num(const FieldMap& f, std::string_view name) {
  auto v = Field(f, name);
  return v ? ParseNumber(*v) : std::nullopt;
}

// Whole numbers as integers; anything (even 1e300 from a lying peer) without a cast.
std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  return buf;
}

}  // namespace

std::optional<redis::Address> AdvertisedMaster(const MasterView& view) {
  if (view.client_master) return view.client_master;
  return AddressOf(view.master);
}

std::optional<double> GroupHealth::SentinelsNeeded() const {
  std::optional<double> majority;
  if (sentinels_known) majority = std::floor(*sentinels_known / 2) + 1;
  return Max(quorum, majority);
}

namespace {

using Groups = std::map<std::string, GroupHealth>;
// Per group, per named address: (votes, highest config epoch among its voters).
using Votes = std::map<std::string, std::map<std::string, std::pair<int, double>>>;
// Per group: old master -> promoted replica, for failovers past their promotion.
using Switching = std::map<std::string, std::map<std::string, std::string>>;

// A failover past its promotion: the leader gives clients the promoted replica, while its
// peers name the old master until the leader's next hello (every 2 s) reaches them. They
// are behind the same configuration, not disagreeing: their votes go to the new master.
Switching FailoversPastPromotion(const Snapshot& snapshot) {
  Switching switching;
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) continue;
    for (const auto& m : s.masters) {
      const auto state = FailoverState(m.master);
      if (state != "reconf_slaves" && state != "update_config") continue;
      auto old = AddressOf(m.master), now = AdvertisedMaster(m);
      if (old && now && *old != *now) switching[m.name][old->ToString()] = now->ToString();
    }
  }
  return switching;
}

// Each answering Sentinel's view of each group it monitors, and its vote.
void AddSentinelViews(const Snapshot& snapshot, Switching& switching, Groups& groups, Votes& votes) {
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) continue;
    const bool tilt = Field(s.info, "sentinel_tilt").value_or("0") != "0";
    for (const auto& m : s.masters) {
      GroupHealth& g = groups[m.name];
      g.name = m.name;
      ++g.sentinels_up;
      g.quorum = Max(g.quorum, Num(m.master, "quorum"));
      if (auto others = Num(m.master, "num-other-sentinels")) g.sentinels_known = Max(g.sentinels_known, *others + 1);
      auto epoch = Num(m.master, "config-epoch");
      g.config_epoch = Max(g.config_epoch, epoch);
      g.replicas_known = Max(g.replicas_known, Num(m.master, "num-slaves"));
      GroupHealth::SentinelView view;
      view.sentinel = s.label();
      if (auto addr = AdvertisedMaster(m)) {
        view.master_address = addr->ToString();
        const auto& moved = switching[m.name];
        auto to = moved.find(view.master_address);
        auto& v = votes[m.name][to != moved.end() ? to->second : view.master_address];
        ++v.first;
        v.second = std::max(v.second, epoch.value_or(0));
      }
      view.master_ok = IsPrimaryRole(Field(m.master, "flags").value_or(""));
      view.failover_state = std::string(FailoverState(m.master));
      view.tilt = tilt;
      if (m.ckquorum) view.ckquorum_ok = m.ckquorum->ok;
      g.sentinels.push_back(std::move(view));
    }
  }
}

// Most votes wins; a tie goes to the newer configuration (higher epoch), then the address.
void ElectMasters(Groups& groups, Votes& votes) {
  for (auto& [name, g] : groups) {
    double best_epoch = -1;
    for (const auto& [addr, v] : votes[name]) {
      g.master_addresses.push_back(addr);
      if (v.first > g.agreed_votes || (v.first == g.agreed_votes && v.second > best_epoch)) {
        g.agreed_master = addr;
        g.agreed_votes = v.first;
        best_epoch = v.second;
      }
    }
  }
}

// Every data node of a known group, as it reports itself.
void AddNodes(const Snapshot& snapshot, Groups& groups) {
  for (const auto& n : snapshot.nodes) {
    auto it = groups.find(n.master_name);
    if (it == groups.end()) continue;
    GroupHealth& g = it->second;
    GroupHealth::Node node;
    node.addr = n.label();
    node.up = n.up();
    if (!n.up()) node.cause = redis::CauseName(n.error.cause);
    if (n.up()) {
      auto role = Field(n.info, "role");
      if (role && IsPrimaryRole(*role)) {
        node.role = "master";
        ++g.masters;
      } else if (role) {
        node.role = "replica";
        if (auto followed = AddressOf(n.info, "master_host", "master_port")) node.follows = followed->ToString();
        if (auto link = Field(n.info, "master_link_status")) node.link_up = *link == "up";
        node.last_io_seconds = Num(n.info, "master_last_io_seconds_ago");
        if (node.follows == g.agreed_master && node.link_up.value_or(false)) {
          ++g.replicas_linked;
          // Sentinel skips replicas with priority 0 and unannounced ones when it picks one.
          if (Num(n.info, "slave_priority").value_or(1) > 0 &&
              Field(n.info, "replica_announced").value_or("1") != "0") {
            ++g.replicas_promotable;
          }
        }
      }
    }
    if (node.addr == g.agreed_master) g.master_up = node.up && node.role == "master";
    g.nodes.push_back(std::move(node));
  }
}

// Lag in the agreed master's own view: its offset minus what each replica last acknowledged.
// That view keeps counting while a replica is paused or unreachable.
void AddLag(const Snapshot& snapshot, Groups& groups) {
  for (const auto& master : snapshot.nodes) {  // each group's agreed master, in one pass
    auto it = groups.find(master.master_name);
    if (it == groups.end() || !master.up() || master.label() != it->second.agreed_master) continue;
    GroupHealth& g = it->second;
    auto master_offset = Num(master.info, "master_repl_offset");
    if (!master_offset) continue;
    std::map<std::string_view, GroupHealth::Node*> by_addr;
    for (auto& node : g.nodes) by_addr[node.addr] = &node;
    for (const auto& r : ParseConnectedReplicas(master.info)) {
      if (!r.offset) continue;
      if (auto n = by_addr.find(r.address.ToString()); n != by_addr.end()) {
        n->second->lag_bytes = std::max(0.0, *master_offset - *r.offset);
      }
    }
  }
}

// The Sentinels a group's Sentinels list as a peer that do not count for it here: those that
// answer but do not report the group, and those that do not answer. Indexed first: a hostile
// Sentinel may report very many groups, and this must not be quadratic in them.
void AddPeersNotCounted(const Snapshot& snapshot, Groups& groups) {
  struct Peers {
    std::set<std::string> ids, addresses;
  };
  std::map<std::string, Peers> listed;  // group -> the peers its answering Sentinels list
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) continue;
    for (const auto& m : s.masters) {
      if (!m.sentinels) continue;
      Peers& p = listed[m.name];
      for (const auto& peer : *m.sentinels) {
        if (auto id = Field(peer, "runid"); id && !id->empty()) p.ids.insert(std::string(*id));
        if (auto addr = AddressOf(peer)) p.addresses.insert(addr->ToString());
      }
    }
  }
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) {
      for (const auto& [name, p] : listed) {
        if (!p.addresses.count(s.label())) continue;
        if (auto g = groups.find(name); g != groups.end()) g->second.sentinels_down.push_back(s.label());
      }
      continue;
    }
    std::set<std::string_view> monitored;
    for (const auto& m : s.masters) monitored.insert(m.name);
    const std::string label = s.label();
    for (const auto& [name, p] : listed) {
      // By address too: a Sentinel restarted without its configuration has a new run id, while
      // its peers keep listing the old one at the same address.
      if (monitored.count(name) || (!p.ids.count(s.run_id) && !p.addresses.count(label))) continue;
      if (auto g = groups.find(name); g != groups.end()) g->second.sentinels_not_monitoring.push_back(label);
    }
  }
  for (auto& [name, g] : groups) {
    std::sort(g.sentinels_not_monitoring.begin(), g.sentinels_not_monitoring.end());
    std::sort(g.sentinels_down.begin(), g.sentinels_down.end());
  }
}

}  // namespace

std::vector<GroupHealth> AnalyzeGroups(const Snapshot& snapshot) {
  Groups groups;
  Votes votes;
  Switching switching = FailoversPastPromotion(snapshot);
  AddSentinelViews(snapshot, switching, groups, votes);
  for (const auto& name : snapshot.master_names) groups[name].name = name;  // none may report it
  ElectMasters(groups, votes);
  AddPeersNotCounted(snapshot, groups);
  AddNodes(snapshot, groups);
  AddLag(snapshot, groups);
  std::vector<GroupHealth> out;
  for (auto& [name, g] : groups) out.push_back(std::move(g));
  return out;
}

void AddGroupsSeenBefore(const EventCounts& counts, std::vector<GroupHealth>& groups) {
  const size_t reported = groups.size();
  const auto by_name = [](const GroupHealth& g, const std::string& name) { return g.name < name; };
  for (const auto& [name, master] : counts.agreed) {
    auto it = std::lower_bound(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(reported), name, by_name);
    if (it != groups.begin() + static_cast<std::ptrdiff_t>(reported) && it->name == name) continue;
    groups.emplace_back().name = name;
  }
  std::inplace_merge(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(reported), groups.end(),
                     [](const GroupHealth& a, const GroupHealth& b) { return a.name < b.name; });
}

std::vector<AgreedMaster> AgreedMasters(const std::vector<GroupHealth>& groups) {
  std::vector<AgreedMaster> out;
  for (const auto& g : groups) {
    AgreedMaster& a = out.emplace_back(AgreedMaster{g.name, g.agreed_master, g.config_epoch, {}});
    for (const auto& v : g.sentinels) a.sentinels.push_back(v.sentinel);
  }
  return out;
}

Verdict Judge(const Snapshot& snapshot, const std::vector<GroupHealth>& groups, double max_lag_bytes) {
  Verdict v;
  bool any_sentinel = false;
  for (const auto& s : snapshot.sentinels) {
    if (s.up()) {
      any_sentinel = true;
    } else {
      v.degraded.push_back("sentinel " + s.label() + " down (" + redis::CauseName(s.error.cause) + ")");
    }
  }
  if (!any_sentinel) v.critical.push_back("no Sentinel answered");
  for (const auto& g : groups) {
    const std::string& n = g.name;
    if (!g.Monitored()) {
      if (any_sentinel) v.critical.push_back(n + ": no Sentinel that answered monitors this group");
      continue;
    }
    if (g.master_addresses.size() > 1) v.critical.push_back(n + ": Sentinels disagree on the master");
    if (g.masters == 0) v.critical.push_back(n + ": no reachable node reports role master");
    if (g.masters > 1) v.critical.push_back(n + ": " + Fmt(g.masters) + " nodes report role master (split brain)");
    if (!g.EnoughSentinels()) {
      v.critical.push_back(n + ": " + Fmt(g.sentinels_up) + " Sentinels answered, fewer than the " +
                           Fmt(*g.SentinelsNeeded()) + " a failover needs (quorum " +
                           (g.quorum ? Fmt(*g.quorum) : "unknown") + ", a majority of " +
                           (g.sentinels_known ? Fmt(*g.sentinels_known) : "unknown") + " Sentinels)");
    }
    if (!g.master_up) v.critical.push_back(n + ": the master " + g.agreed_master + " is not up as master");
    for (const auto& s : g.sentinels_not_monitoring) {
      v.degraded.push_back(n + ": Sentinel " + s +
                           " answers but does not monitor the group, which its peers still count as a voter");
    }
    for (const auto& s : g.sentinels) {
      if (s.ckquorum_ok == false) v.critical.push_back(n + ": CKQUORUM fails on " + s.sentinel);
      if (s.tilt) v.degraded.push_back(n + ": Sentinel " + s.sentinel + " in TILT");
      if (s.failover_state != "none") {
        v.degraded.push_back(n + ": Sentinel " + s.sentinel + " has a failover in progress (" +
                             (s.failover_state.empty() ? "state unknown" : s.failover_state) + ")");
      } else if (!s.master_ok) {
        v.degraded.push_back(n + ": Sentinel " + s.sentinel + " flags the master as not ok");
      }
    }
    for (const auto& node : g.nodes) {
      if (!node.up) {
        if (node.addr != g.agreed_master)
          v.degraded.push_back(n + ": node " + node.addr + " down (" + node.cause + ")");
        continue;
      }
      if (node.role == "replica" && !node.link_up.value_or(false)) {
        v.degraded.push_back(n + ": replica " + node.addr + " link to its master down");
      }
      if (node.lag_bytes && *node.lag_bytes > max_lag_bytes) {
        v.degraded.push_back(n + ": replica " + node.addr + " lags " + Fmt(*node.lag_bytes) + " bytes");
      }
    }
    if (g.replicas_known && *g.replicas_known > 0 && g.replicas_promotable == 0) {
      v.critical.push_back(n + ": no replica can be promoted (none linked with replica-priority above 0): " +
                           "a master failure would not be failed over");
    }
    if (g.replicas_known && g.replicas_linked < *g.replicas_known) {
      v.degraded.push_back(n + ": " + Fmt(g.replicas_linked) + " of " + Fmt(*g.replicas_known) +
                           " replicas linked to the master");
    }
  }
  v.status = !v.critical.empty() ? 2 : !v.degraded.empty() ? 1 : 0;
  return v;
}

}  // namespace rse::collectors
