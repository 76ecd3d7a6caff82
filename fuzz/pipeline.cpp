// The whole pipeline without sockets: bytes -> the replies Sentinels and data nodes would send
// -> a Snapshot built by the exporter's discovery (exporter/discovery.cpp, through a transport
// that answers from the input) -> every collector, CollectReachability, AnalyzeGroups and
// Judge -> the rendered text, parsed back.
//
// Input layout:
//   byte 0  options: bit 0 named mode (configured master names aragora-master, other-master:
//           SENTINEL MASTER <name> instead of SENTINEL MASTERS); bit 1 CKQUORUM asked; bits
//           2-3 data node commands (PING; INFO replication; INFO; INFO with commandstats and
//           latencystats, CONFIG GET, SLOWLOG LEN and GET: every collector's needs); bit 4
//           a Sentinel password configured; bits 5-7 max lag for Judge
//   byte 1  bits 0-1: configured Sentinels - 1 (127.0.0.1:26379, :26380, ...); bits 2-4: the
//           cause given to a node whose replies ran out; bit 5: the last asked is served first
//           (replies out of order, as from nodes of different speeds)
//   rest    RESP replies, in the order discovery asks for them (see ReplayTransport): for
//           each Sentinel INFO sentinel, SENTINEL MYID, then SENTINEL MASTERS (or per configured
//           name SENTINEL MASTER, REPLICAS, SENTINELS[, CKQUORUM], GET-MASTER-ADDR-BY-NAME), then
//           per master REPLICAS, SENTINELS[, CKQUORUM], GET-MASTER-ADDR-BY-NAME; for each data
//           node its one reply. Sentinels and data nodes are asked
//           in discovery order (first named, first asked). Read by the lenient decoder, so
//           mutations that break framing still make replies. What is left once the first
//           snapshot is built makes a second scrape of the same target (failover counting),
//           which, as the exporter does, asks the first one's groups along with SENTINEL
//           MASTERS (REPLICAS, SENTINELS[, CKQUORUM], GET-MASTER-ADDR-BY-NAME per group, after
//           MASTERS' reply) and its Sentinels, then its data nodes, right after the configured
//           Sentinels' requests.
//
// Properties: no crash or sanitizer report; every family and label name valid; every label
// value valid UTF-8 (Prometheus refuses the whole scrape otherwise); no two series of a
// family with the same labels (when the replies keep Sentinel's invariants: see
// SentinelShaped); every data node in a snapshot named by a Sentinel that answered; every
// Sentinel configured, named by one in the snapshot, or naming a configured or previous one; the
// serialized text has one sample line per metric and no raw newline inside a sample; Judge's
// status matches its lists; the /status page has no markup but its own (every value a peer
// sent is escaped) and every box of its diagrams inside the canvas.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/check_names.h>

#include "collectors/registry.h"
#include "exporter/discovery.h"
#include "exporter/status_page.h"
#include "fuzz/common.h"
#include "model/health.h"
#include "model/parse.h"

using namespace rse::collectors;
using rse::redis::Address;
using rse::redis::Cause;
using rse::redis::Request;

namespace {

constexpr size_t kMaxSentinels = 8;
constexpr size_t kMaxRequests = 96;
const std::vector<std::string> kNames = {"aragora-master", "other-master"};
constexpr Cause kDownCauses[] = {Cause::kRefused, Cause::kTimeout, Cause::kAuth, Cause::kProtocol,
                                 Cause::kClosed,  Cause::kResolve, Cause::kIo};
constexpr Needs::DataInfo kDataInfo[] = {Needs::DataInfo::kNone, Needs::DataInfo::kReplication, Needs::DataInfo::kFull,
                                         Needs::DataInfo::kFull};

// Answers discovery's requests from the decoder, first asked, first served (last asked with
// layout bit 5): one reply per command. A node whose replies run out has failed with the
// layout's cause; requests beyond kMaxRequests end as timeouts, as at a deadline.
class ReplayTransport : public rse::Transport {
 public:
  ReplayTransport(rse::fuzz::LenientDecoder& in, Cause down_cause, bool lifo)
      : in_(in), down_cause_(down_cause), lifo_(lifo) {}

