#include "exporter/config.h"

#include <cstdlib>
#include <tuple>

#include "exporter/flags.h"
#include "http/client.h"

// ParseArgs runs four steps, each returning a Status: define the flags (cxxopts) and read argv
// and the environment into Settings (secret files included), both in exporter/flags.cpp; then
// validate the values and their combinations and build what the settings name (TLS contexts,
// web and probe config), here.

namespace rse {
namespace {

// ---- Validate ----

Status ValidateCredentials(const Config& cfg) {
  if (!cfg.redis_credentials.user.empty() && cfg.redis_credentials.password.empty()) {
    return Status::Error("--redis.user needs a password (--redis.password-file or REDIS_PASSWORD)");
  }
  if (!cfg.sentinel_credentials.user.empty() && cfg.sentinel_credentials.password.empty()) {
    return Status::Error("--sentinel.user needs --sentinel.password-file");
  }
  return Status::Ok();
}

Status ValidateTimeouts(Settings& s) {
  Config& cfg = s.config;
  auto timeout = ParseDuration(s.timeout);
  if (!timeout || timeout->count() == 0) {
    return Status::Error("--redis.timeout: '" + s.timeout + "' is not a positive duration such as 5s or 500ms");
  }
  cfg.timeout = *timeout;
  auto offset = ParseDuration(s.timeout_offset);
  if (!offset) return Status::Error("--scrape.timeout-offset: not a duration such as 500ms");
  cfg.timeout_offset = *offset;
  return Status::Ok();
}

Status ValidateWeb(Settings& s) {
  Config& cfg = s.config;
  if (cfg.web_max_requests < 1 || cfg.web_max_requests > 1024) {
    return Status::Error("--web.max-requests must be 1 to 1024");
  }
  if (s.web_max_connections < 1 || s.web_max_connections > 1000000) {
    return Status::Error("--web.max-connections must be 1 to 1000000");
  }
  cfg.web_max_connections = static_cast<std::size_t>(s.web_max_connections);
  if (s.web_max_header_bytes < 1024 || s.web_max_header_bytes > 1024 * 1024) {
    return Status::Error("--web.max-header-bytes must be 1024 to 1048576");
  }
  cfg.web_max_header_bytes = static_cast<std::size_t>(s.web_max_header_bytes);
  if (s.web_max_unsent_bytes < 65536) return Status::Error("--web.max-unsent-bytes must be at least 65536");
  cfg.web_max_unsent_bytes = static_cast<std::size_t>(s.web_max_unsent_bytes);
  for (auto [flag, text, field] :
       {std::tuple{"web.read-header-timeout", &s.web_read_header_timeout, &cfg.web_read_header_timeout},
        std::tuple{"web.idle-timeout", &s.web_idle_timeout, &cfg.web_idle_timeout},
        std::tuple{"web.write-timeout", &s.web_write_timeout, &cfg.web_write_timeout}}) {
    auto d = ParseDuration(*text);
    if (!d || d->count() <= 0) {
      return Status::Error(std::string("--") + flag + ": '" + *text + "' is not a positive duration such as 10s");
    }
    *field = *d;
  }
  if (cfg.telemetry_path.empty() || cfg.telemetry_path.front() != '/') {
    return Status::Error("--web.telemetry-path must start with '/'");
  }
  for (const char* reserved : {"/", "/-/healthy", "/-/ready", "/probe"}) {
    if (cfg.telemetry_path == reserved) return Status::Error("--web.telemetry-path cannot be " + std::string(reserved));
  }
  return Status::Ok();
}

Status ValidatePatterns(const std::vector<std::string>& values, const std::string& flag,
                        std::vector<AddressPattern>& out) {
  if (values.empty()) return Status::Ok();
  std::string error;
  auto patterns = ParsePatterns(values, "--" + flag, error);
  if (!patterns) return Status::Error(error);
  out = std::move(*patterns);
  return Status::Ok();
}

Status ValidateCheckEvents(const Settings& s) {
  const Config& cfg = s.config;
  if (cfg.check_events_url.empty()) {
    if (!cfg.check_events_user.empty() || !cfg.check_events_password.empty() || !s.check_events_ca_file.empty()) {
      return Status::Error(
          "--check.events-user, --check.events-password-file and --check.events-ca-file need "
          "--check.events-url");
    }
    return Status::Ok();
  }
  std::string error;
  auto url = http::ParseUrl(cfg.check_events_url, error);
  if (!url) return Status::Error("--check.events-url: " + error);
  if (!url->https && !s.check_events_ca_file.empty()) {
    return Status::Error("--check.events-ca-file needs an https --check.events-url");
  }
  if (!cfg.check_events_user.empty() && cfg.check_events_password.empty()) {
    return Status::Error("--check.events-user needs --check.events-password-file");
  }
  return Status::Ok();
}

Status Validate(Settings& s) {
  Config& cfg = s.config;
  if (Status st = ValidateCredentials(cfg); !st.ok()) return st;
  if (Status st = ValidateTimeouts(s); !st.ok()) return st;
  if (Status st = ValidateWeb(s); !st.ok()) return st;
  if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" && cfg.log_level != "error") {
    return Status::Error("--log.level must be debug, info, warn or error");
  }
  if (cfg.log_format != "logfmt" && cfg.log_format != "json") {
    return Status::Error("--log.format must be logfmt or json");
  }
  if (Status st = ValidatePatterns(s.probe_allowed_targets, "probe.allowed-targets", cfg.probe_allowed_targets);
      !st.ok()) {
    return st;
  }
  if (s.probe_max_connections < 1 || s.probe_max_connections > 1000000) {
    return Status::Error("--probe.max-connections must be 1 to 1000000");
  }
  cfg.probe_max_connections = static_cast<std::size_t>(s.probe_max_connections);
  if (s.probe_max_reply_bytes < (1 << 20)) return Status::Error("--probe.max-reply-bytes must be at least 1048576");
  cfg.probe_max_reply_bytes = static_cast<std::size_t>(s.probe_max_reply_bytes);
  if (s.redis_max_reply_bytes < (1 << 20)) return Status::Error("--redis.max-reply-bytes must be at least 1048576");
  cfg.redis_max_reply_bytes = static_cast<std::size_t>(s.redis_max_reply_bytes);
  if (Status st = ValidatePatterns(s.redis_allowed_addresses, "redis.allowed-addresses", cfg.redis_allowed_addresses);
      !st.ok()) {
    return st;
  }
  if (cfg.output != "text" && cfg.output != "json") return Status::Error("--output must be text or json");
  if (Status st = ValidateCheckEvents(s); !st.ok()) return st;
  if (cfg.mode == Config::Mode::kCheck && cfg.sentinels.empty()) {
    return Status::Error("check needs --sentinel.addr or REDIS_SENTINEL_HOSTS");
  }
  return Status::Ok();
}

// ---- Build resources ----

Status BuildTls(const redis::TlsOptions& options, const std::string& prefix,
                std::shared_ptr<const redis::TlsContext>& out) {
  if (!options.enabled) return Status::Ok();
  std::string error;
  out = redis::TlsContext::Create(options, error);  // loads the TLS module on first use
  if (!out) return Status::Error("--" + prefix + ".tls: " + error);
  return Status::Ok();
}

Status BuildResources(Settings& s) {
  Config& cfg = s.config;
  if (Status st = BuildTls(s.redis_tls, "redis", cfg.redis_tls); !st.ok()) return st;
  if (Status st = BuildTls(s.sentinel_tls, "sentinel", cfg.sentinel_tls); !st.ok()) return st;
  std::string url_error;
  // Only `check` reads the URL: the exporter itself never loads the TLS module for it.
  std::optional<http::Url> url;
  if (cfg.mode == Config::Mode::kCheck) url = http::ParseUrl(cfg.check_events_url, url_error);
  if (url && url->https) {
    redis::TlsOptions events_tls;
    events_tls.enabled = true;
    events_tls.ca_file = s.check_events_ca_file;
    cfg.check_events_tls = redis::TlsContext::Create(events_tls, url_error);
    if (!cfg.check_events_tls) return Status::Error("--check.events-url: " + url_error);
  }
  std::string error;
  if (!cfg.web_config_file.empty()) {
    auto web = http::LoadWebConfig(cfg.web_config_file, error);
    if (!web) return Status::Error(error);
    cfg.web = std::move(*web);
  }
  if (!s.probe_config_file.empty()) {
    auto probe = LoadProbeConfig(s.probe_config_file, error);
    if (!probe) return Status::Error(error);
    cfg.probe = std::move(*probe);
  }
  return Status::Ok();
}

}  // namespace

