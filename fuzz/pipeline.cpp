// The whole pipeline without sockets: bytes -> the replies Sentinels and data nodes would send
// -> a Snapshot built the way exporter/scrape.cpp's discovery builds it -> every collector,
// CollectReachability, AnalyzeGroups and Judge -> prometheus::TextSerializer.
//
// Input layout:
//   byte 0  options: bit 0 named mode (SENTINEL MASTER <name> for configured names instead of
//           SENTINEL MASTERS); bit 1 CKQUORUM asked; bits 2-3 data node command (PING, INFO
//           replication, INFO); bit 4 lax (skip the exporter's "is this a Sentinel / a data
//           node" checks, so collectors see anything); bits 5-7 max lag for Judge
//   byte 1  bits 0-1: configured Sentinels - 1 (127.0.0.1:26379, :26380, ...); bits 2-4: the
//           cause given to a node whose replies ran out
//   rest    RESP replies, in the order discovery asks for them (see Fetcher): for each Sentinel
//           INFO sentinel, SENTINEL MYID, then SENTINEL MASTERS (or per configured name SENTINEL
//           MASTER, REPLICAS, SENTINELS[, CKQUORUM]), then per master REPLICAS, SENTINELS
//           [, CKQUORUM]; for each data node its one reply. Sentinels and data nodes are asked
//           in discovery order (first named, first asked). Read by the lenient decoder, so
//           mutations that break framing still make replies. What is left once the first
//           snapshot is built makes a second scrape of the same target (failover counting).
//
// Properties: no crash or sanitizer report; every family and label name valid; every label
// value valid UTF-8 (Prometheus refuses the whole scrape otherwise); no two series of a
// family with the same labels (when the replies keep Sentinel's invariants: see
// SentinelShaped); the serialized text has one sample line per metric and no raw newline
// inside a sample; Judge's status matches its lists.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <prometheus/check_names.h>

#include "collectors/health.h"
#include "collectors/registry.h"
#include "fuzz/common.h"

using namespace rse::collectors;
using rse::redis::Address;
using rse::redis::Cause;
using rse::redis::Reply;
using rse::redis::Status;

namespace {

constexpr size_t kMaxSentinels = 8;
constexpr size_t kMaxNodes = 48;
constexpr size_t kMaxRequests = 96;
const std::vector<std::string> kNames = {"aragora-master", "other-master"};
constexpr Cause kDownCauses[] = {Cause::kRefused, Cause::kTimeout, Cause::kAuth, Cause::kProtocol,
                                 Cause::kClosed,  Cause::kResolve, Cause::kIo};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

Status ReplyStatus(const Reply& reply, std::string_view command) {
  Cause cause = StartsWith(reply.str, "NOPERM") ? Cause::kAuth : Cause::kProtocol;
  return {cause, std::string(command) + " failed: " + reply.str};
}

// Mirrors the discovery in exporter/scrape.cpp (anonymous there), replies coming from a
// decoder instead of sockets, requests served first come, first served.
class Fetcher {
 public:
  Fetcher(rse::fuzz::LenientDecoder& in, std::uint8_t options, std::uint8_t layout)
      : in_(in),
        named_(options & 1),
        ckquorum_(options & 2),
        data_level_((options >> 2) & 3),
        lax_(options & 16),
        down_cause_(kDownCauses[((layout >> 2) & 7) % std::size(kDownCauses)]),
        configured_(1 + (layout & 3)) {}