  void Ask(Kind, const Address&, const std::string&, bool, std::vector<std::vector<std::string>> commands,
           Callback done) override {
    FUZZ_CHECK(!commands.empty(), "a request without commands");
    queue_.push_back({std::move(commands), std::move(done)});
  }

  void Run() override {
    size_t served = 0;
    while (!queue_.empty()) {
      auto job = std::move(lifo_ ? queue_.back() : queue_.front());
      if (lifo_) {
        queue_.pop_back();
      } else {
        queue_.pop_front();
      }
      Request req;
      req.commands = std::move(job.commands);
      if (served++ >= kMaxRequests) {
        req.status = {Cause::kTimeout, "deadline"};
      } else {
        for (size_t i = 0; i < req.commands.size(); ++i) {
          if (in_.AtEnd()) {
            req.status = {down_cause_, "no reply"};
            req.replies.clear();
            break;
          }
          req.replies.push_back(in_.Next());
        }
      }
      job.done(req);
    }
  }

 private:
  struct Job {
    std::vector<std::vector<std::string>> commands;
    Callback done;
  };
  rse::fuzz::LenientDecoder& in_;
  const Cause down_cause_;
  const bool lifo_;
  std::deque<Job> queue_;
};

// One scrape of the target the options and layout describe, through the exporter's discovery.
std::shared_ptr<Snapshot> Fetch(rse::fuzz::LenientDecoder& in, std::uint8_t options, std::uint8_t layout,
                                const rse::Found& previous) {
  rse::Target target;
  const size_t configured = 1 + (layout & 3);
  for (size_t i = 0; i < configured; ++i) {
    target.sentinels.push_back(Address{"127.0.0.1", static_cast<std::uint16_t>(26379 + i)});
  }
  if (options & 1) target.master_names = kNames;
  rse::FetchOptions fetch;
  fetch.needs.ckquorum = options & 2;
  fetch.needs.data_info = kDataInfo[(options >> 2) & 3];
  if (((options >> 2) & 3) == 3) {
    for (const auto& spec : rse::collectors::AllCollectors()) fetch.needs.Merge(spec.needs);
  }
  if (options & 16) fetch.sentinel_credentials.password = "sentinel-secret";
  fetch.max_sentinels = kMaxSentinels;
  ReplayTransport transport(in, kDownCauses[((layout >> 2) & 7) % std::size(kDownCauses)], layout & 32);
  auto snap = rse::Discover(target, fetch, transport, previous);
  // The previous fetch's nodes only join a snapshot when a Sentinel of it names them again,
  // and its Sentinels when one of it names them, or they name a configured or previous one.
  std::set<rse::NodeKey> named;
  std::set<Address> peers, known(target.sentinels.begin(), target.sentinels.end());
  std::set<std::string> peer_ids, known_ids;
  for (const auto& s : previous.sentinels) {
    known.insert(s.address);
    if (!s.run_id.empty()) known_ids.insert(s.run_id);
  }
  const auto names_any = [](const rse::collectors::SentinelNode& s, const std::set<Address>& addrs,
                            const std::set<std::string>& ids) {
    for (const auto& view : s.masters) {
      if (!view.sentinels) continue;
      for (const auto& p : *view.sentinels) {
        if (auto a = rse::collectors::AddressOf(p); a && addrs.count(*a)) return true;
        if (auto id = Field(p, "runid"); id && ids.count(std::string(*id))) return true;
      }
    }
    return false;
  };
  for (const auto& s : snap->sentinels) {
    for (const auto& view : s.masters) {
      if (view.sentinels) {
        for (const auto& p : *view.sentinels) {
          if (auto a = rse::collectors::AddressOf(p)) peers.insert(*a);
          if (auto id = Field(p, "runid")) peer_ids.insert(std::string(*id));
        }
      }
      if (auto a = rse::collectors::AddressOf(view.master)) named.emplace(view.name, *a);
      if (!view.replicas) continue;
      for (const auto& r : *view.replicas) {
        if (auto a = rse::collectors::AddressOf(r)) named.emplace(view.name, *a);
      }
    }
  }
  for (const auto& n : snap->nodes) {
    FUZZ_CHECK(named.count({n.master_name, n.address}), "node %s of %s named by no Sentinel", n.label().c_str(),
               n.master_name.c_str());
  }
  for (const auto& s : snap->sentinels) {
    const bool configured = std::count(target.sentinels.begin(), target.sentinels.end(), s.address) > 0;
    FUZZ_CHECK(configured || peers.count(s.address) || peer_ids.count(s.run_id) || names_any(s, known, known_ids),
               "sentinel %s neither configured nor named, nor naming a known peer", s.label().c_str());
  }
  return snap;
}

// Whether the Sentinels' replies keep Sentinel's own invariants: master names distinct in
// SENTINEL MASTERS, replica and peer addresses distinct within one group (Sentinel keys them
// by name and by ip:port). Duplicate series are only the exporter's fault when they hold.
bool SentinelShaped(const Snapshot& snap) {
  for (const auto& s : snap.sentinels) {
    std::set<std::string> names;
    for (const auto& m : s.masters) {
      if (!names.insert(m.name).second) return false;
      for (const auto* list : {&m.replicas, &m.sentinels}) {
        if (!*list) continue;
        std::set<Address> seen;
        for (const auto& fields : **list) {
          auto addr = AddressOf(fields);
          if (addr && !seen.insert(*addr).second) return false;
        }
      }
    }
  }
  return true;
}

// Parses the rendered exposition back and checks what Prometheus would refuse: invalid names,
// a family twice, a sample outside its family's block, a label twice, invalid UTF-8, a raw
// newline in a label value, and (for Sentinel-shaped input) the same series twice.
std::string CheckExposition(const std::string& text, bool distinct_series) {
  std::set<std::string> names;
  std::string family;
  bool summary = false;
  std::set<std::vector<std::pair<std::string, std::string>>> series;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    FUZZ_CHECK(nl != std::string_view::npos, "text does not end in a newline");
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (line.starts_with("# HELP ")) {
      line.remove_prefix(7);
      auto space = line.find(' ');
      FUZZ_CHECK(space != std::string_view::npos && space + 1 < line.size(), "HELP without text");
      family = std::string(line.substr(0, space));
      FUZZ_CHECK(prometheus::CheckMetricName(family), "invalid metric name '%s'", family.c_str());
      FUZZ_CHECK(names.insert(family).second, "family '%s' twice", family.c_str());
      series.clear();
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      summary = line == "# TYPE " + family + " summary";
      FUZZ_CHECK(line == "# TYPE " + family + " gauge" || line == "# TYPE " + family + " counter" || summary,
                 "TYPE line out of place: %.*s", static_cast<int>(line.size()), line.data());
      continue;
    }
    const std::string shown = rse::fuzz::Printable(line);
    // A summary's samples: the family's name, or it with _sum or _count.
    size_t name_size = family.size();
    for (const char* suffix : {"_sum", "_count"}) {
      if (summary && line.starts_with(family + suffix)) name_size = family.size() + std::string_view(suffix).size();
    }
    FUZZ_CHECK(!family.empty() && line.starts_with(family) && line.size() > name_size &&
                   (line[name_size] == '{' || line[name_size] == ' '),
               "sample line outside its family: %s", shown.c_str());
    size_t i = name_size;
    std::vector<std::pair<std::string, std::string>> key;
    std::set<std::string> label_names;
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        FUZZ_CHECK(eq != std::string_view::npos && eq + 1 < line.size() && line[eq + 1] == '"', "bad label in %s",
                   shown.c_str());
        std::string name(line.substr(i, eq - i));
        FUZZ_CHECK(prometheus::CheckLabelName(name), "invalid label name '%s' in %s", name.c_str(), shown.c_str());
        FUZZ_CHECK(label_names.insert(name).second, "label '%s' twice in %s", name.c_str(), shown.c_str());
        std::string value;
        for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            ++i;
            FUZZ_CHECK(i < line.size() && (line[i] == '\\' || line[i] == '"' || line[i] == 'n'), "bad escape in %s",
                       shown.c_str());
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        FUZZ_CHECK(i < line.size(), "unterminated label value in %s", shown.c_str());
        FUZZ_CHECK(rse::fuzz::ValidUtf8(value), "label %s of %s is not valid UTF-8", name.c_str(), shown.c_str());
        key.emplace_back(std::move(name), std::move(value));
        ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
      FUZZ_CHECK(i < line.size(), "unterminated labels in %s", shown.c_str());
      ++i;
    }
    FUZZ_CHECK(i < line.size() && line[i] == ' ' && i + 1 < line.size(), "no value in %s", shown.c_str());
    std::sort(key.begin(), key.end());
    key.emplace_back("", std::string(line.substr(0, name_size)));
    FUZZ_CHECK(series.insert(key).second || !distinct_series, "duplicate series %s", shown.c_str());
  }
  return text;
}

