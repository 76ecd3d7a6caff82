#pragma once

// HTTP basic auth of the exporter's endpoint: the users and bcrypt hashes of
// --web.config.file's basic_auth_users (http/web_config.h reads them).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace rse::http {

// Checks HTTP basic auth credentials against the bcrypt hashes (crypt(3), libxcrypt).
// A correct password is remembered by its SHA-256 so that frequent scrapes do not pay bcrypt's
// cost every time; nothing else is stored. A client (by address) runs one bcrypt at a time, and
// after a failed check its next unverified passwords are refused without a run for
// `failure_pause`: a client that sends wrong passwords costs one bcrypt run per pause, however
// many requests it sends at once, not a core per worker thread. Thread-safe.
class BasicAuth {
 public:
  static constexpr std::chrono::milliseconds kFailurePause{1000};
  // Clients remembered for their last failure; the oldest make room beyond it.
  static constexpr std::size_t kMaxFailedClients = 4096;

  explicit BasicAuth(std::map<std::string, std::string> users, std::chrono::milliseconds failure_pause = kFailurePause)
      : users_(std::move(users)), failure_pause_(failure_pause) {}
  bool enabled() const { return !users_.empty(); }
  // `header`: the value of the Authorization header, or null; `client`: who sends it
  // (Request::client). A password not verified before costs a bcrypt run (tens of
  // milliseconds): call from a worker thread, not an event loop.
  bool Check(const std::string* header, const std::string& client = {});
  // bcrypt runs so far (tests).
  std::uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  bool PausedLocked(const std::string& client, Clock::time_point now) const;
  void NoteFailureLocked(const std::string& client, Clock::time_point now);

  const std::map<std::string, std::string> users_;
  const std::chrono::milliseconds failure_pause_;
  std::atomic<std::uint64_t> bcrypt_runs_{0};
  mutable std::mutex mu_;                                      // Guards verified_, failed_, checking_.
  std::condition_variable checking_done_;                      // a client left checking_
  std::map<std::string, std::string> verified_;                // user -> SHA-256 of the last good password
  std::unordered_map<std::string, Clock::time_point> failed_;  // client -> its last failed check
  std::unordered_set<std::string> checking_;                   // clients with a bcrypt run under way
};

// SHA-256 of `data` (32 bytes), from OpenSSL through the TLS module; "" with `error` set when the
// module cannot be loaded. Basic auth keeps digests of verified passwords, never the passwords.
std::string Sha256(std::string_view data, std::string& error);

}  // namespace rse::http
