#include "model/events.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace rse::collectors {
namespace {

// Sentinel's published events (sentinel.c, every sentinelEvent below debug level), with the
// level sentinel.c gives each: LL_WARNING, or LL_NOTICE.
struct KnownEvent {
  std::string_view name;
  bool warning;
};
constexpr KnownEvent kEvents[] = {
    {"+sdown", true},
    {"-sdown", true},
    {"+odown", true},
    {"-odown", true},
    {"+new-epoch", true},
    {"+try-failover", true},
    {"+vote-for-leader", true},
    {"+elected-leader", true},
    {"+failover-state-select-slave", true},
    {"+selected-slave", true},
    {"+failover-state-send-slaveof-noone", false},
    {"+failover-state-wait-promotion", false},
    {"+promoted-slave", true},
    {"+failover-state-reconf-slaves", true},
    {"+slave-reconf-sent", false},
    {"+slave-reconf-sent-be", false},
    {"-slave-reconf-sent-timeout", false},
    {"+slave-reconf-inprog", false},
    {"+slave-reconf-done", false},
    {"+failover-end", true},
    {"+failover-end-for-timeout", true},
    {"+switch-master", true},
    {"+config-update-from", true},
    {"-failover-abort-not-elected", true},
    {"-failover-abort-no-good-slave", true},
    {"-failover-abort-slave-timeout", true},
    {"+tilt", true},
    {"-tilt", true},
    {"+reboot", false},
    {"+convert-to-slave", false},
    {"+fix-slave-config", false},
    {"+slave", false},
    {"+sentinel", false},
    {"-dup-sentinel", false},
    {"+sentinel-address-switch", false},
    {"+sentinel-address-update", false},
    {"+sentinel-invalid-addr", false},
    {"+monitor", true},
    {"-monitor", true},
    {"+reset-master", true},
    {"+set", true},
    {"-script-error", true},
    {"-script-timeout", true},
    {"+role-change", false},
    {"-role-change", false},
};

// The names alone, for KnownEvents.
constexpr auto kKnown = [] {
  std::array<std::string_view, std::size(kEvents)> names{};
  for (size_t i = 0; i < names.size(); ++i) names[i] = kEvents[i].name;
  return names;
}();

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size() && out.size() < 16) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::uint64_t> ParseEpoch(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool IsInstanceType(std::string_view t) { return t == "master" || t == "slave" || t == "sentinel"; }

constexpr auto kDedupeWindow = std::chrono::minutes(10);

}  // namespace

std::span<const std::string_view> KnownEvents() { return kKnown; }

std::string_view EventLabel(std::string_view channel) {
  for (const auto& known : kEvents) {
    if (known.name == channel) return known.name;
  }
  return "other";
}

bool IsWarningEvent(std::string_view channel) {
  for (const auto& known : kEvents) {
    if (known.name == channel) return known.warning;
  }
  return false;
}

Event ParseEvent(std::string_view channel, std::string_view payload) {
  Event e;
  e.type = std::string(channel.substr(0, kMaxEventName));
  e.payload = std::string(payload.substr(0, kMaxEventPayload));
  const auto t = Split(e.payload);
  if (e.type == "+switch-master") {
    if (t.size() >= 5) {
      e.master_name = std::string(t[0]);
      e.master_address = redis::MakeAddress(t[1], t[2]);
      e.new_master = redis::MakeAddress(t[3], t[4]);
    }
    return e;
  }
  if (e.type == "+new-epoch" && !t.empty()) e.epoch = ParseEpoch(t[0]);
  if (e.type == "+vote-for-leader" && t.size() >= 2) e.epoch = ParseEpoch(t[1]);
  if (t.size() >= 4 && IsInstanceType(t[0])) {
    e.instance_type = std::string(t[0]);
    e.instance = std::string(t[1]);
    e.address = redis::MakeAddress(t[2], t[3]);
    if (t[0] == "master") {
      e.master_name = e.instance;
      e.master_address = e.address;
    } else if (t.size() >= 8 && t[4] == "@") {
      e.master_name = std::string(t[5]);
      e.master_address = redis::MakeAddress(t[6], t[7]);
    }
  }
  return e;
}

std::optional<std::pair<std::string, std::string>> ParsePubSubMessage(const redis::Reply& reply) {
  if (!reply.IsArray() || reply.elements.size() != 4) return std::nullopt;
  for (const auto& e : reply.elements) {
    if (e.type != redis::Reply::Type::kString) return std::nullopt;
  }
  if (reply.elements[0].str != "pmessage") return std::nullopt;
  return std::make_pair(reply.elements[2].str, reply.elements[3].str);
}

std::string EventState::GroupLabel(const std::string& name) {
  if (name.empty() || groups_.count(name)) return name;
  if (groups_.size() >= kMaxGroups) return {};
  groups_.insert(name);
  return name;
}

EventState::Seen* EventState::FindFailover(const Seen& f) {
  for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
    if (it->master_name != f.master_name) continue;
    if (it->epoch && f.epoch) {
      if (*it->epoch == *f.epoch) return &*it;
      continue;
    }
    // A Sentinel whose epoch is unknown (subscribed mid-failover): the same switch, recently.
    if (it->from == f.from && it->to == f.to && f.when - it->when < kDedupeWindow) return &*it;
  }
  return nullptr;
}

