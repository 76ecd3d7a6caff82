// bench_floor: the machine's floor for one complete view. It sends the commands a view of
// redis_sentinel_exporter sends (its default collectors' pipeline to every data node, and
// discovery's steady-state pipeline to every Sentinel), over the exporter's own connections
// and round trips (redis::Batch, kept-alive connections), and reads the replies; it parses
// nothing further, renders nothing and serves no HTTP. What a view of the exporter takes
// beyond this is the exporter's own work; what this takes is the nodes', the kernel's and
// whatever else the machine runs (bench/README.md, "The machine's floor").
//
// Prints one line of KEY=VALUE pairs as bench_loadgen does (views, failed_views, p50_ms,
// p90_ms, p99_ms, max_ms, mean_ms; nearest-rank percentiles), which bench/run parses.
// Loopback addresses only (the benchmark's rule).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "collectors/datanode.h"
#include "collectors/registry.h"
#include "exporter/discovery.h"
#include "redis/address.h"
#include "redis/connection.h"

namespace {

using rse::redis::Clock;

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "bench_floor: %s\n"
               "usage: bench_floor --reps N [--timeout-ms MS] [--password-file F]\n"
               "                   --sentinel HOST:PORT... --data-node HOST:PORT... --master NAME...\n",
               why.c_str());
  std::exit(2);
}

rse::redis::Address Loopback(const std::string& text) {
  auto addr = rse::redis::ParseAddress(text);
  if (!addr || addr->host != "127.0.0.1") Usage("not a 127.0.0.1:PORT address: '" + text + "'");
  return *addr;
}

double Percentile(const std::vector<double>& sorted, double p) {  // nearest rank, as bench_loadgen
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

struct Options {
  long reps = 0;
  long timeout_ms = 10000;
  std::string password;
  std::vector<std::string> sentinels, data_nodes, masters;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (i + 1 >= argc) Usage("missing value after " + arg);
    std::string value = argv[++i];
    if (arg == "--reps") {
      o.reps = std::atol(value.c_str());
    } else if (arg == "--timeout-ms") {
      o.timeout_ms = std::atol(value.c_str());
    } else if (arg == "--password-file") {
      std::ifstream in(value);
      if (!in || !std::getline(in, o.password)) Usage("cannot read the password file " + value);
    } else if (arg == "--sentinel") {
      o.sentinels.push_back(value);
    } else if (arg == "--data-node") {
      o.data_nodes.push_back(value);
    } else if (arg == "--master") {
      o.masters.push_back(value);
    } else {
      Usage("unknown argument " + arg);
    }
  }
  if (o.reps <= 0 || o.timeout_ms <= 0 || o.sentinels.empty()) Usage("--reps, --timeout-ms and --sentinel are needed");
  return o;
}

// A node and the pipeline it gets in every view.
struct Node {
  std::unique_ptr<rse::redis::Connection> conn;
  const std::vector<std::vector<std::string>>* cmds;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);

  // The default collectors' needs, as the exporter merges them (exporter/exporter.cpp).
  rse::collectors::Needs needs;
  for (const auto& spec : rse::collectors::AllCollectors()) {
    if (spec.enabled_by_default) needs.Merge(spec.needs);
  }
  const auto data_cmds = rse::collectors::DataNodeCommands(needs);
  const auto sentinel_cmds = rse::SentinelCommands(o.masters, false, needs.ckquorum);
  std::vector<Node> nodes;
  for (const auto& s : o.sentinels) {
    nodes.push_back({std::make_unique<rse::redis::Connection>(Loopback(s), rse::redis::Credentials{}), &sentinel_cmds});
  }
  for (const auto& d : o.data_nodes) {
    nodes.push_back(
        {std::make_unique<rse::redis::Connection>(Loopback(d), rse::redis::Credentials{"", o.password}), &data_cmds});
  }

  // One view: every node's pipeline at once, until the last reply. The first view opens the
  // connections and is not counted.
  long failed = 0;
  std::string first_error;
  auto view = [&]() {
    rse::redis::Batch batch(Clock::now() + std::chrono::milliseconds(o.timeout_ms));
    bool ok = true;
    for (auto& n : nodes) {
      batch.Add(n.conn.get(), *n.cmds, [&](rse::redis::Request& r) {
        if (r.status.ok()) return;
        ok = false;
        if (first_error.empty()) first_error = r.connection->address().ToString() + ": " + r.status.message;
      });
    }
    batch.Run();
    return ok;
  };
  view();
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(o.reps));
  for (long i = 0; i < o.reps; i++) {
    const auto start = Clock::now();
    if (!view()) failed++;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double m : ms) sum += m;
  std::printf("views=%ld failed_views=%ld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f\n", o.reps,
              failed, Percentile(ms, 0.50), Percentile(ms, 0.90), Percentile(ms, 0.99), ms.back(),
              sum / static_cast<double>(ms.size()));
  if (failed > 0) std::fprintf(stderr, "bench_floor: %ld views failed, the first: %s\n", failed, first_error.c_str());
  return failed > 0 ? 1 : 0;
}