  std::shared_ptr<Snapshot> Run() {
    for (size_t i = 0; i < configured_; ++i) {
      AskSentinel(Address{"127.0.0.1", static_cast<std::uint16_t>(26379 + i)});
    }
    size_t served = 0;
    while (!queue_.empty() && served++ < kMaxRequests) {
      auto job = std::move(queue_.front());
      queue_.pop_front();
      job();
    }
    // Requests never served (over the cap) end as timeouts, as at a deadline.
    while (!queue_.empty()) {
      auto job = std::move(queue_.front());
      queue_.pop_front();
      timed_out_ = true;
      job();
    }
    auto snap = std::make_shared<Snapshot>();
    for (auto& s : sentinels_) {
      if (!s.duplicate) snap->sentinels.push_back(std::move(s.node));
    }
    snap->nodes.assign(std::make_move_iterator(nodes_.begin()), std::make_move_iterator(nodes_.end()));
    std::sort(snap->sentinels.begin(), snap->sentinels.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
    std::sort(snap->nodes.begin(), snap->nodes.end(), [](const auto& a, const auto& b) {
      return std::tie(a.master_name, a.address) < std::tie(b.master_name, b.address);
    });
    for (size_t i = 0; i < configured_; ++i) snap->target += "127.0.0.1:" + std::to_string(26379 + i) + ",";
    if (named_) {
      for (const auto& m : kNames) snap->target += "/" + m;
    }
    snap->notes = std::move(notes_);
    return snap;
  }

 private:
  struct Asked {
    SentinelNode node;
    bool duplicate = false;
  };

  // n replies, or a failed status when the input runs out first (a node that did not answer).
  Status Take(size_t n, std::vector<Reply>& out) {
    if (timed_out_) return {Cause::kTimeout, "deadline"};
    for (size_t i = 0; i < n; ++i) {
      if (in_.AtEnd()) return {down_cause_, "no reply"};
      out.push_back(in_.Next());
    }
    return {};
  }

  size_t GroupCommands() const { return ckquorum_ ? 3 : 2; }

  Status ReadGroupReplies(const std::vector<Reply>& replies, size_t& i, MasterView& view) {
    auto replicas = ParseFieldArrays(replies[i]);
    if (replicas.ok()) {
      view.replicas = std::move(replicas.value);
    } else if (!replies[i].IsError()) {
      return {Cause::kProtocol, "unexpected reply to SENTINEL REPLICAS: " + replicas.error};
    }
    ++i;
    auto sentinels = ParseFieldArrays(replies[i]);
    if (sentinels.ok()) {
      view.sentinels = std::move(sentinels.value);
    } else if (!replies[i].IsError()) {
      return {Cause::kProtocol, "unexpected reply to SENTINEL SENTINELS: " + sentinels.error};
    }
    ++i;
    if (ckquorum_) {
      auto ck = ParseCkquorum(replies[i]);
      if (ck.ok()) {
        view.ckquorum = ck.value;
      } else if (!replies[i].IsError()) {
        return {Cause::kProtocol, "unexpected reply to SENTINEL CKQUORUM: " + ck.error};
      }
      ++i;
    }
    return {};
  }

  void AskSentinel(const Address& addr) {
    if (!known_sentinels_.insert(addr).second) return;
    if (known_sentinels_.size() > kMaxSentinels) return;
    Asked& asked = sentinels_.emplace_back();
    asked.node.address = addr;
    asked.node.label = addr.ToString();
    queue_.push_back([this, &asked] {
      std::vector<Reply> rs;
      const size_t n = 2 + (named_ ? kNames.size() * (1 + GroupCommands()) : 1);
      asked.node.error = Take(n, rs);
      OnSentinelReply(asked, rs);
    });
  }

  void OnSentinelReply(Asked& asked, const std::vector<Reply>& rs) {
    SentinelNode& node = asked.node;
    if (node.error.ok()) ReadSentinelReplies(asked, rs);
    if (asked.duplicate) return;
    if (node.error.ok() && !named_ && !node.masters.empty()) {
      queue_.push_back([this, &node] {
        std::vector<Reply> r;
        node.error = Take(node.masters.size() * GroupCommands(), r);
        size_t i = 0;
        for (auto& view : node.masters) {
          if (!node.error.ok()) break;
          node.error = ReadGroupReplies(r, i, view);
        }
        SentinelDone(node);
      });
      return;
    }
    SentinelDone(node);
  }

  void ReadSentinelReplies(Asked& asked, const std::vector<Reply>& rs) {
    SentinelNode& node = asked.node;
    if (!rs[0].IsText()) {
      node.error = rs[0].IsError() ? ReplyStatus(rs[0], "INFO sentinel")
                                   : Status{Cause::kProtocol, "unexpected reply to INFO"};
      return;
    }
    node.info = ParseInfo(rs[0].str);
    if (!lax_ && !Field(node.info, "sentinel_masters")) {
      node.error = {Cause::kProtocol, "not a Sentinel"};
      return;
    }
    if (rs[1].type == Reply::Type::kString && !ids_.insert(rs[1].str).second) {
      asked.duplicate = true;
      return;
    }
    if (!named_) {
      auto masters = ParseFieldArrays(rs[2]);
      if (!masters.ok()) {
        node.error = rs[2].IsError() ? ReplyStatus(rs[2], "SENTINEL MASTERS")
                                     : Status{Cause::kProtocol, "unexpected reply to SENTINEL MASTERS: " +
                                                                    masters.error};
        return;
      }
      for (auto& m : *masters.value) {
        MasterView view;
        view.name = std::string(Field(m, "name").value_or(""));
        view.master = std::move(m);
        if (!view.name.empty()) node.masters.push_back(std::move(view));
      }
      return;
    }
    size_t i = 2;
    for (const auto& name : kNames) {
      auto master = ParseFieldArray(rs[i++]);
      if (!master.ok()) {
        if (!rs[i - 1].IsError()) {
          node.error = {Cause::kProtocol, "unexpected reply to SENTINEL MASTER: " + master.error};
          return;
        }
        notes_.push_back({"sentinel " + node.label + " master " + name, "unknown master: " + master.error});
        i += GroupCommands();
        continue;
      }
      MasterView view;
      view.name = name;
      view.master = std::move(*master.value);
      node.error = ReadGroupReplies(rs, i, view);
      if (!node.error.ok()) return;
      node.masters.push_back(std::move(view));
    }
  }

  void SentinelDone(SentinelNode& node) {
    node.up = node.error.ok();
    if (!node.up) {
      node.masters.clear();
      return;
    }
    for (const auto& view : node.masters) {
      AskDataNode(view.name, AddressOf(view.master));
      if (view.replicas) {
        for (const auto& r : *view.replicas) AskDataNode(view.name, AddressOf(r));
      }
    }
    for (const auto& view : node.masters) {
      if (!view.sentinels) continue;
      for (const auto& peer : *view.sentinels) {
        auto addr = AddressOf(peer);
        if (!addr) continue;
        if (auto id = Field(peer, "runid"); id && ids_.count(std::string(*id))) continue;
        AskSentinel(*addr);
      }
    }
  }

  void AskDataNode(const std::string& group, const std::optional<Address>& addr) {
    if (!addr || !known_nodes_.insert({group, *addr}).second) return;
    if (nodes_.size() >= kMaxNodes) return;
    DataNode& node = nodes_.emplace_back();
    node.master_name = group;
    node.address = *addr;
    node.label = addr->ToString();
    queue_.push_back([this, &node] {
      std::vector<Reply> rs;
      node.error = Take(1, rs);
      if (node.error.ok()) OnDataReply(node, rs[0]);
      node.up = node.error.ok();
    });
  }

  void OnDataReply(DataNode& node, const Reply& reply) {
    const std::string command = data_level_ == 0 ? "PING" : "INFO";
    if (reply.IsError()) {
      node.error = ReplyStatus(reply, command);
    } else if (!reply.IsText()) {
      node.error = {Cause::kProtocol, std::string("unexpected ") + rse::redis::TypeName(reply.type) + " reply"};
    } else if (command == "INFO") {
      node.info = ParseInfo(reply.str);
      if (!lax_ && (Field(node.info, "redis_mode") == std::optional<std::string_view>("sentinel") ||
                    !Field(node.info, "role"))) {
        node.error = {Cause::kProtocol, "not a Redis data node"};
        node.info.clear();
      }
    }
  }

  rse::fuzz::LenientDecoder& in_;
  const bool named_;
  const bool ckquorum_;
  const int data_level_;
  const bool lax_;
  const Cause down_cause_;
  const size_t configured_;
  bool timed_out_ = false;
  std::deque<std::function<void()>> queue_;
  std::deque<Asked> sentinels_;
  std::deque<DataNode> nodes_;
  std::set<Address> known_sentinels_;
  std::set<std::pair<std::string, Address>> known_nodes_;
  std::set<std::string> ids_;
  std::vector<std::pair<std::string, std::string>> notes_;
};

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
  std::set<std::vector<std::pair<std::string, std::string>>> series;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    FUZZ_CHECK(nl != std::string_view::npos, "text does not end in a newline");
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (StartsWith(line, "# HELP ")) {
      line.remove_prefix(7);
      auto space = line.find(' ');
      FUZZ_CHECK(space != std::string_view::npos && space + 1 < line.size(), "HELP without text");
      family = std::string(line.substr(0, space));
      FUZZ_CHECK(prometheus::CheckMetricName(family), "invalid metric name '%s'", family.c_str());
      FUZZ_CHECK(names.insert(family).second, "family '%s' twice", family.c_str());
      series.clear();
      continue;
    }
    if (StartsWith(line, "# TYPE ")) {
      FUZZ_CHECK(line == "# TYPE " + family + " gauge" || line == "# TYPE " + family + " counter",
                 "TYPE line out of place: %.*s", static_cast<int>(line.size()), line.data());
      continue;
    }
    const std::string shown = rse::fuzz::Printable(line);
    FUZZ_CHECK(!family.empty() && StartsWith(line, family) && line.size() > family.size() &&
                   (line[family.size()] == '{' || line[family.size()] == ' '),
               "sample line outside its family: %s", shown.c_str());
    size_t i = family.size();
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
    FUZZ_CHECK(series.insert(key).second || !distinct_series, "duplicate series %s", shown.c_str());
  }
  return text;
}