void EventState::Record(const std::string& sentinel, Event event, double unix_now,
                        std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  const std::string group = GroupLabel(event.master_name);
  counts_.events[{sentinel, group, std::string(EventLabel(event.type))}] += 1;
  counts_.last_event[sentinel] = unix_now;
  PerSentinel& ps = sentinels_[sentinel];
  const std::string& type = event.type;

  if (event.epoch) ps.epoch = std::max(ps.epoch.value_or(0), *event.epoch);
  if (!event.master_name.empty() && !group.empty()) {
    if (type == "-monitor") {
      if (auto it = reporters_.find(group); it != reporters_.end() && it->second.count(sentinel)) {
        removed_[group].insert(sentinel);
      }
    } else if (type == "+try-failover") {
      ps.pending[group] = Pending{now, false};
    } else if (type == "+elected-leader") {
      if (auto it = ps.pending.find(group); it != ps.pending.end()) it->second.elected = true;
    } else if (type.starts_with("-failover-abort-")) {
      ps.pending.erase(group);
    } else if (type == "+switch-master") {
      Seen* s = &CountFailover(Seen{group, event.master_address, event.new_master, ps.epoch, now, false}, unix_now);
      // The leader's own switch ends the failover it tried and won.
      if (auto it = ps.pending.find(group); it != ps.pending.end()) {
        if (it->second.elected && !s->timed) {
          s->timed = true;
          const double d = std::chrono::duration<double>(now - it->second.start).count();
          FailoverStats& st = counts_.failovers[group];
          for (std::size_t i = 0; i < kFailoverDurationBuckets.size(); ++i) {
            if (d <= kFailoverDurationBuckets[i]) {
              ++st.buckets[i];
              break;
            }
          }
          ++st.duration_count;
          st.duration_sum += d;
        }
        ps.pending.erase(it);
      }
    }
  }
  recent_.push_back(RecordedEvent{unix_now, sentinel, std::move(event)});
  if (recent_.size() > kMaxRecent) recent_.pop_front();
}

EventState::Seen& EventState::CountFailover(Seen f, double unix_now) {
  if (Seen* s = FindFailover(f)) return *s;
  FailoverStats& st = counts_.failovers[f.master_name];
  ++st.failovers;
  st.last_time = unix_now;
  seen_.push_back(std::move(f));
  if (seen_.size() > kMaxSeen) seen_.pop_front();
  return seen_.back();
}

void EventState::ObserveAgreedMasters(const std::vector<AgreedMaster>& groups, double unix_now,
                                      std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  for (const auto& g : groups) {
    if (GroupLabel(g.name).empty()) continue;  // beyond kMaxGroups names: not tracked
    counts_.failovers.try_emplace(g.name);
    if (!g.sentinels.empty()) {
      reporters_[g.name] = {g.sentinels.begin(), g.sentinels.end()};
      removed_.erase(g.name);
    }
    std::string& previous = counts_.agreed[g.name];
    if (g.master.empty()) continue;
    if (!previous.empty() && previous != g.master) {
      std::optional<std::uint64_t> epoch;
      if (g.config_epoch && *g.config_epoch >= 0 && *g.config_epoch < 1.8e19) {
        epoch = static_cast<std::uint64_t>(*g.config_epoch);
      }
      CountFailover(Seen{g.name, redis::ParseAddress(previous), redis::ParseAddress(g.master), epoch, now, false},
                    unix_now);
    }
    previous = g.master;
  }
  std::set<std::string_view> present;
  for (const auto& g : groups) present.insert(g.name);
  for (auto it = reporters_.begin(); it != reporters_.end();) {
    auto removed = removed_.find(it->first);
    if (present.count(it->first) || removed == removed_.end() || removed->second != it->second) {
      ++it;
      continue;
    }
    counts_.agreed.erase(it->first);
    removed_.erase(removed);
    it = reporters_.erase(it);
  }
}

void EventState::SetStreamUp(const std::string& sentinel, bool up) {
  std::lock_guard lock(mu_);
  counts_.stream_up[sentinel] = up;
}

void EventState::SetSubscribed(const std::vector<std::string>& sentinels) {
  const std::set<std::string> now(sentinels.begin(), sentinels.end());
  std::lock_guard lock(mu_);
  std::erase_if(counts_.stream_up, [&](const auto& e) { return !now.count(e.first); });
  // Record keeps every Sentinel with events or a last event in sentinels_ too.
  std::set<std::string> tracked(now);
  for (const auto& [label, ps] : sentinels_) tracked.insert(label);
  if (tracked.size() <= kMaxSentinels) return;
  std::erase_if(counts_.last_event, [&](const auto& e) { return !now.count(e.first); });
  std::erase_if(sentinels_, [&](const auto& e) { return !now.count(e.first); });
  std::erase_if(counts_.events, [&](const auto& e) { return !now.count(std::get<0>(e.first)); });
}

EventCounts EventState::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::vector<RecordedEvent> EventState::Recent() const {
  std::lock_guard lock(mu_);
  return {recent_.begin(), recent_.end()};
}

}  // namespace rse::collectors
