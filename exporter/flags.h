#pragma once

// The first two steps of ParseArgs (exporter/config.h): define the flags (cxxopts) and read argv
// and the environment into Settings, secret files included. Nothing is checked here but what
// reading needs (addresses, NAME=FILE pairs); exporter/config.cpp validates the rest and builds
// what the settings name. Each step returns a Status.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/config.h"
#include "redis/tls.h"

namespace rse {

// A configuration step's outcome: ok, or the one line the user is shown. Unlike redis::Status
// it has no cause: every configuration error is a usage error. Never holds a secret.
class Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.error_ = std::move(message);
    return s;
  }
  bool ok() const { return !error_.has_value(); }
  const std::string& message() const { return *error_; }

 private:
  std::optional<std::string> error_;
};

// What argv and the environment say, secret files read, nothing else checked: the read step's
// output. Fields taken as they are go straight into `config`; the rest wait here as written.
struct Settings {
  Config config;
  std::string timeout;
  std::string timeout_offset;
  int web_max_connections = 0;
  int web_max_header_bytes = 0;
  int web_max_unsent_bytes = 0;
  std::string web_read_header_timeout;
  std::string web_idle_timeout;
  std::string web_write_timeout;
  std::vector<std::string> probe_allowed_targets;
  std::vector<std::string> redis_allowed_addresses;
  redis::TlsOptions redis_tls;  // contexts are built from these, after validation
  redis::TlsOptions sentinel_tls;
  std::string probe_config_file;  // loaded after validation
  int probe_max_connections = 0;
  int probe_max_reply_bytes = 0;
  int redis_max_reply_bytes = 0;
  std::string check_events_ca_file;
};

// Defines the flags (those of `check` when `check`), parses argv (argv[0], the program or
// `check`, is not a flag) and reads the flags and the environment into `settings`.
// --help and --version set `exit` to their text instead. cxxopts' exceptions are caught here
// and nowhere else: a bad flag is a Status like any other error.
Status ReadFlags(bool check, int argc, const char* const argv[], const Getenv& getenv, Settings& settings,
                 std::optional<std::string>& exit);

}  // namespace rse
