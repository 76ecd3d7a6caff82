// /probe at scale, as deploy/kubernetes/sharding/ runs it: a real Prometheus (Debian's
// `prometheus`) shards about ten Sentinel groups over two exporters with hashmod relabelling;
// each exporter gets credentials only from its --probe.config.file bindings.
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/prometheus.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

TEST_CASE("sharding: hashmod over two exporters scrapes each of 10 groups exactly once, with bound credentials") {
  // Two Sentinel deployments with different data passwords: 6 and 4 master groups.
  LocalTopology a({.groups = 6, .master_name = "shard-a", .password = "shard-a-pw-19c"});
  LocalTopology b({.groups = 4, .master_name = "shard-b", .password = "shard-b-pw-4d2"});
  const std::string config = a.dir() + "/probe.yml";
  {
    std::ofstream out(config);
    out << "bindings:\n"
        << "  - name: a\n    targets: ['" << a.sentinel(0) << "']\n    redis: {password_file: " << a.password_file()
        << "}\n"
        << "  - name: b\n    targets: ['" << b.sentinel(0) << "']\n    redis: {password_file: " << b.password_file()
        << "}\n";
  }
  // No --redis.password-file: the bindings are the only source of credentials.
  ExporterProcess shard0({"--probe.config.file=" + config, "--scrape.timeout-offset=200ms"});
  ExporterProcess shard1({"--probe.config.file=" + config, "--scrape.timeout-offset=200ms"});

  std::string targets;
  int count = 0;
  for (auto [topo, name, groups] :
       {std::tuple{&a, std::string("shard-a"), 6}, std::tuple{&b, std::string("shard-b"), 4}}) {
    for (int i = 1; i <= groups; ++i, ++count) {
      targets += "      - targets: ['" + topo->sentinel(0) + "']\n        labels: {__param_master: " + name + "-" +
                 std::to_string(i) + "}\n";
    }
  }
  REQUIRE(count == 10);
  std::string jobs;
  for (const auto* shard : {&shard0, &shard1}) {
    const std::string k = shard == &shard0 ? "0" : "1";
    jobs += "  - job_name: shard-" + k +
            "\n"
            "    metrics_path: /probe\n"
            "    static_configs:\n" +
            targets +
            "    relabel_configs:\n"
            "      - source_labels: [__address__]\n"
            "        target_label: __param_target\n"
            "      - source_labels: [__param_target, __param_master]\n"
            "        separator: /\n"
            "        target_label: instance\n"
            "      - source_labels: [__param_target, __param_master]\n"
            "        modulus: 2\n"
            "        target_label: __tmp_shard\n"
            "        action: hashmod\n"
            "      - source_labels: [__tmp_shard]\n"
            "        regex: " +
            k +
            "\n"
            "        action: keep\n"
            "      - target_label: __address__\n"
            "        replacement: 127.0.0.1:" +
            std::to_string(shard->port()) + "\n";
  }
  PrometheusProcess prometheus("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n" + jobs);
  INFO("prometheus log:\n", prometheus.Log());

  const std::string up = "up{job=~\"shard-.*\"}";
  const bool all_up = WaitFor(
      [&] {
        return prometheus.Value("count(" + up + " == 1)") == 10 && prometheus.Value("count(redis_up == 1)") == 30;
      },
      60s);
  INFO("up: ", prometheus.Query(up), "\nredis_up: ", prometheus.Query("redis_up"));
  CHECK(all_up);
  // Exactly one shard scrapes each target, and no target is missing.
  CHECK(prometheus.Value("count(" + up + ")") == 10);
  CHECK(prometheus.Value("count(count by (instance) (" + up + ") == 1)") == 10);
  CHECK(prometheus.Value("count(probe_success == 1)") == 10);
  // Every data node of every group, each seen once, each authenticated through its binding.
  CHECK(prometheus.Value("count(redis_up)") == 30);
  CHECK(prometheus.Value("count(count by (addr) (redis_up) == 1)") == 30);
}
