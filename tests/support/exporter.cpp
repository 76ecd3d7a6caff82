#include "tests/support/exporter.h"

#include <unistd.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <stdexcept>

namespace rse::test {

ExporterProcess::ExporterProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  char tmpl[] = "/tmp/rse-exporter-log-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  log_path_ = tmpl;
  std::vector<std::string> argv = {RSE_EXPORTER_BINARY, "--web.listen-address=127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> overrides = {"REDIS_SENTINEL_HOSTS=", "REDIS_SENTINEL_MASTER=", "REDIS_PASSWORD="};
  overrides.insert(overrides.end(), env.begin(), env.end());
  process_ = std::make_unique<Process>(argv, EnvWith(overrides), log_path_);
  const std::string marker = "msg=listening address=127.0.0.1:";
  bool up = WaitFor(
      [&] {
        auto log = Log();
        auto pos = log.find(marker);
        if (pos == std::string::npos) return false;
        port_ = std::atoi(log.c_str() + pos + marker.size());
        return port_ > 0;
      },
      std::chrono::seconds(10));
  if (!up) throw std::runtime_error("exporter did not start listening; log:\n" + Log());
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

}  // namespace rse::test
