#include "exporter/check.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <future>
#include <iomanip>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "exporter/exporter.h"
#include "exporter/log.h"
#include "exporter/topology.h"
#include "exporter/version.h"
#include "http/ascii.h"
#include "http/client.h"
#include "model/health.h"

namespace rse {
namespace {

using collectors::GroupHealth;

const char* StatusWord(int status) { return status == 0 ? "healthy" : status == 1 ? "degraded" : "critical"; }

std::string Num(double v) {
  std::ostringstream s;
  s << std::setprecision(15) << v;
  return s.str();
}

std::string Opt(const std::optional<double>& v) { return v ? Num(*v) : "?"; }

std::string Bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int i = 0;
  while (b >= 1024 && i < 3) {
    b /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), i == 0 ? "%.0f %s" : "%.1f %s", b, units[i]);
  return buf;
}

// --check.events-url: the exporter's recent events, or why they could not be read.
struct RecentEvents {
  bool asked = false;
  std::vector<collectors::RecordedEvent> events;  // oldest first
  std::string error;                              // empty: `events` is what the exporter holds
  double now = 0;                                 // Unix seconds when they were read
};

double UnixNow() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

RecentEvents FetchEvents(const Config& config, redis::Deadline deadline) {
  RecentEvents out;
  out.asked = true;
  auto url = http::ParseUrl(config.check_events_url, out.error);  // validated with the flags
  if (!url) return out;
  http::GetOptions options;
  options.tls = config.check_events_tls;
  options.user = config.check_events_user;
  options.password = config.check_events_password;
  options.user_agent = std::string("redis_sentinel_exporter-check/") + kVersion;
  auto got = http::Get(*url, options, deadline);
  out.now = UnixNow();
  if (!got.error.empty()) {
    out.error = std::move(got.error);
    return out;
  }
  if (got.response.status != 200) {
    out.error = "HTTP " + std::to_string(got.response.status) + " from " + url->address.ToString();
    if (const std::string why = http::PrintableLine(got.response.body, 200); !why.empty()) out.error += ": " + why;
    return out;
  }
  std::string error;
  if (auto events = ParseEventsJson(got.response.body, error)) {
    out.events = std::move(*events);
  } else {
    out.error = "not the exporter's /events JSON: " + error;
  }
  return out;
}

// "12s", "3m04s", "2h05m", "3d04h": how long ago, at a glance.
std::string Age(double seconds) {
  const auto s = static_cast<long long>(seconds > 0 ? seconds : 0);
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

constexpr std::size_t kTextEvents = 20;  // the text report's section stays short; JSON has them all

void TextEvents(std::ostream& out, const RecentEvents& recent) {
  out << "\nRecent events (newest last)\n";
  if (!recent.error.empty()) {
    out << "  WARNING: cannot read the exporter's events: " << recent.error << "\n";
    return;
  }
  if (recent.events.empty()) out << "  none held by the exporter\n";
  const std::size_t skip = recent.events.size() > kTextEvents ? recent.events.size() - kTextEvents : 0;
  if (skip > 0) out << "  (" << skip << " earlier not shown; --output json lists them all)\n";
  for (std::size_t i = skip; i < recent.events.size(); ++i) {
    const auto& r = recent.events[i];
    const auto& e = r.event;
    // A peer's text: printed with control bytes replaced, so it cannot drive the terminal.
    out << "  " << std::right << std::setw(6) << Age(recent.now - r.time) << " ago  " << std::left << std::setw(22)
        << http::PrintableLine(r.sentinel, 64) << std::setw(20)
        << (e.master_name.empty() ? "-" : http::PrintableLine(e.master_name, 64)) << std::setw(32)
        << http::PrintableLine(e.type, collectors::kMaxEventName) << http::PrintableLine(e.payload, 160) << "\n";
  }
}

// The text report for a terminal. Names, addresses, error messages and states come from peers,
// any of which may be hostile: their control characters (http::ControlLength) become '?', so
// that no peer can move the cursor, retitle the window or hide a line. JSON keeps them, escaped.
std::string TerminalText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t control = text[i] == '\n' ? 0 : http::ControlLength(text, i);
    out += control ? '?' : text[i];
    if (control) i += control - 1;
  }
  return out;
}

