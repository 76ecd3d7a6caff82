// Parity with redis_exporter: Debian's prometheus-redis-exporter and our exporter scrape the
// same real data nodes; every family it emits for a node must be emitted here for that node,
// with the same type and the same label names (plus master_name and addr), unless
// docs/parity.md lists it with its reason.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/exporter.h"
#include "tests/support/http.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

using namespace rse::test;

namespace {

const std::string kRedisExporter = "/usr/bin/prometheus-redis-exporter";
const std::string kParityDoc = std::string(RSE_SOURCE_DIR) + "/docs/parity.md";

struct FamilyInfo {
  std::string type;
  std::set<std::string> label_names;
  bool seen = false;  // at least one sample
};

// family -> type and label names of its samples, from the text format. A sample with
// `addr_filter` set counts only when its addr label has that value (our exporter's many nodes).
std::map<std::string, FamilyInfo> Families(const std::string& text, const std::string& addr_filter = "") {
  std::map<std::string, FamilyInfo> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      out[name].type = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    size_t end = line.find_first_of("{ ");
    std::string name = line.substr(0, end);
    std::set<std::string> labels;
    std::string addr;
    if (end != std::string::npos && line[end] == '{') {
      size_t i = end + 1;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 2;  // past ="
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') ++i;
          if (i < line.size()) value += line[i++];
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        if (key == "addr") addr = value;
        labels.insert(key);
      }
    }
    if (!addr_filter.empty() && addr != addr_filter) continue;
    // A summary's _sum and _count belong to its family.
    for (const char* suffix : {"_sum", "_count"}) {
      const std::string s = suffix;
      if (!out.count(name) && name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        name.resize(name.size() - s.size());
      }
    }
    FamilyInfo& f = out[name];
    f.seen = true;
    labels.erase("quantile");  // a summary's own label, like le of a histogram
    f.label_names.insert(labels.begin(), labels.end());
  }
  return out;
}

// The families docs/parity.md leaves out: the backticked first cell of each row of its
// "Left out on purpose" table, with the reason in the second cell.
std::map<std::string, std::string> LeftOut() {
  std::ifstream in(kParityDoc);
  REQUIRE_MESSAGE(in.good(), "cannot read " << kParityDoc);
  std::map<std::string, std::string> out;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Left out on purpose";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const size_t close = line.find('`', 3);
    const size_t bar = line.find('|', close);
    REQUIRE(close != std::string::npos);
    REQUIRE(bar != std::string::npos);
    std::string reason = line.substr(bar + 1);
    while (!reason.empty() && (reason.back() == '|' || reason.back() == ' ')) reason.pop_back();
    out[line.substr(3, close - 3)] = reason;
  }
  return out;
}

bool IsLeftOut(const std::map<std::string, std::string>& left_out, const std::string& family) {
  for (const auto& [pattern, reason] : left_out) {
    if (pattern == family) return true;
    if (pattern.size() > 1 && pattern.back() == '*' &&
        family.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0) {
      return true;
    }
  }
  return false;
}

// redis_exporter against one node, the password through its environment (never argv).
class RedisExporter {
 public:
  RedisExporter(const LocalTopology& topo, const std::string& node) : port_(FreePort()) {
    log_ = topo.dir() + "/redis_exporter-" + std::to_string(port_) + ".log";
    process_ =
        std::make_unique<Process>(std::vector<std::string>{kRedisExporter, "-redis.addr=redis://" + node,
                                                           "-web.listen-address=127.0.0.1:" + std::to_string(port_)},
                                  EnvWith({"REDIS_PASSWORD=" + topo.options().password}), log_);
  }
  // A scrape in which the node answered (redis_up 1).
  std::string Metrics() {
    std::string body;
    const bool up = WaitFor(
        [&] {
          auto r = HttpGet(port_, "/metrics", {}, std::chrono::seconds(10));
          body = r.body;
          return r.status == 200 && body.find("\nredis_up 1\n") != std::string::npos;
        },
        std::chrono::seconds(30));
    REQUIRE_MESSAGE(up, "redis_exporter never scraped the node; its log:\n" << ReadFile(log_));
    return body;
  }

