#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/probe_config.h"
#include "http/web_config.h"
#include "redis/address.h"
#include "redis/connection.h"
#include "redis/tls.h"

namespace rse {

struct Config {
  enum class Mode { kServe, kCheck };
  Mode mode = Mode::kServe;            // `redis_sentinel_exporter check ...`: one scrape, a report, an exit status
  std::string output = "text";         // check: text or json
  double max_lag_bytes = 1024 * 1024;  // check: a replica further behind is degraded
  // check --check.events-url: a running exporter's /events, shown with the report. Empty: none.
  std::string check_events_url;
  std::string check_events_user;
  std::string check_events_password;  // from --check.events-password-file; sent only to that URL
  std::shared_ptr<const redis::TlsContext> check_events_tls;  // https URLs
  std::vector<redis::Address> sentinels;
  std::vector<std::string> master_names;  // empty: every master the Sentinels monitor
  redis::Credentials redis_credentials;
  // Per master group: for groups whose data nodes have another password than the default.
  std::map<std::string, redis::Credentials> group_credentials;
  redis::Credentials sentinel_credentials;
  std::shared_ptr<const redis::TlsContext> redis_tls;     // null: plain TCP to data nodes
  std::shared_ptr<const redis::TlsContext> sentinel_tls;  // null: plain TCP to Sentinels
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds timeout_offset{500};
  std::string listen_address = ":9355";
  std::string web_config_file;  // --web.config.file, re-read when it changes
  http::WebConfig web;          // as loaded at startup: TLS and basic auth for our own HTTP server
  int web_max_requests = 16;    // requests handled at once (worker threads)
  std::size_t web_max_connections = 1024;
  std::size_t web_max_header_bytes = 16 * 1024;
  std::size_t web_max_unsent_bytes = 16 << 20;
  std::chrono::milliseconds web_read_header_timeout{10000};
  std::chrono::milliseconds web_idle_timeout{120000};
  std::chrono::milliseconds web_write_timeout{60000};
  std::string telemetry_path = "/metrics";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::vector<std::string> collectors;                // enabled collector names
  std::vector<AddressPattern> probe_allowed_targets;  // empty: any target (403 for the rest)
  ProbeConfig probe;                                  // --probe.config.file: the only source of /probe credentials
  std::size_t probe_max_connections = 4096;           // sockets all /probe targets may hold at once
  std::size_t probe_max_reply_bytes = 64 << 20;       // reply bytes all /probe targets may hold at once
  std::size_t redis_max_reply_bytes = 256 << 20;      // reply bytes the configured topology may hold
  // Discovered nodes of the configured topology that may receive its passwords; empty: any.
  std::vector<AddressPattern> redis_allowed_addresses;
};

// Environment lookup, injectable for tests.
using Getenv = std::function<std::optional<std::string>(const char* name)>;
Getenv ProcessEnv();

struct ParsedArgs {
  enum class Action { kRun, kExit };
  Action action = Action::kRun;
  int exit_code = 0;
  std::string output;  // --help / --version text, or the error message
  Config config;
};

// Parses flags, with REDIS_SENTINEL_HOSTS, REDIS_SENTINEL_MASTER and REDIS_PASSWORD as
// fallbacks. Secrets come only from files or the environment, never from a flag value.
// Reads (exporter/flags.*), then validates, then builds what the flags name (TLS contexts, web
// and probe config); the first error found is the output, with exit code 3.
ParsedArgs ParseArgs(int argc, const char* const argv[], const Getenv& getenv);

// "5s", "250ms", "1m", "1.5s" or a bare number of seconds.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace rse
