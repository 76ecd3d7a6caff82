// Micro-benchmark behind bench/README.md "Cost of the per-command families": what INFO
// commandstats and latencystats cost the exporter per scrape. N data nodes (default 60, the
// 20-group topology) each answer INFO as recorded in FILE (tests/fixtures/info-full-master.resp:
// default sections plus commandstats and latencystats); the run times ParseInfo and the data-node
// collectors with the per-command collectors on and off, and counts the series and bytes they add.
// Not built by CMake; build the project, then:
//   c++ -std=c++20 -O2 -I. bench/micro/node_families.cpp build/librse_collectors.a
//       build/librse_model.a build/librse_redis.a -lhiredis -lssl -lcrypto -o /tmp/node_families
//   /tmp/node_families tests/fixtures/info-full-master.resp [NODES [REPS [on|off]]]
// (one of the two runs only: for instruction counts under valgrind --tool=callgrind)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/registry.h"
#include "redis/reply.h"

using namespace rse::collectors;
using Clock = std::chrono::steady_clock;

namespace {

// The INFO text without the commandstats and latencystats sections: what INFO sends when both
// collectors are off.
std::string DefaultSectionsOnly(const std::string& info) {
  std::string out;
  bool skip = false;
  std::istringstream in(info);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) skip = line.rfind("# Commandstats", 0) == 0 || line.rfind("# Latencystats", 0) == 0;
    if (!skip) out += line + "\n";
  }
  return out;
}

struct Result {
  double parse_us = 0, collect_us = 0;
  size_t bytes_in = 0, bytes_out = 0, series = 0;
};

Result Run(const std::string& info, int nodes, const std::vector<const char*>& names, int reps) {
  std::vector<std::unique_ptr<Collector>> collectors;
  for (const char* n : names) collectors.push_back(FindCollector(n)->factory());
  Result r;
  r.bytes_in = info.size() * static_cast<size_t>(nodes);
  std::vector<double> parse, collect;
  rse::collectors::SizePlan plan;
  for (int rep = 0; rep < reps; ++rep) {
    Snapshot snap;
    auto t0 = Clock::now();
    for (int i = 0; i < nodes; ++i) {
      DataNode n;
      n.master_name = "group-" + std::to_string(i / 3);
      n.address = {"127.0.0.1", static_cast<std::uint16_t>(20000 + i)};
      n.info = ParseInfo(std::string(info));
      snap.nodes.push_back(std::move(n));
    }
    auto t1 = Clock::now();
    MetricSink sink(&plan);  // laid out by the previous rep's sizes, as a target's scrapes are
    std::vector<std::string> problems;
    for (auto& c : collectors) c->Collect(snap, sink, problems);
    const std::string body = sink.Take();
    auto t2 = Clock::now();
    parse.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    collect.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    if (rep == 0) {
      r.bytes_out += body.size();
      for (char ch : body) r.series += ch == '\n';
    }
  }
  std::sort(parse.begin(), parse.end());
  std::sort(collect.begin(), collect.end());
  r.parse_us = parse[parse.size() / 2];
  r.collect_us = collect[collect.size() / 2];
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s INFO_FIXTURE [NODES]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream raw;
  raw << in.rdbuf();
  rse::redis::Reply reply;
  std::string error;
  if (!rse::redis::ParseOneReply(raw.str(), reply, &error)) {
    std::fprintf(stderr, "%s: %s\n", argv[1], error.c_str());
    return 1;
  }
  const int nodes = argc > 2 ? std::atoi(argv[2]) : 60;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 200;
  const std::vector<const char*> base{"replication", "info", "errorstats", "config", "slowlog"};
  std::vector<const char*> full = base;
  full.push_back("commandstats");
  full.push_back("latencystats");
  const std::string only = argc > 4 ? argv[4] : "";
  const auto off = only == "on" ? Result{} : Run(DefaultSectionsOnly(reply.str), nodes, base, reps);
  const auto on = only == "off" ? Result{} : Run(reply.str, nodes, full, reps);
  std::printf("%d nodes, %zu commands in commandstats, median of %d runs\n", nodes,
              ParseCommandStats(ParseInfo(reply.str)).size(), reps);
  std::printf("| | INFO bytes | ParseInfo µs | collectors µs | lines | text bytes |\n|---|---|---|---|---|---|\n");
  for (const auto& [name, r] : {std::pair{"commandstats, latencystats off", off}, std::pair{"on", on}}) {
    std::printf("| %s | %zu | %.0f | %.0f | %zu | %zu |\n", name, r.bytes_in, r.parse_us, r.collect_us, r.series,
                r.bytes_out);
  }
  return 0;
}
