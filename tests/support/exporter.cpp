#include "tests/support/exporter.h"

#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/ports.h"

namespace rse::test {

ExporterProcess::ExporterProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  char tmpl[] = "/tmp/rse-exporter-log-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  log_path_ = tmpl;
  std::vector<std::string> overrides = {"REDIS_SENTINEL_HOSTS=", "REDIS_SENTINEL_MASTER=", "REDIS_PASSWORD="};
  overrides.insert(overrides.end(), env.begin(), env.end());
  // A test port (tests/support/ports.h); another test process may take it first, then the
  // exporter exits at once and is started again on another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreePort();
    std::vector<std::string> argv = {RSE_EXPORTER_BINARY, "--web.listen-address=127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::ofstream(log_path_, std::ios::trunc).flush();
    process_ = std::make_unique<Process>(argv, EnvWith(overrides), log_path_);
    const std::string marker = "msg=listening address=127.0.0.1:" + std::to_string(port);
    bool up = false;
    WaitFor(
        [&] {
          up = Log().find(marker) != std::string::npos;
          return up || !process_->Running();
        },
        std::chrono::seconds(10));
    if (up) {
      port_ = port;
      return;
    }
    if (process_->Running() || Log().find("Address already in use") == std::string::npos) break;
  }
  throw std::runtime_error("exporter did not start listening; log:\n" + Log());
}

ExporterProcess::~ExporterProcess() {
  const int status = process_->Stop();
  // A sanitizer report (or a crash) in the exporter must fail the test that ran it, not
  // vanish with the log file.
  const std::string log = Log();
  if (status != 0 || log.find("runtime error:") != std::string::npos || log.find("Sanitizer") != std::string::npos) {
    FAIL_CHECK("the exporter exited with status " << status << " or reported an error; its log:\n" << log);
  }
  std::remove(log_path_.c_str());
}

std::string ExporterProcess::Metrics() const {
  auto r = Get("/metrics");
  if (r.status != 200) throw std::runtime_error("GET /metrics: status " + std::to_string(r.status));
  return r.body;
}

bool LogLine(const std::string& log, const std::vector<std::string>& fragments) {
  std::stringstream ss(log);
  std::string line;
  while (std::getline(ss, line)) {
    bool all = true;
    for (const auto& f : fragments) all = all && line.find(f) != std::string::npos;
    if (all) return true;
  }
  return false;
}

std::string AgreedMaster(const std::string& metrics) {
  for (const auto& line : Series(metrics, "redis_sentinel_topology_master_info")) {
    auto pos = line.find("master_address=\"");
    if (pos == std::string::npos) continue;
    pos += 16;
    return line.substr(pos, line.find('"', pos) - pos);
  }
  return "";
}

std::string WaitForNewMaster(const ExporterProcess& exporter, const std::string& group, const std::string& old,
                             std::string& metrics) {
  const std::string label = L("master_name", group);
  std::string now;
  WaitFor(
      [&] {
        metrics = exporter.Metrics();
        now = AgreedMaster(metrics);
        return !now.empty() && now != old &&
               Sample(metrics, "redis_sentinel_topology_master_addresses", {label}) == 1 &&
               Sample(metrics, "redis_sentinel_topology_masters", {label}) == 1;
      },
      std::chrono::seconds(45));
  return now != old ? now : "";
}

}  // namespace rse::test
