#include "http/basic_auth.h"

#include <crypt.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "http/tls_module.h"

namespace rse::http {
namespace {

// Standard base64 with padding; "" for anything else.
std::string Base64Decode(const std::string& in) {
  if (in.size() % 4 != 0) return {};
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    std::uint32_t v = 0;
    for (int j = 0; j < 4; ++j) {
      int d = j >= 4 - pad ? 0 : value(in[i + j]);
      if (d < 0) return {};
      v = v << 6 | static_cast<std::uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool BasicAuth::PausedLocked(const std::string& client, Clock::time_point now) const {
  auto it = failed_.find(client);
  return it != failed_.end() && now - it->second < failure_pause_;
}

void BasicAuth::NoteFailureLocked(const std::string& client, Clock::time_point now) {
  if (failed_.size() >= kMaxFailedClients && !failed_.count(client)) {
    std::erase_if(failed_, [&](const auto& kv) { return now - kv.second >= failure_pause_; });
    // Still full: clients from everywhere at once; one makes room.
    if (failed_.size() >= kMaxFailedClients) failed_.erase(failed_.begin());
  }
  failed_[client] = now;
}

bool BasicAuth::Check(const std::string* header, const std::string& client) {
  if (header == nullptr) return false;
  const std::string& value = *header;
  if (value.rfind("Basic ", 0) != 0) return false;
  std::string decoded = Base64Decode(value.substr(6));
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  std::string user = decoded.substr(0, colon);
  std::string password = decoded.substr(colon + 1);
  explicit_bzero(decoded.data(), decoded.size());
  struct Wipe {  // the password leaves no copy in freed memory, whichever way this returns
    std::string& s;
    ~Wipe() { explicit_bzero(s.data(), s.size()); }
  } wipe{password};
  auto it = users_.find(user);
  std::string digest;
  if (it != users_.end()) {
    std::string unused;
    digest = Sha256(password, unused);  // "" only if the module vanished
  }
  auto remembered = [&] {
    auto v = verified_.find(user);
    return !digest.empty() && v != verified_.end() && ConstantTimeEqual(v->second, digest);
  };
  {
    std::unique_lock lock(mu_);
    if (remembered()) return true;
    // One bcrypt run per client at a time: the others wait for it (a run always ends), then
    // find its verdict, remembered or a pause.
    checking_done_.wait(lock, [&] { return !checking_.count(client); });
    if (remembered()) return true;
    if (PausedLocked(client, Clock::now())) return false;
    checking_.insert(client);
  }
  // An unknown user costs the same bcrypt run as a known one, so timing does not reveal names.
  auto data = std::make_unique<crypt_data>();
  const char* out =
      crypt_r(password.c_str(), it != users_.end() ? it->second.c_str() : "$2b$10$abcdefghijklmnopqrstuu", data.get());
  ++bcrypt_runs_;
  const bool ok = it != users_.end() && out != nullptr && out[0] != '*' && ConstantTimeEqual(out, it->second);
  {
    std::lock_guard lock(mu_);
    checking_.erase(client);
    if (!ok) {
      NoteFailureLocked(client, Clock::now());
    } else if (!digest.empty()) {
      verified_[user] = digest;
    }
  }
  checking_done_.notify_all();
  return ok;
}

std::string Sha256(std::string_view data, std::string& error) {
  const ServerTlsModule* module = LoadServerTlsModule(error);
  if (module == nullptr) return {};
  std::string digest = module->Sha256(data);
  if (digest.empty()) error = "SHA-256 failed: " + module->LastError();
  return digest;
}

}  // namespace rse::http