// What an input makes: RSE_FUZZ_DEBUG=1 ./fuzz_pipeline FILE (printed before the checks).
void DumpSnapshot(const Snapshot& snap) {
  std::fprintf(stderr, "--- snapshot %s: %zu sentinels, %zu data nodes\n", snap.target.c_str(), snap.sentinels.size(),
               snap.nodes.size());
  for (const auto& s : snap.sentinels) {
    std::fprintf(stderr, "sentinel %s up=%d %s %s\n", s.label().c_str(), s.up(), rse::redis::CauseName(s.error.cause),
                 rse::fuzz::Printable(s.error.message).c_str());
    for (const auto& m : s.masters) {
      std::fprintf(
          stderr, "  master \"%s\" at %s:%s, %zu replicas, %zu peers, ckquorum %s\n",
          rse::fuzz::Printable(m.name).c_str(), rse::fuzz::Printable(Field(m.master, "ip").value_or("?")).c_str(),
          rse::fuzz::Printable(Field(m.master, "port").value_or("?")).c_str(), m.replicas ? m.replicas->size() : 0,
          m.sentinels ? m.sentinels->size() : 0, m.ckquorum ? (m.ckquorum->ok ? "ok" : "fails") : "-");
      if (m.replicas) {
        for (const auto& r : *m.replicas) {
          std::fprintf(stderr, "    replica %s:%s\n", rse::fuzz::Printable(Field(r, "ip").value_or("?")).c_str(),
                       rse::fuzz::Printable(Field(r, "port").value_or("?")).c_str());
        }
      }
    }
  }
  for (const auto& n : snap.nodes) {
    std::fprintf(stderr, "node %s %s up=%d %s %s\n", rse::fuzz::Printable(n.master_name).c_str(),
                 rse::fuzz::Printable(n.label()).c_str(), n.up(), rse::redis::CauseName(n.error.cause),
                 rse::fuzz::Printable(n.error.message).c_str());
  }
}

