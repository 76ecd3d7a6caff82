#include "exporter/check.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "exporter/exporter.h"
#include "exporter/log.h"
#include "exporter/topology.h"
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

void Text(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict) {
  std::string upper = StatusWord(verdict.status);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out << "Sentinel topology: " << upper << " (exit " << verdict.status << ")\n\nSentinels\n";
  for (const auto& s : snap.sentinels) {
    out << "  " << std::left << std::setw(24) << s.label()
        << (s.up() ? "up" : std::string("DOWN  ") + redis::CauseName(s.error.cause) + ": " + s.error.message) << "\n";
  }
  for (const auto& g : groups) {
    out << "\nMaster group " << g.name << ": master " << (g.agreed_master.empty() ? "?" : g.agreed_master)
        << ", named by " << g.agreed_votes << " of " << g.sentinels_up << " Sentinels, quorum " << Opt(g.quorum)
        << ", config epoch " << Opt(g.config_epoch) << "\n";
    for (const auto& s : g.sentinels) {
      out << "  sentinel " << std::left << std::setw(24) << s.sentinel << "names " << std::setw(22) << s.master_address
          << (s.master_ok ? "flags ok" : "flags NOT ok");
      if (s.ckquorum_ok) out << (*s.ckquorum_ok ? "   ckquorum ok" : "   CKQUORUM FAILS");
      if (s.tilt) out << "   TILT";
      if (s.failover_state != "none") out << "   failover " << (s.failover_state.empty() ? "?" : s.failover_state);
      out << "\n";
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
}

// The schema is documented in docs/check-json.md; scripts read it with jq. Every key is
// always present (null when it does not apply); fields are only ever added, and a change
// that breaks a reader bumps kCheckJsonSchema.
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

void Json(std::ostream& out, const collectors::Snapshot& snap, const std::vector<GroupHealth>& groups,
          const collectors::Verdict& verdict) {
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
  for (const auto& g : groups) {
    J group;
    group["master_name"] = g.name;
    group["master"] = OrNull(g.agreed_master);
    group["master_votes"] = g.agreed_votes;
    group["master_up"] = g.master_up;
    group["sentinels_agree"] = g.SentinelsAgree();
    group["master_addresses"] = g.master_addresses;
    group["sentinels_up"] = g.sentinels_up;
    group["quorum"] = OrNull(g.quorum);
    group["config_epoch"] = OrNull(g.config_epoch);
    group["masters"] = g.masters;
    group["replicas_linked"] = g.replicas_linked;
    group["replicas_known"] = OrNull(g.replicas_known);
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
    doc["groups"].push_back(std::move(group));
  }
  // Invalid UTF-8 from a peer (an error text) is replaced, never a reason to throw.
  out << doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace

int RunCheck(const Config& config, std::ostream& out) {
  FetchOptions options = FetchOptionsFrom(config);
  options.needs.data_info = collectors::Needs::DataInfo::kReplication;
  options.needs.ckquorum = true;
  Topology topology(Target{config.sentinels, config.master_names}, options);
  auto snapshot = topology.Fetch(redis::Clock::now() + config.timeout);
  const auto groups = snapshot->groups ? *snapshot->groups : collectors::AnalyzeGroups(*snapshot);
  auto verdict = collectors::Judge(*snapshot, groups, config.max_lag_bytes);
  if (config.output == "json") {
    Json(out, *snapshot, groups, verdict);
  } else {
    Text(out, *snapshot, groups, verdict);
  }
  return verdict.status;
}

}  // namespace rse