// What an input makes: RSE_FUZZ_DEBUG=1 ./fuzz_pipeline FILE (printed before the checks).
void DumpSnapshot(const Snapshot& snap) {
  std::fprintf(stderr, "--- snapshot %s: %zu sentinels, %zu data nodes\n", snap.target.c_str(), snap.sentinels.size(),
               snap.nodes.size());
  for (const auto& s : snap.sentinels) {
    std::fprintf(stderr, "sentinel %s up=%d %s %s\n", s.label.c_str(), s.up, rse::redis::CauseName(s.error.cause),
                 rse::fuzz::Printable(s.error.message).c_str());
    for (const auto& m : s.masters) {
      std::fprintf(stderr, "  master \"%s\" at %s:%s, %zu replicas, %zu peers, ckquorum %s\n",
                   rse::fuzz::Printable(m.name).c_str(), rse::fuzz::Printable(Field(m.master, "ip").value_or("?")).c_str(),
                   rse::fuzz::Printable(Field(m.master, "port").value_or("?")).c_str(),
                   m.replicas ? m.replicas->size() : 0, m.sentinels ? m.sentinels->size() : 0,
                   m.ckquorum ? (m.ckquorum->ok ? "ok" : "fails") : "-");
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
                 rse::fuzz::Printable(n.label).c_str(), n.up, rse::redis::CauseName(n.error.cause),
                 rse::fuzz::Printable(n.error.message).c_str());
  }
}

void Scrape(const Snapshot& snap, std::vector<std::unique_ptr<Collector>>& collectors, double max_lag) {
  const bool debug = std::getenv("RSE_FUZZ_DEBUG") != nullptr;
  if (debug) DumpSnapshot(snap);
  MetricSink sink;
  CollectReachability(snap, sink);
  for (auto& c : collectors) {
    std::vector<std::string> problems;
    c->Collect(snap, sink, problems);
    for (const auto& p : problems) FUZZ_CHECK(!p.empty(), "empty problem");
  }
  const std::string text = CheckExposition(rse::collectors::Join(sink.Take()), SentinelShaped(snap));

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

  auto first = Fetcher(in, options, layout).Run();
  Scrape(*first, collectors, max_lag);
  if (!in.AtEnd()) {
    auto second = Fetcher(in, options, layout).Run();
    Scrape(*second, collectors, max_lag);
  }
  return 0;
}