Getenv ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = text.substr(pos);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000;
  } else if (unit == "ms") {
    ms = value;
  } else if (unit == "m") {
    ms = value * 60000;
  } else {
    return std::nullopt;
  }
  if (!(ms >= 0) || ms > 24.0 * 3600 * 1000) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

ParsedArgs ParseArgs(int argc, const char* const argv[], const Getenv& getenv) {
  ParsedArgs result;
  // `check` is a subcommand: the same flags, one scrape, a report and an exit status.
  const bool check = argc > 1 && std::string(argv[1]) == "check";
  if (check) {
    --argc;
    ++argv;
  }
  Settings settings;
  settings.config.mode = check ? Config::Mode::kCheck : Config::Mode::kServe;
  std::optional<std::string> exit;  // --help or --version: their text, exit 0
  Status st = ReadFlags(check, argc, argv, getenv, settings, exit);
  if (st.ok() && !exit) st = Validate(settings);
  if (st.ok() && !exit) st = BuildResources(settings);
  if (exit) {
    result.action = ParsedArgs::Action::kExit;
    result.output = std::move(*exit);
  } else if (!st.ok()) {
    result.action = ParsedArgs::Action::kExit;
    // 3 in both modes, as in the scripts (scripts/lib/base.sh): check's 0/1/2 are
    // healthy/degraded/critical, so a typo never reads as a verdict.
    result.exit_code = 3;
    result.output = st.message();
  } else {
    result.config = std::move(settings.config);
  }
  return result;
}

}  // namespace rse
