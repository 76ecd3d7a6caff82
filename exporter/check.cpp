#include "exporter/check.h"

#include <cstdio>
#include <iomanip>
#include <sstream>

#include "collectors/health.h"
#include "exporter/log.h"
#include "exporter/scrape.h"

namespace rse {
namespace {

using collectors::GroupHealth;
using log::JsonString;

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

void Text(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict) {
  std::string upper = StatusWord(verdict.status);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out << "Sentinel topology: " << upper << " (exit " << verdict.status << ")\n\nSentinels\n";
  for (const auto& s : snap.sentinels) {
    out << "  " << std::left << std::setw(24) << s.label
        << (s.up ? "up" : std::string("DOWN  ") + redis::CauseName(s.error.cause) + ": " + s.error.message) << "\n";
  }
  for (const auto& g : groups) {
    out << "\nMaster group " << g.name << ": master " << (g.agreed_master.empty() ? "?" : g.agreed_master)
        << ", named by " << g.agreed_votes << " of " << g.sentinels_up << " Sentinels, quorum " << Opt(g.quorum)
        << ", config epoch " << Opt(g.config_epoch) << "\n";
    for (const auto& s : g.sentinels) {
      out << "  sentinel " << std::left << std::setw(24) << s.sentinel << "names " << std::setw(22)
          << s.master_address << (s.master_ok ? "flags ok" : "flags NOT ok");
      if (s.ckquorum_ok) out << (*s.ckquorum_ok ? "   ckquorum ok" : "   CKQUORUM FAILS");
      if (s.tilt) out << "   TILT";
      if (s.failover_state != "none") out << "   failover " << (s.failover_state.empty() ? "?" : s.failover_state);
      out << "\n";
    }
    for (const auto& n : g.nodes) {
      out << "  node     " << std::left << std::setw(24) << n.addr << std::setw(9)
          << (n.role.empty() ? "-" : n.role) << (n.up ? "up  " : "DOWN");
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
}

template <typename T, typename F>
void JsonArray(std::ostream& out, const std::vector<T>& items, F&& each) {
  out << "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out << ",";
    each(items[i]);
  }
  out << "]";
}

std::string JsonOpt(const std::optional<double>& v) { return v ? Num(*v) : "null"; }
std::string JsonOpt(const std::optional<bool>& v) { return v ? (*v ? "true" : "false") : "null"; }
const char* JsonBool(bool b) { return b ? "true" : "false"; }

void Json(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict) {
  out << "{\"status\":" << JsonString(StatusWord(verdict.status)) << ",\"exit_code\":" << verdict.status;
  auto strings = [&](const std::string& s) { out << JsonString(s); };
  out << ",\"critical\":";
  JsonArray(out, verdict.critical, strings);
  out << ",\"degraded\":";
  JsonArray(out, verdict.degraded, strings);
  out << ",\"sentinels\":";
  JsonArray(out, snap.sentinels, [&](const collectors::SentinelNode& s) {
    out << "{\"sentinel\":" << JsonString(s.label) << ",\"up\":" << JsonBool(s.up);
    if (!s.up) out << ",\"cause\":" << JsonString(redis::CauseName(s.error.cause)) << ",\"error\":" << JsonString(s.error.message);
    out << "}";
  });
  out << ",\"groups\":";
  JsonArray(out, groups, [&](const GroupHealth& g) {
    out << "{\"master_name\":" << JsonString(g.name) << ",\"master\":" << JsonString(g.agreed_master)
        << ",\"master_addresses\":";
    JsonArray(out, g.master_addresses, strings);
    out << ",\"sentinels_up\":" << g.sentinels_up << ",\"quorum\":" << JsonOpt(g.quorum)
        << ",\"config_epoch\":" << JsonOpt(g.config_epoch) << ",\"masters\":" << g.masters
        << ",\"replicas_linked\":" << g.replicas_linked << ",\"replicas_known\":" << JsonOpt(g.replicas_known)
        << ",\"sentinels\":";
    JsonArray(out, g.sentinels, [&](const GroupHealth::SentinelView& s) {
      out << "{\"sentinel\":" << JsonString(s.sentinel) << ",\"names\":" << JsonString(s.master_address)
          << ",\"flags_ok\":" << JsonBool(s.master_ok) << ",\"ckquorum_ok\":" << JsonOpt(s.ckquorum_ok)
          << ",\"tilt\":" << JsonBool(s.tilt) << ",\"failover_state\":" << JsonString(s.failover_state) << "}";
    });
    out << ",\"nodes\":";
    JsonArray(out, g.nodes, [&](const GroupHealth::Node& n) {
      out << "{\"addr\":" << JsonString(n.addr) << ",\"up\":" << JsonBool(n.up) << ",\"role\":" << JsonString(n.role);
      if (!n.up) out << ",\"cause\":" << JsonString(n.cause);
      if (n.role == "replica") out << ",\"follows\":" << JsonString(n.follows) << ",\"link_up\":" << JsonOpt(n.link_up);
      if (n.lag_bytes) out << ",\"lag_bytes\":" << Num(*n.lag_bytes);
      out << "}";
    });
    out << "}";
  });
  out << "}\n";
}

}  // namespace

int RunCheck(const Config& config, std::ostream& out) {
  FetchOptions options = FetchOptionsFrom(config);
  options.needs.data_info = collectors::Needs::DataInfo::kReplication;
  options.needs.ckquorum = true;
  Topology topology(Target{config.sentinels, config.master_names}, options);
  auto snapshot = topology.Fetch(redis::Clock::now() + config.timeout);
  auto groups = collectors::AnalyzeGroups(*snapshot);
  auto verdict = collectors::Judge(*snapshot, groups, config.max_lag_bytes);
  if (config.output == "json") {
    Json(out, *snapshot, groups, verdict);
  } else {
    Text(out, *snapshot, groups, verdict);
  }
  return verdict.status;
}

}  // namespace rse
