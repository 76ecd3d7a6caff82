#pragma once

// --web.config.file: the Prometheus exporter-toolkit web configuration (YAML), so operators
// reuse the file they already have for node_exporter and friends.
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths are relative to this file
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default), RequestClientCert,
//                                                    # RequireAnyClientCert, VerifyClientCertIfGiven
//     client_ca_file: clients-ca.crt
//     min_version: TLS12             # TLS10..TLS13
//     max_version: TLS13
//   basic_auth_users:
//     prometheus: $2b$10$...         # bcrypt hashes, checked with the system's crypt(3)

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace rse {

struct WebConfig {
  struct Tls {
    std::string cert_file;
    std::string key_file;
    std::string client_auth_type = "NoClientCert";
    std::string client_ca_file;
    int min_version = 0;  // OpenSSL protocol version constants; 0: library default (TLS 1.2 here)
    int max_version = 0;
  };
  std::optional<Tls> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

// Parses and validates the file; unknown keys and bad values are errors naming the key.
// Returns nullopt with `error` set.
std::optional<WebConfig> LoadWebConfig(const std::string& path, std::string& error);

// Checks HTTP basic auth credentials against the bcrypt hashes (crypt(3), libxcrypt).
// A correct password is remembered by its SHA-256 so that frequent scrapes do not pay bcrypt's
// cost every time; nothing else is stored.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}
  bool enabled() const { return !users_.empty(); }
  // `header`: the value of the Authorization header, or null.
  bool Check(const char* header);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::map<std::string, std::string> verified_;  // user -> SHA-256 of the last good password
};

// Applies the TLS settings to civetweb's OpenSSL context (its init_ssl callback).
// Returns false with `error` set.
bool ConfigureServerTls(void* ssl_ctx, const WebConfig::Tls& tls, std::string& error);

}  // namespace rse