void Text(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict, const RecentEvents& recent) {
  std::string upper = StatusWord(verdict.status);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out << "Sentinel topology: " << upper << " (exit " << verdict.status << ")\n\nSentinels\n";
  for (const auto& s : snap.sentinels) {
    out << "  " << std::left << std::setw(24) << s.label()
        << (s.up() ? "up" : std::string("DOWN  ") + redis::CauseName(s.error.cause) + ": " + s.error.message) << "\n";
  }
  for (const auto& g : groups) {
    if (!g.Monitored()) {
      out << "\nMaster group " << g.name << ": NOT MONITORED by any Sentinel that answered\n";
      continue;
    }
    out << "\nMaster group " << g.name << ": master " << (g.agreed_master.empty() ? "?" : g.agreed_master)
        << ", named by " << g.agreed_votes << " of " << g.sentinels_up << " answering Sentinels ("
        << Opt(g.sentinels_known) << " known, a failover needs " << Opt(g.SentinelsNeeded()) << "), quorum "
        << Opt(g.quorum) << ", config epoch " << Opt(g.config_epoch) << "\n";
    for (const auto& s : g.sentinels) {
      out << "  sentinel " << std::left << std::setw(24) << s.sentinel << "names " << std::setw(22) << s.master_address
          << (s.master_ok ? "flags ok" : "flags NOT ok");
      if (s.ckquorum_ok) out << (*s.ckquorum_ok ? "   ckquorum ok" : "   CKQUORUM FAILS");
      if (s.tilt) out << "   TILT";
      if (s.failover_state != "none") out << "   failover " << (s.failover_state.empty() ? "?" : s.failover_state);
      out << "\n";
    }
    for (const auto& s : g.sentinels_not_monitoring) {
      out << "  sentinel " << std::left << std::setw(24) << s << "DOES NOT MONITOR the group (its peers list it)\n";
    }
    for (const auto& s : g.sentinels_down) {
      out << "  sentinel " << std::left << std::setw(24) << s << "DOWN (its peers list it)\n";
    }
    for (const auto& n : g.nodes) {
      out << "  node     " << std::left << std::setw(24) << n.addr << std::setw(9) << (n.role.empty() ? "-" : n.role)
          << (n.up ? "up  " : "DOWN");
      if (!n.up) out << " (" << n.cause << ")";
      if (n.role == "replica") out << "   link " << (n.link_up.value_or(false) ? "up" : "DOWN");
      if (n.role == "replica" && n.follows != g.agreed_master) out << "   follows " << n.follows;
      if (n.lag_bytes) out << "   lag " << Bytes(*n.lag_bytes);
      out << "\n";
    }
  }
  if (!verdict.critical.empty()) {
    out << "\nCritical\n";
    for (const auto& c : verdict.critical) out << "  - " << c << "\n";
  }
  if (!verdict.degraded.empty()) {
    out << "\nDegraded\n";
    for (const auto& d : verdict.degraded) out << "  - " << d << "\n";
  }
  if (recent.asked) TextEvents(out, recent);
}

// The schema is documented in docs/check-json.md; scripts read it with jq. Every key is
// always present (null when it does not apply), but for `events` and `events_error`, which
// only --check.events-url adds; fields are only ever added, and a change that breaks a
// reader bumps kCheckJsonSchema.
constexpr int kCheckJsonSchema = 1;

// Counts, offsets and epochs are whole numbers: written as integers, not 12.0.
nlohmann::ordered_json OrNull(const std::optional<double>& v) {
  if (!v) return nullptr;
  if (std::trunc(*v) == *v && std::fabs(*v) < 9e15) return static_cast<std::int64_t>(*v);
  return *v;
}
nlohmann::ordered_json OrNull(const std::optional<bool>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}
nlohmann::ordered_json OrNull(const std::string& v) {
  return v.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v);
}

// One master group of the check JSON (docs/check-json.md).
nlohmann::ordered_json GroupJson(const GroupHealth& g) {
  using J = nlohmann::ordered_json;
  J group;
  group["master_name"] = g.name;
  group["master"] = OrNull(g.agreed_master);
  group["master_votes"] = g.agreed_votes;
  group["master_up"] = g.master_up;
  group["sentinels_agree"] = g.SentinelsAgree();
  group["master_addresses"] = g.master_addresses;
  group["sentinels_up"] = g.sentinels_up;
  group["monitored"] = g.Monitored();
  group["quorum"] = OrNull(g.quorum);
  group["sentinels_known"] = OrNull(g.sentinels_known);
  group["sentinels_needed"] = OrNull(g.SentinelsNeeded());
  group["config_epoch"] = OrNull(g.config_epoch);
  group["masters"] = g.masters;
  group["replicas_linked"] = g.replicas_linked;
  group["replicas_promotable"] = g.replicas_promotable;
  group["replicas_known"] = OrNull(g.replicas_known);
  group["sentinels_not_monitoring"] = g.sentinels_not_monitoring;
  group["sentinels_down"] = g.sentinels_down;
  group["sentinels"] = J::array();
  for (const auto& s : g.sentinels) {
    group["sentinels"].push_back({{"sentinel", s.sentinel},
                                  {"names", OrNull(s.master_address)},
                                  {"flags_ok", s.master_ok},
                                  {"ckquorum_ok", OrNull(s.ckquorum_ok)},
                                  {"tilt", s.tilt},
                                  {"failover_state", OrNull(s.failover_state)}});
  }
  group["nodes"] = J::array();
  for (const auto& n : g.nodes) {
    const bool replica = n.role == "replica";
    group["nodes"].push_back({{"addr", n.addr},
                              {"up", n.up},
                              {"cause", OrNull(n.cause)},
                              {"role", OrNull(n.role)},
                              {"follows", replica ? OrNull(n.follows) : J(nullptr)},
                              {"link_up", OrNull(n.link_up)},
                              {"lag_bytes", OrNull(n.lag_bytes)}});
  }
  return group;
}

