#pragma once

// HTTP basic auth of the exporter's endpoint: the users and bcrypt hashes of
// --web.config.file's basic_auth_users (http/web_config.h reads them).

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace rse::http {

// Checks HTTP basic auth credentials against the bcrypt hashes (crypt(3), libxcrypt).
// A correct password is remembered by its SHA-256 so that frequent scrapes do not pay bcrypt's
// cost every time; nothing else is stored.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}
  bool enabled() const { return !users_.empty(); }
  // `header`: the value of the Authorization header, or null. A password not verified before
  // costs a bcrypt run (tens of milliseconds): call from a worker thread, not an event loop.
  bool Check(const std::string* header);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::map<std::string, std::string> verified_;  // user -> SHA-256 of the last good password
};

// SHA-256 of `data` (32 bytes), from OpenSSL through the TLS module; "" with `error` set when the
// module cannot be loaded. Basic auth keeps digests of verified passwords, never the passwords.
std::string Sha256(std::string_view data, std::string& error);

}  // namespace rse::http