 private:
  int port_;
  std::string log_;
  std::unique_ptr<Process> process_;
};

// Both exporters on the topology's master and a replica: every family redis_exporter emits there
// is ours too, same type, same label names but for `extra` (family -> label names we add, as
// docs/parity.md says under "Differences that are not families").
void CheckParity(LocalTopology& topo, const std::map<std::string, std::set<std::string>>& extra = {}) {
  std::ifstream binary(kRedisExporter);
  REQUIRE_MESSAGE(binary.good(), kRedisExporter << " is missing: install prometheus-redis-exporter "
                                                   "(scripts/packages.txt)");
  const auto left_out = LeftOut();
  REQUIRE_FALSE(left_out.empty());
  // Named references, not structured bindings: clang 14 cannot capture those in doctest's lambdas.
  for (const auto& entry : left_out) {
    const auto& family = entry.first;
    const auto& reason = entry.second;
    CAPTURE(family);
    CHECK(reason.size() > 10);  // each with its reason
  }

  const std::string master = topo.data(0), replica = topo.data(1);
  const int master_port = topo.data_ports()[0];
  // Traffic, an expiring key and an error reply, so that the per-command, keyspace and error
  // families have something to say on both exporters.
  topo.Cli(master_port, {"SET", "parity:plain", "1"});
  topo.Cli(master_port, {"SET", "parity:expiring", "1", "EX", "3600"});
  topo.Cli(master_port, {"GET", "parity:plain"});
  topo.Cli(master_port, {"HGET", "parity:plain", "f"});  // a WRONGTYPE error
  topo.Cli(master_port, {"WAIT", "2", "5000"});

  ExporterProcess ours({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  for (const auto& node : {master, replica}) {
    CAPTURE(node);
    RedisExporter theirs(topo, node);
    const auto reference = Families(theirs.Metrics());
    std::map<std::string, FamilyInfo> emitted;
    // Our view of the node, once every family has a sample (the first scrape may race the
    // replicas' WAIT).
    WaitFor(
        [&] {
          emitted = Families(ours.Metrics(), node);
          return emitted.count("redis_errors_total") || node == replica;
        },
        std::chrono::seconds(20));
    int compared = 0;
    for (const auto& entry : reference) {
      const auto& family = entry.first;
      const auto& want = entry.second;
      if (family.rfind("redis_", 0) != 0 || !want.seen || IsLeftOut(left_out, family)) continue;
      CAPTURE(family);
      ++compared;
      auto it = emitted.find(family);
      if (it == emitted.end() || !it->second.seen) {
        FAIL_CHECK("redis_exporter emits " << family << " for " << node << "; we do not (and docs/parity.md "
                                           << "does not say why)");
        continue;
      }
      CHECK_MESSAGE(it->second.type == want.type,
                    family << ": type " << it->second.type << ", redis_exporter " << want.type);
      std::set<std::string> ours_labels = it->second.label_names;
      ours_labels.erase("master_name");
      ours_labels.erase("addr");
      if (auto added = extra.find(family); added != extra.end()) {
        for (const auto& label : added->second)
          CHECK_MESSAGE(ours_labels.erase(label) == 1, family << ": no " << label);
      }
      CHECK_MESSAGE(ours_labels == want.label_names, family << ": other label names than redis_exporter's");
    }
    CHECK(compared > 100);  // a real comparison, not an empty one
  }
}

}  // namespace

TEST_CASE("parity: every family redis_exporter emits for a data node, same type and labels") {
  LocalTopology topo;
  CheckParity(topo);
}

// Valkey (label "valkey"): redis_exporter reads its INFO as Redis', and so must we.
TEST_CASE("valkey: parity: every family redis_exporter emits for a Valkey data node, same type and labels") {
  LocalTopology topo(ValkeyOptions());
  CheckParity(topo, {{"redis_instance_info", {"valkey_version"}}});
}