void Json(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict, const RecentEvents& recent) {
  using J = nlohmann::ordered_json;
  J doc;
  doc["status"] = StatusWord(verdict.status);
  doc["exit_code"] = verdict.status;
  doc["schema"] = kCheckJsonSchema;
  doc["critical"] = verdict.critical;
  doc["degraded"] = verdict.degraded;
  doc["sentinels"] = J::array();
  for (const auto& s : snap.sentinels) {
    doc["sentinels"].push_back({{"sentinel", s.label()},
                                {"up", s.up()},
                                {"cause", s.up() ? J(nullptr) : J(redis::CauseName(s.error.cause))},
                                {"error", s.up() ? J(nullptr) : J(s.error.message)}});
  }
  doc["groups"] = J::array();
  for (const auto& g : groups) doc["groups"].push_back(GroupJson(g));
  if (recent.asked) {  // only with --check.events-url: without it the document is as before
    if (recent.error.empty()) {
      doc["events"] = J::array();
      for (const auto& r : recent.events) {
        const auto& e = r.event;
        doc["events"].push_back({{"time", r.time},
                                 {"age_seconds", std::round(std::max(0.0, recent.now - r.time) * 1000) / 1000},
                                 {"sentinel", r.sentinel},
                                 {"master_name", OrNull(e.master_name)},
                                 {"event", e.type},
                                 {"payload", e.payload},
                                 {"new_master", e.new_master ? J(e.new_master->ToString()) : J(nullptr)}});
      }
      doc["events_error"] = nullptr;
    } else {
      doc["events"] = nullptr;
      doc["events_error"] = recent.error;
    }
  }
  // Invalid UTF-8 from a peer (an error text) is replaced, never a reason to throw.
  out << doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace

std::optional<std::vector<collectors::RecordedEvent>> ParseEventsJson(std::string_view body, std::string& error) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    error = "not valid JSON";
    return std::nullopt;
  }
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) {
    error = "no \"events\" array";
    return std::nullopt;
  }
  std::vector<collectors::RecordedEvent> out;
  for (const auto& e : doc["events"]) {
    const std::string at = "event " + std::to_string(out.size());
    if (!e.is_object()) {
      error = at + " is not an object";
      return std::nullopt;
    }
    for (const char* key : {"sentinel", "event", "payload"}) {
      if (!e.contains(key) || !e[key].is_string()) {
        error = at + ": \"" + key + "\" is not a string";
        return std::nullopt;
      }
    }
    if (!e.contains("time") || !e["time"].is_number()) {
      error = at + ": \"time\" is not a number";
      return std::nullopt;
    }
    collectors::RecordedEvent r;
    r.time = e["time"].get<double>();
    r.sentinel = e["sentinel"].get<std::string>();
    r.event = collectors::ParseEvent(e["event"].get<std::string>(), e["payload"].get<std::string>());
    out.push_back(std::move(r));
  }
  return out;
}

int RunCheck(const Config& config, std::ostream& out) {
  FetchOptions options = FetchOptionsFrom(config);
  options.needs.data_info = collectors::Needs::DataInfo::kReplication;
  options.needs.ckquorum = true;
  Topology topology(Target{config.sentinels, config.master_names}, options);
  const auto deadline = redis::Clock::now() + config.timeout;
  // Read alongside the scrape, under the same deadline: check takes no longer for it.
  std::future<RecentEvents> events;
  if (!config.check_events_url.empty()) {
    events = std::async(std::launch::async, [&config, deadline] { return FetchEvents(config, deadline); });
  }
  auto snapshot = topology.Fetch(deadline);
  const auto groups = snapshot->groups ? *snapshot->groups : collectors::AnalyzeGroups(*snapshot);
  auto verdict = collectors::Judge(*snapshot, groups, config.max_lag_bytes);
  const RecentEvents recent = events.valid() ? events.get() : RecentEvents{};
  if (config.output == "json") {
    Json(out, *snapshot, groups, verdict, recent);
  } else {
    std::ostringstream text;
    Text(text, *snapshot, groups, verdict, recent);
    out << TerminalText(text.str());
  }
  return verdict.status;
}

}  // namespace rse
