#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include "exporter/check.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/http.h"
#include "exporter/log.h"
#include "exporter/version.h"

namespace {

// Waits for SIGINT/SIGTERM without a handler: sigwait on blocked signals is async-signal safe.
int WaitForSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena: glibc would otherwise give each of the HTTP worker threads its own,
  // and resident memory would grow with every thread that ever served a scrape.
  mallopt(M_ARENA_MAX, 1);
  // Keep freed memory for the next scrape instead of returning it: a scrape's body and replies
  // are megabytes at 20 groups, and on virtual machines faulting fresh pages back in cost more
  // than building the body (bench/README.md, "page faults"). The peak (VmHWM) is unchanged.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  // Block the stop signals before any thread starts, so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto args = rse::ParseArgs(argc, argv, rse::ProcessEnv());
  if (args.action == rse::ParsedArgs::Action::kExit) {
    (args.exit_code == 0 ? std::cout : std::cerr)
        << (args.exit_code == 0 ? "" : "redis_sentinel_exporter: ") << args.output
        << (args.output.empty() || args.output.back() == '\n' ? "" : "\n");
    return args.exit_code;
  }
  const rse::Config& cfg = args.config;
  if (cfg.mode == rse::Config::Mode::kCheck) {
    // The report says what is wrong; the log would only repeat it.
    rse::log::Setup(cfg.log_level == "debug" ? "debug" : "error", cfg.log_format);
    return rse::RunCheck(cfg, std::cout);
  }
  rse::log::Setup(cfg.log_level, cfg.log_format);

  std::vector<std::string> sentinels;
  for (const auto& a : cfg.sentinels) sentinels.push_back(a.ToString());
  const std::string collectors = Join(cfg.collectors);
  const std::string masters = Join(cfg.master_names);
  rse::log::Info("starting redis_sentinel_exporter", {{"version", rse::kVersion}, {"revision", rse::kRevision}});
  if (cfg.sentinels.empty()) {
    rse::log::Warn(
        "no --sentinel.addr or REDIS_SENTINEL_HOSTS: the telemetry path has exporter metrics only; "
        "use /probe?target=");
  }
  rse::log::Info("configuration", {{"sentinels", Join(sentinels)},
                                   {"master_names", masters.empty() ? "(all)" : masters},
                                   {"collectors", collectors},
                                   {"redis_auth", cfg.redis_credentials.password.empty() ? "no" : "yes"},
                                   {"sentinel_auth", cfg.sentinel_credentials.password.empty() ? "no" : "yes"}});

  // Each HTTP connection is a descriptor: take the hard limit, as Go programs do, so that
  // --web.max-connections and not the soft limit (often 1024) decides how many are served.
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  rse::Exporter exporter(cfg);
  rse::HttpServer server(exporter);
  exporter.SetHttpStats(&server.stats());
  std::string error;
  if (!server.Start(error)) {
    rse::log::Error("cannot start the HTTP server", {{"err", error}});
    return 1;
  }
  // /-/ready turns 200 once this first fetch completes, without waiting for a scrape.
  std::thread prefetch([&exporter] { exporter.Prefetch(); });
  std::string host = cfg.listen_address.substr(0, cfg.listen_address.rfind(':'));
  if (host.empty()) host = "0.0.0.0";
  const std::string listening = host + ":" + std::to_string(server.port());
  rse::log::Info("listening", {{"address", listening},
                               {"telemetry_path", cfg.telemetry_path},
                               {"tls", cfg.web.tls ? "yes" : "no"},
                               {"basic_auth", cfg.web.basic_auth_users.empty() ? "no" : "yes"}});

  int sig = WaitForSignal();
  rse::log::Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.Stop();
  prefetch.join();
  return 0;
}
