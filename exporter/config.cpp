#include "exporter/config.h"

#include <cstdlib>
#include <sstream>

#include <cxxopts.hpp>

#include "collectors/registry.h"
#include "version.h"

namespace rse {
namespace {

struct ConfigError {
  std::string message;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<redis::Address> ParseAddresses(const std::vector<std::string>& items, const std::string& what) {
  std::vector<redis::Address> out;
  for (const auto& item : items) {
    for (const auto& part : SplitList(item)) {
      auto addr = redis::ParseAddress(part);
      if (!addr) throw ConfigError{what + ": '" + part + "' is not host:port"};
      bool seen = false;
      for (const auto& a : out) seen = seen || a == *addr;
      if (!seen) out.push_back(*addr);
    }
  }
  return out;
}

std::string Secret(const std::string& path, const std::string& flag) {
  std::string error;
  auto secret = ReadSecretFile(path, flag, error);
  if (!secret) throw ConfigError{error};
  return *secret;
}

std::vector<AddressPattern> Patterns(const cxxopts::ParseResult& parsed, const std::string& flag) {
  if (!parsed.count(flag)) return {};
  std::string error;
  auto patterns = ParsePatterns(parsed[flag].as<std::vector<std::string>>(), "--" + flag, error);
  if (!patterns) throw ConfigError{error};
  return *patterns;
}

// --redis.tls* and --sentinel.tls*: the same flags for both kinds of node.
void AddTlsFlags(cxxopts::Options& options, const std::string& group, const std::string& prefix,
                 const std::string& what) {
  // clang-format off
  options.add_options(group)
    (prefix + ".tls", "Connect to " + what + " over TLS (implied by any other " + prefix + ".tls-* flag).")
    (prefix + ".tls-ca-file", "CA certificates to verify " + what + " with (default: the system's).",
                              cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-cert-file", "Client certificate for " + what + " that require one.",
                                cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-key-file", "Key of the client certificate.", cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-server-name", "Name the " + what + "' certificates must carry (default: each node's host).",
                                  cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-insecure-skip-verify", "Do not verify " + what + "' certificates (testing only).");
  // clang-format on
}

std::shared_ptr<const redis::TlsContext> ParseTls(const cxxopts::ParseResult& parsed, const std::string& prefix) {
  redis::TlsOptions o;
  o.ca_file = parsed[prefix + ".tls-ca-file"].as<std::string>();
  o.cert_file = parsed[prefix + ".tls-cert-file"].as<std::string>();
  o.key_file = parsed[prefix + ".tls-key-file"].as<std::string>();
  o.server_name = parsed[prefix + ".tls-server-name"].as<std::string>();
  o.insecure_skip_verify = parsed.count(prefix + ".tls-insecure-skip-verify") > 0;
  o.enabled = parsed.count(prefix + ".tls") > 0 || !o.ca_file.empty() || !o.cert_file.empty() ||
              !o.key_file.empty() || !o.server_name.empty() || o.insecure_skip_verify;
  if (!o.enabled) return nullptr;
  std::string error;
  auto ctx = redis::TlsContext::Create(o, error);
  if (!ctx) throw ConfigError{"--" + prefix + ".tls: " + error};
  return ctx;
}

std::string CollectorFlags() {
  std::string out;
  for (const auto& c : collectors::AllCollectors()) {
    out += std::string(c.name) + (c.enabled_by_default ? " (on)" : " (off)") + " ";
  }
  return out;
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
    result.config.mode = Config::Mode::kCheck;
  }
  cxxopts::Options options(check ? "redis_sentinel_exporter check" : "redis_sentinel_exporter",
                           "Prometheus exporter for Redis Sentinel topologies: point it at one Sentinel and it\n"
                           "discovers and scrapes every master, replica and Sentinel behind it.");
  options.set_width(110);
  // clang-format off
  options.add_options("Sentinel")
    ("sentinel.addr", "Sentinel host:port to discover the topology from; repeatable or comma-separated. "
                      "Default: $REDIS_SENTINEL_HOSTS.", cxxopts::value<std::vector<std::string>>())
    ("sentinel.master-name", "Master group to watch; repeatable. Default: $REDIS_SENTINEL_MASTER, else every "
                             "master the Sentinels monitor.", cxxopts::value<std::vector<std::string>>())
    ("sentinel.user", "ACL user for Sentinels that have their own requirepass/ACL.",
                      cxxopts::value<std::string>()->default_value(""))
    ("sentinel.password-file", "File holding the Sentinels' own password. Without it no AUTH is sent to "
                               "Sentinels (the data nodes' password is never sent to them).",
                               cxxopts::value<std::string>()->default_value(""))
    ("probe.allowed-targets", "Sentinel targets /probe may scrape (host:port, host glob, CIDR; see README "
                              "\"Security\"); repeatable or comma-separated. Others get HTTP 403. Empty: any target.",
                              cxxopts::value<std::vector<std::string>>())
    ("probe.config.file", "YAML file binding /probe target patterns to credential files. A target that "
                          "matches no binding is probed without AUTH: the flags' passwords never go to /probe.",
                          cxxopts::value<std::string>()->default_value(""));
  options.add_options("Redis")
    ("redis.user", "ACL user for the data nodes (AUTH user password).",
                   cxxopts::value<std::string>()->default_value(""))
    ("redis.password-file", "File holding the data nodes' password. Default: $REDIS_PASSWORD_FILE, else "
                            "$REDIS_PASSWORD. Passwords are never taken from a flag value, which would show in ps.",
                            cxxopts::value<std::string>()->default_value(""))
    ("redis.master-password-file", "NAME=FILE: the data nodes of master group NAME use the password in FILE "
                                   "instead of the default; repeatable.",
                                   cxxopts::value<std::vector<std::string>>())
    ("redis.allowed-addresses", "Pin: the data nodes and peer Sentinels that replies name may receive the "
                                "configured passwords only if they match (IP, CIDR, host glob); others are asked "
                                "without AUTH. Repeatable or comma-separated. Empty: any.",
                                cxxopts::value<std::vector<std::string>>())
    ("redis.timeout", "Deadline for a whole scrape of every node: connect plus commands (e.g. 5s, 500ms).",
                      cxxopts::value<std::string>()->default_value("5s"))
    ("scrape.timeout-offset", "Subtracted from Prometheus' X-Prometheus-Scrape-Timeout-Seconds header; the "
                              "shorter of the two deadlines wins.",
                              cxxopts::value<std::string>()->default_value("500ms"));
  AddTlsFlags(options, "Sentinel", "sentinel", "Sentinels");
  AddTlsFlags(options, "Redis", "redis", "data nodes");
  options.add_options("Web and logging")
    ("web.listen-address", "Address to listen on for HTTP: [host]:port.",
                           cxxopts::value<std::string>()->default_value(":9355"))
    ("web.config.file", "Exporter-toolkit web configuration (YAML): tls_server_config and basic_auth_users "
                        "(bcrypt). Same format as node_exporter's.", cxxopts::value<std::string>()->default_value(""))
    ("web.max-requests", "Requests handled at once (worker threads). Concurrent "
                         "scrapes of one topology share a single collection; more wait in the queue.",
                         cxxopts::value<int>()->default_value("16"))
    ("web.max-connections", "Open HTTP connections at most; at the cap the longest-idle connection that has "
                            "not sent a complete request is closed for a new one.",
                            cxxopts::value<int>()->default_value("1024"))
    ("web.max-header-bytes", "Largest request head (request line and headers) accepted; larger ones get 431.",
                             cxxopts::value<int>()->default_value("16384"))
    ("web.read-header-timeout", "Time a client has to send a whole request head once it has started "
                                "(and for the TLS handshake); then 408 and the connection is closed.",
                                cxxopts::value<std::string>()->default_value("10s"))
    ("web.idle-timeout", "Time a kept-alive connection may wait for its next request.",
                         cxxopts::value<std::string>()->default_value("2m"))
    ("web.write-timeout", "Time to write one response to a client that reads slowly.",
                          cxxopts::value<std::string>()->default_value("1m"))
    ("web.telemetry-path", "Path under which to expose the topology's metrics.",
                           cxxopts::value<std::string>()->default_value("/metrics"))
    ("log.level", "Log level: debug, info, warn or error.", cxxopts::value<std::string>()->default_value("info"))
    ("log.format", "Log format: logfmt or json.", cxxopts::value<std::string>()->default_value("logfmt"))
    ("version", "Print the version and revision, then exit.")
    ("h,help", "Print this help, then exit.");
  options.add_options("Check command (redis_sentinel_exporter check [flags]: exit 0 healthy, 1 degraded, 2 critical)")
    ("output", "check: report format, text or json.", cxxopts::value<std::string>()->default_value("text"))
    ("check.max-lag-bytes", "check: a replica further behind its master than this is degraded.",
                            cxxopts::value<double>()->default_value("1048576"));
  // clang-format on
  auto group = options.add_options("Collectors (" + CollectorFlags() + ")");
  for (const auto& c : collectors::AllCollectors()) {
    std::string name(c.name);
    group("collector." + name, "Enable the " + name + " collector: " + std::string(c.help) +
                                   (c.enabled_by_default ? " (default: on)" : " (default: off)"),
          cxxopts::value<bool>()->implicit_value("true"));
    group("no-collector." + name, "Disable the " + name + " collector.", cxxopts::value<bool>());
  }

  auto fail = [&](std::string message) {
    result.action = ParsedArgs::Action::kExit;
    // check's 0/1/2 are healthy/degraded/critical; its usage errors are 3 ("unknown", as in
    // the monitoring plugin convention), so a typo never reads as a verdict.
    result.exit_code = check ? 3 : 2;
    result.output = std::move(message);
    return result;
  };

  try {
    // cxxopts wants a mutable argv; it does not modify the strings.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) args.push_back(const_cast<char*>(argv[i]));
    auto parsed = options.parse(argc, args.data());
    if (!parsed.unmatched().empty()) {
      return fail("unexpected argument '" + parsed.unmatched().front() + "' (see --help)");
    }
    if (parsed.count("help")) {
      result.action = ParsedArgs::Action::kExit;
      std::vector<std::string> groups = {
          "Sentinel", "Redis", "Web and logging",
          "Check command (redis_sentinel_exporter check [flags]: exit 0 healthy, 1 degraded, 2 critical)"};
      groups.push_back("Collectors (" + CollectorFlags() + ")");
      result.output = options.help(groups);
      return result;
    }
    if (parsed.count("version")) {
      result.action = ParsedArgs::Action::kExit;
      result.output = std::string("redis_sentinel_exporter version ") + kVersion + " (revision " + kRevision +
                      ")\n";
      return result;
    }

    Config& cfg = result.config;
    std::vector<std::string> sentinels;
    if (parsed.count("sentinel.addr")) {
      sentinels = parsed["sentinel.addr"].as<std::vector<std::string>>();
    } else if (auto env = getenv("REDIS_SENTINEL_HOSTS")) {
      sentinels = {*env};
    }
    cfg.sentinels = ParseAddresses(sentinels, "--sentinel.addr");

    if (parsed.count("sentinel.master-name")) {
      for (const auto& n : parsed["sentinel.master-name"].as<std::vector<std::string>>()) {
        for (auto& part : SplitList(n)) cfg.master_names.push_back(part);
      }
    } else if (auto env = getenv("REDIS_SENTINEL_MASTER")) {
      cfg.master_names = SplitList(*env);
    }

    cfg.redis_credentials.user = parsed["redis.user"].as<std::string>();
    if (auto file = parsed["redis.password-file"].as<std::string>(); !file.empty()) {
      cfg.redis_credentials.password = Secret(file, "--redis.password-file");
    } else if (auto env_file = getenv("REDIS_PASSWORD_FILE"); env_file && !env_file->empty()) {
      cfg.redis_credentials.password = Secret(*env_file, "REDIS_PASSWORD_FILE");
    } else if (auto env = getenv("REDIS_PASSWORD")) {
      cfg.redis_credentials.password = *env;
    }
    if (parsed.count("redis.master-password-file")) {
      for (const auto& item : parsed["redis.master-password-file"].as<std::vector<std::string>>()) {
        auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
          return fail("--redis.master-password-file: '" + item + "' is not NAME=FILE");
        }
        redis::Credentials c{cfg.redis_credentials.user,
                             Secret(item.substr(eq + 1), "--redis.master-password-file")};
        cfg.group_credentials[item.substr(0, eq)] = c;
      }
    }
    cfg.sentinel_credentials.user = parsed["sentinel.user"].as<std::string>();
    if (auto file = parsed["sentinel.password-file"].as<std::string>(); !file.empty()) {
      cfg.sentinel_credentials.password = Secret(file, "--sentinel.password-file");
    }
    if (!cfg.redis_credentials.user.empty() && cfg.redis_credentials.password.empty()) {
      return fail("--redis.user needs a password (--redis.password-file or REDIS_PASSWORD)");
    }
    if (!cfg.sentinel_credentials.user.empty() && cfg.sentinel_credentials.password.empty()) {
      return fail("--sentinel.user needs --sentinel.password-file");
    }

    cfg.redis_tls = ParseTls(parsed, "redis");
    cfg.sentinel_tls = ParseTls(parsed, "sentinel");

    auto timeout = ParseDuration(parsed["redis.timeout"].as<std::string>());
    if (!timeout || timeout->count() == 0) {
      return fail("--redis.timeout: '" + parsed["redis.timeout"].as<std::string>() +
                  "' is not a positive duration such as 5s or 500ms");
    }
    cfg.timeout = *timeout;
    auto offset = ParseDuration(parsed["scrape.timeout-offset"].as<std::string>());
    if (!offset) return fail("--scrape.timeout-offset: not a duration such as 500ms");
    cfg.timeout_offset = *offset;

    cfg.listen_address = parsed["web.listen-address"].as<std::string>();
    if (auto file = parsed["web.config.file"].as<std::string>(); !file.empty()) {
      std::string error;
      auto web = LoadWebConfig(file, error);
      if (!web) return fail(error);
      cfg.web = std::move(*web);
      cfg.web_config_file = file;
    }
    cfg.web_max_requests = parsed["web.max-requests"].as<int>();
    if (cfg.web_max_requests < 1 || cfg.web_max_requests > 1024) return fail("--web.max-requests must be 1 to 1024");
    const int max_connections = parsed["web.max-connections"].as<int>();
    if (max_connections < 1 || max_connections > 1000000) return fail("--web.max-connections must be 1 to 1000000");
    cfg.web_max_connections = static_cast<std::size_t>(max_connections);
    const int max_header = parsed["web.max-header-bytes"].as<int>();
    if (max_header < 1024 || max_header > 1024 * 1024) return fail("--web.max-header-bytes must be 1024 to 1048576");
    cfg.web_max_header_bytes = static_cast<std::size_t>(max_header);
    for (auto [flag, field] : {std::pair{"web.read-header-timeout", &cfg.web_read_header_timeout},
                               std::pair{"web.idle-timeout", &cfg.web_idle_timeout},
                               std::pair{"web.write-timeout", &cfg.web_write_timeout}}) {
      auto d = ParseDuration(parsed[flag].as<std::string>());
      if (!d || d->count() <= 0) {
        return fail(std::string("--") + flag + ": '" + parsed[flag].as<std::string>() +
                    "' is not a positive duration such as 10s");
      }
      *field = *d;
    }
    cfg.telemetry_path = parsed["web.telemetry-path"].as<std::string>();
    if (cfg.telemetry_path.empty() || cfg.telemetry_path.front() != '/') {
      return fail("--web.telemetry-path must start with '/'");
    }
    for (const char* reserved : {"/", "/-/healthy", "/-/ready", "/probe"}) {
      if (cfg.telemetry_path == reserved) return fail("--web.telemetry-path cannot be " + std::string(reserved));
    }
    cfg.log_level = parsed["log.level"].as<std::string>();
    if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" &&
        cfg.log_level != "error") {
      return fail("--log.level must be debug, info, warn or error");
    }
    cfg.log_format = parsed["log.format"].as<std::string>();
    if (cfg.log_format != "logfmt" && cfg.log_format != "json") {
      return fail("--log.format must be logfmt or json");
    }
    cfg.probe_allowed_targets = Patterns(parsed, "probe.allowed-targets");
    cfg.redis_allowed_addresses = Patterns(parsed, "redis.allowed-addresses");
    if (auto file = parsed["probe.config.file"].as<std::string>(); !file.empty()) {
      std::string error;
      auto probe = LoadProbeConfig(file, error);
      if (!probe) return fail(error);
      cfg.probe = std::move(*probe);
    }

    cfg.output = parsed["output"].as<std::string>();
    if (cfg.output != "text" && cfg.output != "json") return fail("--output must be text or json");
    cfg.max_lag_bytes = parsed["check.max-lag-bytes"].as<double>();
    if (cfg.mode == Config::Mode::kCheck && cfg.sentinels.empty()) {
      return fail("check needs --sentinel.addr or REDIS_SENTINEL_HOSTS");
    }

    for (const auto& c : collectors::AllCollectors()) {
      std::string name(c.name);
      bool enabled = c.enabled_by_default;
      if (parsed.count("collector." + name)) enabled = parsed["collector." + name].as<bool>();
      if (parsed.count("no-collector." + name) && parsed["no-collector." + name].as<bool>()) enabled = false;
      if (enabled) cfg.collectors.push_back(name);
    }
  } catch (const cxxopts::exceptions::exception& e) {
    return fail(e.what() + std::string(" (see --help)"));
  } catch (const ConfigError& e) {
    return fail(e.message);
  }
  return result;
}

}  // namespace rse
