#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/http.h"
#include "tests/support/process.h"

namespace rse::test {

// The real redis_sentinel_exporter binary on a free port of 127.0.0.1, logging to a file.
class ExporterProcess {
 public:
  // `env` overrides the inherited environment; REDIS_* variables not given are removed.
  ExporterProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  ~ExporterProcess();

  int port() const { return port_; }
  int pid() const { return process_->pid(); }
  std::string Log() const { return ReadFile(log_path_); }
  HttpResponse Get(const std::string& path, const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return HttpGet(port_, path, headers, timeout);
  }
  // Scrapes /metrics, expecting HTTP 200.
  std::string Metrics() const;
  int Stop() { return process_->Stop(); }
  bool Running() { return process_->Running(); }

 private:
  std::string log_path_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// The master_address of the agreed master in a scrape (redis_sentinel_topology_master_info),
// "" when none.
std::string AgreedMaster(const std::string& metrics);

// True when one line of the log holds every fragment.
bool LogLine(const std::string& log, const std::vector<std::string>& fragments);
// Polls the exporter until `group` has one agreed master other than `old`, exactly one node
// reporting role:master, and every Sentinel naming it; its address, "" after 45 s. `metrics`
// holds the last scrape.
std::string WaitForNewMaster(const ExporterProcess& exporter, const std::string& group, const std::string& old,
                             std::string& metrics);

}  // namespace rse::test
