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

bool BasicAuth::Check(const std::string* header) {
  if (header == nullptr) return false;
  const std::string& value = *header;
  if (value.rfind("Basic ", 0) != 0) return false;
  std::string decoded = Base64Decode(value.substr(6));
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  std::string user = decoded.substr(0, colon);
  std::string password = decoded.substr(colon + 1);
  auto it = users_.find(user);
  if (it == users_.end()) {
    // Spend the same effort as for a known user, so timing does not reveal user names.
    auto data = std::make_unique<crypt_data>();
    crypt_r(password.c_str(), "$2b$10$abcdefghijklmnopqrstuu", data.get());
    return false;
  }
  std::string unused;
  const std::string digest = Sha256(password, unused);  // "" only if the module vanished
  if (!digest.empty()) {
    std::lock_guard lock(mu_);
    auto v = verified_.find(user);
    if (v != verified_.end() && ConstantTimeEqual(v->second, digest)) return true;
  }
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), it->second.c_str(), data.get());
  const bool ok = out != nullptr && out[0] != '*' && ConstantTimeEqual(out, it->second);
  explicit_bzero(password.data(), password.size());
  if (ok && !digest.empty()) {
    std::lock_guard lock(mu_);
    verified_[user] = digest;
  }
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