// The /status page of a snapshot: every '<' opens one of the page's own elements (so nothing a
// peer sent became markup), and each diagram's boxes lie inside its canvas.
void CheckStatusPage(const Snapshot& snap, const std::vector<GroupHealth>& groups, const EventState& state) {
  rse::StatusPageInput in;
  in.title = "fuzz";
  in.snapshot = &snap;
  in.groups = groups;
  in.events = state.Recent();
  in.now = 1.8e9;
  const std::string page = rse::RenderStatusPage(in);
  static const std::set<std::string, std::less<>> kTags = {
      "!DOCTYPE", "html",    "head",  "meta", "title", "style", "body", "h1",   "h2",  "p",    "a",    "ul",
      "li",       "section", "table", "tr",   "th",    "td",    "b",    "span", "svg", "rect", "line", "text"};
  double width = 0;
  for (std::size_t at = page.find('<'); at != std::string::npos; at = page.find('<', at + 1)) {
    std::size_t from = at + 1 + (page.compare(at + 1, 1, "/") == 0);
    std::size_t to = page.find_first_of(" >", from);
    FUZZ_CHECK(to != std::string::npos, "unterminated tag at %zu", at);
    const std::string_view tag(page.data() + from, to - from);
    FUZZ_CHECK(kTags.count(tag), "markup not the page's own: <%s", rse::fuzz::Printable(std::string(tag)).c_str());
    if (tag == "svg" && page[at + 1] != '/') {
      const auto vb = page.find("viewBox=\"0 0 ", at);
      FUZZ_CHECK(vb != std::string::npos, "svg without viewBox");
      width = std::strtod(page.c_str() + vb + 13, nullptr);
    } else if (tag == "rect") {
      const double x = std::strtod(page.c_str() + page.find("x=\"", at) + 3, nullptr);
      const double w = std::strtod(page.c_str() + page.find("width=\"", at) + 7, nullptr);
      FUZZ_CHECK(x >= 0 && x + w <= width + 1e-6, "box at %f, %f wide, outside a canvas %f wide", x, w, width);
    }
  }
}

