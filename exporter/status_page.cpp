#include "exporter/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

namespace rse {
namespace {

using collectors::GroupHealth;
using collectors::RecordedEvent;

// Peers' names can be long; the diagram cuts them (the tables below show them whole), at a
// character boundary so UTF-8 stays valid.
std::string Cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max - 1;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "\xE2\x80\xA6";  // …
}

std::string E(std::string_view s) { return HtmlEscape(s); }

std::string Number(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Bytes(double b) {
  if (b < 1024) return Number(b) + " B";
  if (b < 1024 * 1024) return Number(b / 1024, 1) + " KiB";
  return Number(b / (1024 * 1024), 1) + " MiB";
}

std::string UtcTime(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Ago(double now, double then) {
  double s = std::max(0.0, now - then);
  if (s < 120) return Number(s) + " s ago";
  if (s < 7200) return Number(s / 60) + " min ago";
  return Number(s / 3600, 1) + " h ago";
}

// The latest failover's duration: from a Sentinel's +try-failover to its +failover-end.
std::optional<double> LastFailoverSeconds(const std::vector<RecordedEvent>& events, const std::string& group) {
  for (auto end = events.rbegin(); end != events.rend(); ++end) {
    if (end->event.type != "+failover-end" || end->event.master_name != group) continue;
    for (auto start = std::next(end); start != events.rend(); ++start) {
      if (start->event.type == "+try-failover" && start->event.master_name == group &&
          start->sentinel == end->sentinel) {
        return end->time - start->time;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

constexpr std::size_t kGroupEvents = 30;  // newest first; a failover alone makes about twenty

const char* kStyle =
    "body{font-family:sans-serif;margin:1em 2em;color:#222;background:#fafafa}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:0 0 .4em}"
    ".group{border:2px solid #888;border-radius:8px;padding:.6em 1em;margin:1em 0;background:#fff}"
    ".ok{color:#1a7f37}.bad{color:#c0262d;font-weight:bold}.warn{color:#9a6700;font-weight:bold}"
    "table{border-collapse:collapse;margin:.4em 0 .8em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;"
    "font-size:.9em}th{background:#eee}.muted{color:#666;font-size:.9em}svg{display:block;max-width:100%;height:auto}";

// A state as a word with an icon, coloured; the colour is never the only sign.
std::string State(bool good, std::string_view good_word, std::string_view bad_word) {
  return good ? "<span class=\"ok\">&#10003; " + E(good_word) + "</span>"
              : "<span class=\"bad\">&#10007; " + E(bad_word) + "</span>";
}

struct Box {
  double x, y, w, h;
  std::string fill, stroke;
  std::vector<std::string> lines;  // escaped already; the first in bold
};

void DrawBox(std::ostringstream& o, const Box& b) {
  o << "<rect x=\"" << b.x << "\" y=\"" << b.y << "\" width=\"" << b.w << "\" height=\"" << b.h << "\" rx=\"6\" fill=\""
    << b.fill << "\" stroke=\"" << b.stroke << "\" stroke-width=\"2\"/>";
  double y = b.y + 18;
  bool first = true;
  for (const auto& line : b.lines) {
    o << "<text x=\"" << b.x + 8 << "\" y=\"" << y << "\" font-size=\"13\"" << (first ? " font-weight=\"bold\"" : "")
      << ">" << line << "</text>";
    y += 17;
    first = false;
  }
}

// The diagram's geometry: rows of boxes centred across the canvas; the Sentinels on top, the
// agreed master below them, the other nodes at the bottom. The canvas is wide enough for the
// widest row (five Sentinels do not fit the default width); the page scales it to fit.
constexpr double kDiagramWidth = 1080, kBoxW = 250, kGap = 16;
constexpr double kRowH = 76, kBoxH = kRowH - 6;  // a box and the space under it
constexpr double kSentinelY = 8, kMasterY = 130, kReplicaY = 262;

struct Canvas {
  double width = kDiagramWidth;

  explicit Canvas(std::size_t widest) { width = std::max(kDiagramWidth, RowWidth(widest) + 2 * kGap); }
  static double RowWidth(std::size_t count) {
    return static_cast<double>(count) * kBoxW + static_cast<double>(count ? count - 1 : 0) * kGap;
  }
  // The left edge of box i of a row of `count` boxes.
  double RowX(std::size_t count, std::size_t i) const {
    return (width - RowWidth(count)) / 2 + static_cast<double>(i) * (kBoxW + kGap);
  }
  double MasterX() const { return (width - kBoxW) / 2; }
};

// A Sentinel seen only in its peers' lists: it does not answer, or does not monitor the group.
struct MissingSentinel {
  std::string addr;
  std::string down_cause;  // why it does not answer (redis::CauseName); "" when it answers
};

// Each Sentinel: whom it names, whether that is the agreed master (then an arrow to it),
// TILT and its failover state; and those its peers list that are down or do not monitor the
// group. In address order, so that a Sentinel keeps its place when it goes down and the page
// reloads.
void DrawSentinels(std::ostringstream& o, const Canvas& c, const GroupHealth& g,
                   const std::vector<MissingSentinel>& missing) {
  struct Slot {
    const std::string* addr;
    const GroupHealth::SentinelView* answering;  // else missing
    const MissingSentinel* gone;
  };
  std::vector<Slot> slots;
  for (const auto& s : g.sentinels) slots.push_back({&s.sentinel, &s, nullptr});
  for (const auto& m : missing) slots.push_back({&m.addr, nullptr, &m});
  std::stable_sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) { return *a.addr < *b.addr; });
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const double x = c.RowX(slots.size(), i);
    std::vector<std::string> lines{"Sentinel " + E(Cut(*slots[i].addr, 26))};
    if (const auto* m = slots[i].gone) {
      if (m->down_cause.empty()) {
        lines.insert(lines.end(), {"&#10007; does NOT monitor", "this group (peers count it)"});
      } else {
        lines.insert(lines.end(),
                     {"&#10007; DOWN (" + E(Cut(m->down_cause, 20)) + ")", "its peers count it as a voter"});
      }
      DrawBox(o, {x, kSentinelY, kBoxW, kBoxH, "#ffebe9", "#c0262d", std::move(lines)});
      continue;
    }
    const auto& s = *slots[i].answering;
    const bool agrees = !g.agreed_master.empty() && s.master_address == g.agreed_master;
    if (agrees) {
      o << "<line x1=\"" << x + kBoxW / 2 << "\" y1=\"" << kSentinelY + kBoxH << "\" x2=\"" << c.MasterX() + kBoxW / 2
        << "\" y2=\"" << kMasterY << "\" stroke=\"#8c959f\" stroke-width=\"1.5\"/>";
    }
    lines.push_back("names " + E(Cut(s.master_address.empty() ? "(none)" : s.master_address, 26)));
    lines.push_back(agrees ? "&#10003; agrees" : "&#10007; DISAGREES");
    if (s.tilt) lines.back() += ", &#9888; TILT";
    if (s.failover_state != "none" && !s.failover_state.empty())
      lines.back() += ", failover: " + E(Cut(s.failover_state, 16));
    DrawBox(o, {x, kSentinelY, kBoxW, kBoxH, agrees ? "#eef6ff" : "#ffebe9", agrees ? "#0969da" : "#c0262d",
                std::move(lines)});
  }
}

// A data node's box text: address, role and up/down, then its link to the master (a
// replica), why it is down, or how many replicas it has (the master).
std::vector<std::string> NodeLines(const GroupHealth& g, const GroupHealth::Node& n, bool is_master) {
  std::string role = n.role.empty() ? "unknown role" : n.role;
  std::vector<std::string> lines{E(Cut(n.addr, 30)), (is_master ? "MASTER (agreed)" : "role: " + E(Cut(role, 20))) +
                                                         (n.up ? " &#10003; up" : " &#10007; DOWN")};
  if (!is_master && n.link_up) {
    std::string l = *n.link_up ? "link up" : "&#10007; link DOWN";
    if (n.lag_bytes) l += ", lag " + Bytes(*n.lag_bytes);
    if (n.last_io_seconds) l += ", I/O " + Number(*n.last_io_seconds) + " s ago";
    lines.push_back(l);
  } else if (!n.up && !n.cause.empty()) {
    lines.push_back(E(Cut(n.cause, 34)));
  } else if (is_master) {
    std::string l = std::to_string(g.replicas_linked) + " replicas linked";
    if (g.replicas_promotable < g.replicas_linked) {
      l += ", &#10007; " + std::to_string(g.replicas_promotable) + " promotable";
    }
    lines.push_back(l);
  }
  return lines;
}

// The agreed master's box, or a box saying there is none.
void DrawMaster(std::ostringstream& o, const Canvas& c, const GroupHealth& g, const GroupHealth::Node* master) {
  if (master) {
    DrawBox(o, {c.MasterX(), kMasterY, kBoxW, kBoxH, master->up ? "#dafbe1" : "#ffebe9",
                master->up ? "#1a7f37" : "#c0262d", NodeLines(g, *master, true)});
  } else {
    DrawBox(o, {c.MasterX(),
                kMasterY,
                kBoxW,
                kBoxH,
                "#ffebe9",
                "#c0262d",
                {"&#10007; NO AGREED MASTER", E(Cut(g.agreed_master, 30))}});
  }
}

// The other data nodes; a line from the master to each that follows it, dashed where the
// link is down.
void DrawReplicas(std::ostringstream& o, const Canvas& c, const GroupHealth& g,
                  const std::vector<const GroupHealth::Node*>& others) {
  for (std::size_t i = 0; i < others.size(); ++i) {
    const auto& n = *others[i];
    const double x = c.RowX(others.size(), i);
    const bool linked = n.link_up.value_or(false);
    if (n.follows == g.agreed_master) {
      o << "<line x1=\"" << c.MasterX() + kBoxW / 2 << "\" y1=\"" << kMasterY + kBoxH << "\" x2=\"" << x + kBoxW / 2
        << "\" y2=\"" << kReplicaY << "\" stroke=\"" << (linked ? "#1a7f37" : "#c0262d") << "\" stroke-width=\"2\""
        << (linked ? "" : " stroke-dasharray=\"6 4\"") << "/>";
    }
    const bool good = n.up && (n.role != "replica" || linked);
    DrawBox(o, {x, kReplicaY, kBoxW, kBoxH, good ? "#f6f8fa" : "#ffebe9", good ? "#57606a" : "#c0262d",
                NodeLines(g, n, false)});
  }
}

void Diagram(std::ostringstream& o, const GroupHealth& g, const std::vector<MissingSentinel>& missing) {
  const GroupHealth::Node* master = nullptr;
  std::vector<const GroupHealth::Node*> others;
  for (const auto& n : g.nodes) {
    if (!master && n.addr == g.agreed_master)
      master = &n;
    else
      others.push_back(&n);
  }
  const Canvas c(std::max(g.sentinels.size() + missing.size(), others.size()));
  const double height = kReplicaY + (others.empty() ? 0 : kRowH) + 12;
  // width 100% with height auto keeps the proportions when the page scales a wide canvas down.
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << c.width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << c.width << " " << height << "\" role=\"img\" aria-label=\"topology diagram\">";
  DrawSentinels(o, c, g, missing);
  DrawMaster(o, c, g, master);
  DrawReplicas(o, c, g, others);
  o << "</svg>";
}

// The group's one-line verdict: the agreed master and its votes, agreement, the master's state,
// quorum and epoch, and whether enough Sentinels answer to fail over.
void Summary(std::ostringstream& o, const GroupHealth& g) {
  o << "<p>Agreed master: <b>" << (g.agreed_master.empty() ? "none" : E(g.agreed_master)) << "</b> (named by "
    << g.agreed_votes << " of " << g.sentinels_up << " answering Sentinels";
  if (g.sentinels_known) o << "; " << Number(*g.sentinels_known) << " known";
  o << ") &mdash; " << State(g.SentinelsAgree(), "Sentinels agree", "Sentinels DISAGREE") << " &mdash; "
    << State(g.master_up, "master up", "master DOWN") << " &mdash; quorum "
    << (g.quorum ? Number(*g.quorum) : std::string("unknown"));
  if (g.config_epoch) o << ", config epoch " << Number(*g.config_epoch);
  if (auto needed = g.SentinelsNeeded()) {
    o << " &mdash; "
      << State(g.EnoughSentinels(), "enough Sentinels answer to fail over",
               "too few Sentinels answer to fail over (" + Number(*needed) + " needed)");
  }
  o << "</p>";
}

// The Sentinels its peers list that do not count for the group: down (with why), then those
// that answer without monitoring it.
std::vector<MissingSentinel> Missing(const collectors::Snapshot& snap, const GroupHealth& g) {
  std::vector<MissingSentinel> missing;
  for (const auto& addr : g.sentinels_down) {
    std::string cause = "not answering";
    for (const auto& s : snap.sentinels) {
      if (s.label() == addr) cause = redis::CauseName(s.error.cause);
    }
    missing.push_back({addr, cause});
  }
  for (const auto& addr : g.sentinels_not_monitoring) missing.push_back({addr, ""});
  return missing;
}

void SentinelTable(std::ostringstream& o, const GroupHealth& g, const std::vector<MissingSentinel>& missing) {
  o << "<table><tr><th>Sentinel</th><th>names master</th><th>agrees</th><th>master flags</th><th>CKQUORUM</th>"
       "<th>failover state</th></tr>";
  for (const auto& s : g.sentinels) {
    const bool agrees = !g.agreed_master.empty() && s.master_address == g.agreed_master;
    o << "<tr><td>" << E(s.sentinel) << "</td><td>" << E(s.master_address) << "</td><td>"
      << State(agrees, "agrees", "disagrees") << (s.tilt ? " <span class=\"warn\">&#9888; TILT</span>" : "")
      << "</td><td>" << State(s.master_ok, "ok", "not ok") << "</td><td>"
      << (s.ckquorum_ok ? State(*s.ckquorum_ok, "OK", "NOQUORUM") : std::string("not asked")) << "</td><td>"
      << E(s.failover_state.empty() ? "unknown" : s.failover_state) << "</td></tr>";
  }
  for (const auto& m : missing) {
    o << "<tr><td>" << E(m.addr) << "</td><td colspan=\"5\">";
    if (m.down_cause.empty()) {
      o << State(false, "", "does not monitor this group")
        << " &mdash; it answers, and its peers still count it as a voter for failover</td></tr>";
    } else {
      o << State(false, "", "DOWN") << " (" << E(m.down_cause)
        << ") &mdash; its peers still count it as a voter for failover</td></tr>";
    }
  }
  o << "</table>";
}

void NodeTable(std::ostringstream& o, const GroupHealth& g) {
  o << "<table><tr><th>node</th><th>role</th><th>state</th><th>follows</th><th>link</th><th>lag (bytes)</th>"
       "<th>last I/O from master</th></tr>";
  for (const auto& n : g.nodes) {
    o << "<tr><td>" << E(n.addr) << "</td><td>" << E(n.role.empty() ? "unknown" : n.role)
      << (n.addr == g.agreed_master ? " (agreed master)" : "") << "</td><td>"
      << (n.up ? State(true, "up", "") : State(false, "", "down: " + n.cause)) << "</td><td>" << E(n.follows)
      << "</td><td>" << (n.link_up ? State(*n.link_up, "link up", "link down") : std::string("&mdash;")) << "</td><td>"
      << (n.lag_bytes ? Number(*n.lag_bytes) : std::string("&mdash;")) << "</td><td>"
      << (n.last_io_seconds ? Number(*n.last_io_seconds) + " s" : std::string("&mdash;")) << "</td></tr>";
  }
  o << "</table>";
}

// The last failover the exporter saw, and the group's recent Sentinel events, newest first.
void History(std::ostringstream& o, const collectors::Snapshot& snap, const GroupHealth& g,
             const std::vector<RecordedEvent>& events, double now) {
  o << "<p>Last failover: ";
  const collectors::FailoverStats* stats = nullptr;
  if (snap.events) {
    if (auto it = snap.events->failovers.find(g.name); it != snap.events->failovers.end()) stats = &it->second;
  }
  if (stats && stats->last_time > 0) {
    o << UtcTime(stats->last_time) << " (" << Ago(now, stats->last_time) << ")";
    if (auto d = LastFailoverSeconds(events, g.name)) o << ", took " << Number(*d, 1) << " s";
    o << "; " << Number(stats->failovers) << " since the exporter started";
  } else {
    o << "none seen since the exporter started";
  }
  o << "</p>";

  std::vector<const RecordedEvent*> mine;
  for (auto it = events.rbegin(); it != events.rend() && mine.size() < kGroupEvents; ++it) {
    if (it->event.master_name == g.name) mine.push_back(&*it);
  }
  if (mine.empty()) {
    o << "<p class=\"muted\">No Sentinel events for this group yet.</p>";
    return;
  }
  o << "<table><tr><th>time</th><th>Sentinel</th><th>event</th><th>payload</th></tr>";
  for (const auto* r : mine) {
    o << "<tr><td>" << UtcTime(r->time) << "</td><td>" << E(r->sentinel) << "</td><td>" << E(r->event.type)
      << "</td><td>" << E(r->event.payload) << "</td></tr>";
  }
  o << "</table>";
}

void Group(std::ostringstream& o, const collectors::Snapshot& snap, const GroupHealth& g,
           const std::vector<RecordedEvent>& events, double now) {
  o << "<section class=\"group\"><h2>Master group " << E(g.name) << "</h2>";
  if (!g.Monitored()) {
    o << "<p>" << State(false, "", "No Sentinel that answered monitors this group")
      << " &mdash; nothing fails it over. A misspelt name, or Sentinels that lost their configuration.</p></section>";
    return;
  }
  Summary(o, g);
  const std::vector<MissingSentinel> missing = Missing(snap, g);
  Diagram(o, g, missing);
  SentinelTable(o, g, missing);
  NodeTable(o, g);
  History(o, snap, g, events, now);
  o << "</section>";
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderStatusPage(const StatusPageInput& in) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"refresh\" content=\"" << in.refresh_seconds << "\">"
    << "<title>Status: " << E(in.title) << "</title><style>" << kStyle << "</style></head><body>"
    << "<h1>Redis Sentinel topology: " << E(in.title) << "</h1><p class=\"muted\">Fetched " << UtcTime(in.now)
    << "; this page reloads every " << in.refresh_seconds << " s. <a href=\"/\">Home</a></p>";
  if (!in.snapshot) {
    o << "<p>No topology configured (no --sentinel.addr): nothing to show.</p></body></html>\n";
    return o.str();
  }
  const auto& snap = *in.snapshot;
  std::vector<const collectors::SentinelNode*> down;
  for (const auto& s : snap.sentinels) {
    if (!s.up()) down.push_back(&s);
  }
  if (!down.empty()) {
    o << "<p>Sentinels not answering:</p><ul>";
    for (const auto* s : down) {
      o << "<li>" << State(false, "", "DOWN") << " " << E(s->label()) << ": " << E(s->error.message) << "</li>";
    }
    o << "</ul>";
  }
  if (in.groups.empty()) o << "<p class=\"bad\">&#10007; No Sentinel reported a master group.</p>";
  for (const auto& g : in.groups) Group(o, snap, g, in.events, in.now);
  o << "</body></html>\n";
  return o.str();
}

}  // namespace rse