// As the exporter's Topology does after a fetch: the agreed masters into the target's event
// state (failover counting), whose counts go with the snapshot.
void Scrape(Snapshot& snap, EventState& state, std::vector<std::unique_ptr<Collector>>& collectors, double max_lag) {
  state.ObserveAgreedMasters(AgreedMasters(AnalyzeGroups(snap)), 1.8e9, std::chrono::steady_clock::now());
  snap.events = std::make_shared<EventCounts>(state.Counts());
  const bool debug = std::getenv("RSE_FUZZ_DEBUG") != nullptr;
  if (debug) DumpSnapshot(snap);
  MetricSink sink;
  // The same collection streamed as the exporter streams it, each collector's families flushed
  // to an output: the same text, and no collector writes a family an earlier one flushed.
  std::string streamed_text;
  MetricSink streamed(nullptr, MetricSink::Mode::kRender, [&](std::string_view t) { streamed_text += t; });
  CollectReachability(snap, sink);
  CollectReachability(snap, streamed);
  std::vector<std::string> flush_problems;
  FlushCollector(streamed, flush_problems);
  for (auto& c : collectors) {
    std::vector<std::string> problems;
    c->Collect(snap, sink, problems);
    for (const auto& p : problems) FUZZ_CHECK(!p.empty(), "empty problem");
    c->Collect(snap, streamed, problems);
    FlushCollector(streamed, flush_problems);
  }
  FUZZ_CHECK(flush_problems.empty(), "streamed: %s", flush_problems.front().c_str());
  FUZZ_CHECK(streamed.Take().empty(), "streamed sink kept text after its last flush");
  const std::string text = CheckExposition(sink.Take(), SentinelShaped(snap));
  FUZZ_CHECK(streamed_text == text, "streamed body differs from the body rendered whole");

  auto groups = AnalyzeGroups(snap);
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    if (i > 0) FUZZ_CHECK(groups[i - 1].name < g.name, "groups not sorted and distinct");
    FUZZ_CHECK(g.agreed_votes <= g.sentinels_up, "more votes than Sentinels");
    FUZZ_CHECK(g.agreed_master.empty() == g.master_addresses.empty(), "agreed master without addresses");
    FUZZ_CHECK(static_cast<size_t>(g.replicas_linked) <= g.nodes.size(), "more linked replicas than nodes");
    FUZZ_CHECK(static_cast<size_t>(g.masters) <= g.nodes.size(), "more masters than nodes");
    for (const auto& n : g.nodes) {
      if (n.lag_bytes) FUZZ_CHECK(*n.lag_bytes >= 0 && std::isfinite(*n.lag_bytes), "lag %f", *n.lag_bytes);
    }
  }
  CheckStatusPage(snap, groups, state);
  auto verdict = Judge(snap, groups, max_lag);
  const int expected = !verdict.critical.empty() ? 2 : !verdict.degraded.empty() ? 1 : 0;
  FUZZ_CHECK(verdict.status == expected, "status %d, expected %d", verdict.status, expected);

  if (debug) {
    std::fprintf(stderr, "verdict %d\n", verdict.status);
    for (const auto& c : verdict.critical) std::fprintf(stderr, "  critical: %s\n", c.c_str());
    for (const auto& d : verdict.degraded) std::fprintf(stderr, "  degraded: %s\n", d.c_str());
    std::fprintf(stderr, "%s", text.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::uint8_t options = data[0];
  const std::uint8_t layout = data[1];
  const double max_lag = std::pow(10.0, (options >> 5) * 2);  // 1 .. 1e14
  rse::fuzz::LenientDecoder in(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2));

  std::vector<std::unique_ptr<Collector>> collectors;
  for (const auto& spec : AllCollectors()) {
    FUZZ_CHECK(FindCollector(spec.name) == &spec, "FindCollector(%.*s)", static_cast<int>(spec.name.size()),
               spec.name.data());
    collectors.push_back(spec.factory());
  }

  EventState state;
  auto first = Fetch(in, options, layout, {});
  Scrape(*first, state, collectors, max_lag);
  if (!in.AtEnd()) {
    auto second = Fetch(in, options, layout, rse::FoundIn(*first));
    Scrape(*second, state, collectors, max_lag);
  }
  return 0;
}
